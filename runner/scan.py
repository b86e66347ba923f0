"""Streaming walk of import roots (folders, single files, .zip archives) that yields MIDI-named files.

The walk never holds the list of all files: it lists one directory at a time (sorted by name, so the
order is deterministic) and yields each `Candidate` as soon as it is seen. Problems found while walking
are yielded in the same stream as `ScanError` records, so nothing MIDI-named is ever silently skipped.
Paths are walked as bytes, so names that are not valid UTF-8 survive byte-exact in `path_bytes`.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from operator import attrgetter

from runner.midifile import MAX_FILE_SIZE
from runner.reading import (  # noqa: F401 - READ_ERROR_CLASSES, ReadError and read_path are also scan's API
    DEFAULT_MAX_ARCHIVE_TOTAL,
    DEFAULT_MAX_RATIO,
    READ_ERROR_CLASSES,
    ReadError,
    file_kind,
    open_error,
    open_regular,
    read_error,
    read_file,
    read_member,
    read_path,
)

__all__ = [
    "MIDI_EXTENSIONS",
    "READ_ERROR_CLASSES",
    "SCAN_ERROR_CLASSES",
    "Candidate",
    "ReadError",
    "ScanError",
    "ScanStats",
    "display_path",
    "iter_candidates",
    "read_path",
]

MIDI_EXTENSIONS = frozenset(("mid", "midi", "kar", "rmi"))
"""File name extensions (compared case-insensitively) that make a file a MIDI candidate."""

SCAN_ERROR_CLASSES: dict[str, str] = {
    "not_found": "an import root does not exist",
    "unreadable": "a directory or archive cannot be opened or listed, or a MIDI- or zip-named entry is a "
    "broken symlink",
    "not_regular_file": "a MIDI- or zip-named entry (or the root, or a symlink's target) is a FIFO, socket or "
    "device: reported at once, never opened for reading",
    "vanished": "a directory disappeared between being seen and being listed",
    "symlink_loop": "a symlinked directory points at one of its own ancestors",
    "bad_archive": "a corrupt zip, or a MIDI-named member that fails its CRC or decompression",
    "encrypted": "a MIDI-named zip member is encrypted (no password is ever tried)",
    "archive_bomb": "a zip member or an archive's total uncompressed size is over the limit, or a member "
    "above 1 MiB is compressed more than the ratio limit",
    "nested_too_deep": "a zip inside zips nested deeper than max_nesting",
    "internal_error": "the walk itself failed on this entry (a bug: the message holds the exception); the "
    "walk goes on with the next entry",
}
"""Every `ScanError.error_class`, with its one-line meaning."""

_by_name = attrgetter("name")


class ScanStats:
    """Counters of one walk, updated live as items are yielded (so they are right even if it stops early).

    `dirs` directories listed; `archives` zip archives opened (nested ones included); `midi_candidates`
    Candidates yielded; `other_files` files (and zip members) without a MIDI or zip name, not yielded;
    `errors` ScanErrors yielded (read errors are the caller's to count); `symlinks_skipped` symlinks not
    followed (follow_symlinks=False, or a directory target already walked through another symlink).
    """

    __slots__ = ("archives", "dirs", "errors", "midi_candidates", "other_files", "symlinks_skipped")

    def __init__(self) -> None:
        self.dirs = 0
        self.archives = 0
        self.midi_candidates = 0
        self.other_files = 0
        self.errors = 0
        self.symlinks_skipped = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name, for logs and JSON output."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"ScanStats({', '.join(f'{k}={v}' for k, v in self.as_dict().items())})"


class Candidate:
    """One MIDI-named file (or zip member) found by the walk, not read yet.

    `path` is the absolute display path (zip members as `/a.zip!inner/x.mid`, invalid UTF-8 bytes shown
    as U+FFFD); `path_bytes` is the exact path when the display form is not (else None); `rel` is the
    path relative to `root`, with `/` separators.
    """

    __slots__ = ("_data", "_fs", "_max", "_size", "path", "path_bytes", "rel", "root")

    def __init__(
        self,
        root: str,
        path: str,
        path_bytes: bytes | None,
        rel: str,
        fs: bytes | None,
        data: bytes | None,
        max_size: int,
    ) -> None:
        self.root = root
        self.path = path
        self.path_bytes = path_bytes
        self.rel = rel
        self._fs = fs
        self._data = data
        self._max = max_size
        self._size = -1 if data is None else len(data)

    @property
    def size(self) -> int:
        """Size in bytes: known after read() (or for zip members), else one stat call."""
        if self._size < 0:
            try:
                self._size = os.stat(self._fs).st_size  # type: ignore[arg-type]
            except OSError as exc:
                raise read_error(exc, self.path) from exc
        return self._size

    @property
    def fs_path(self) -> bytes | None:
        """The file's path for os.open (None for a zip member, whose bytes the walk already read)."""
        return self._fs if self._data is None else None

    def read(self) -> bytes:
        """Return the file's bytes, reading it once; raise ReadError if that fails."""
        if self._data is not None:
            return self._data
        data = read_file(self._fs, self.path, self._max)  # type: ignore[arg-type]
        self._size = len(data)
        return data

    def __repr__(self) -> str:
        return f"Candidate({self.path!r})"


class ScanError:
    """A problem found while walking, yielded in the stream instead of a Candidate."""

    __slots__ = ("error_class", "message", "path", "path_bytes", "rel", "root")

    def __init__(
        self, root: str, path: str, path_bytes: bytes | None, rel: str, error_class: str, message: str
    ) -> None:
        self.root = root
        self.path = path
        self.path_bytes = path_bytes
        self.rel = rel
        self.error_class = error_class
        self.message = message

    def __repr__(self) -> str:
        return f"ScanError({self.path!r}, {self.error_class!r}, {self.message!r})"


def _display(raw: bytes) -> tuple[str, bool]:
    """Decode a filesystem name for display; the flag says whether it was not valid UTF-8."""
    try:
        return raw.decode(), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


def _is_link(entry: os.DirEntry[bytes]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _is_midi_name(name: bytes) -> bool:
    dot = name.rfind(b".")
    return dot >= 0 and name[dot + 1 :].lower().decode("ascii", "replace") in MIDI_EXTENSIONS


def display_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """An absolute path as the walk shows and stores it: valid UTF-8, invalid bytes as U+FFFD."""
    return _display(os.path.abspath(os.fsencode(path)))[0]


class _Walk:
    """State of one iter_candidates call: options, counters, and the directories being walked."""

    def __init__(
        self,
        stats: ScanStats,
        follow_symlinks: bool,
        max_member_size: int,
        max_archive_total: int,
        max_nesting: int,
        max_ratio: float,
    ) -> None:
        self.stats = stats
        self.follow = follow_symlinks
        self.max_member = max_member_size
        self.max_total = max_archive_total
        self.max_nesting = max_nesting
        self.max_ratio = max_ratio
        self.linked_seen: set[tuple[int, int]] = set()

    def error(
        self, root: str, path: str, path_bytes: bytes | None, rel: str, error_class: str, message: str
    ) -> ScanError:
        self.stats.errors += 1
        return ScanError(root, path, path_bytes, rel, error_class, message)

    def root(
        self, root: str | bytes | os.PathLike[str] | os.PathLike[bytes]
    ) -> Iterator[Candidate | ScanError]:
        """Walk one root: a directory, a MIDI file, or a zip archive."""
        raw = os.path.abspath(os.fsencode(root))
        disp, bad = _display(raw)
        path_bytes = raw if bad else None
        try:
            st = os.stat(raw)
        except FileNotFoundError:
            yield self.error(disp, disp, path_bytes, "", "not_found", f"{disp}: no such file or directory")
            return
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            yield self.error(disp, disp, path_bytes, "", "unreadable", f"{disp}: {why}")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self.directory(raw, disp, bad, (st.st_dev, st.st_ino))
            return
        name = os.path.basename(raw)
        rel, _ = _display(name)
        lower = name.lower()
        if not lower.endswith(b".zip") and not _is_midi_name(lower):
            self.stats.other_files += 1
        elif not stat.S_ISREG(st.st_mode):
            yield self.error(disp, disp, path_bytes, rel, "not_regular_file", f"{disp}: is {file_kind(st.st_mode)}")
        elif lower.endswith(b".zip"):
            yield from self.archive_file(disp, raw, disp, bad, rel)
        else:
            self.stats.midi_candidates += 1
            yield Candidate(disp, disp, path_bytes, rel, raw, None, self.max_member)

    def directory(
        self, top: bytes, top_disp: str, top_bad: bool, key: tuple[int, int]
    ) -> Iterator[Candidate | ScanError]:
        """Walk a directory tree depth-first, one sorted directory listing per level held in memory."""
        stats = self.stats
        follow = self.follow
        max_member = self.max_member
        root = top_disp
        ancestors = {key}
        # Frame: (iterator over sorted entries, display prefix, rel prefix, prefix has bad bytes, key)
        stack: list[tuple[Iterator[os.DirEntry[bytes]], str, str, bool, tuple[int, int]]] = []
        listed = self.listing(root, top, top_disp, top_bad, "")
        if isinstance(listed, ScanError):
            yield listed
            return
        stack.append((iter(listed), top_disp.rstrip("/") + "/", "", top_bad, key))
        while stack:
            it, dprefix, rprefix, pbad, _key = stack[-1]
            entry = None
            try:
                for entry in it:
                    name = entry.name
                    dot = name.rfind(b".")
                    ext = name[dot + 1 :].lower() if dot >= 0 else b""
                    if ext in _MIDI_EXT_BYTES:
                        try:
                            is_file = entry.is_file()
                        except OSError:
                            is_file = False
                        if is_file and (follow or not entry.is_symlink()):
                            try:
                                sname = name.decode()
                                path_bytes = entry.path if pbad else None
                            except UnicodeDecodeError:
                                sname = name.decode("utf-8", "replace")
                                path_bytes = entry.path
                            stats.midi_candidates += 1
                            yield Candidate(
                                root, dprefix + sname, path_bytes, rprefix + sname, entry.path, None, max_member
                            )
                            continue
                        if is_file:
                            stats.symlinks_skipped += 1
                            continue
                        # Not a regular file: a directory named *.mid is walked, anything else is an error.
                        if not self.is_dir(entry):
                            yield self.special_entry(root, entry, dprefix, rprefix, pbad)
                            continue
                    elif ext == b"zip":
                        if self.is_file(entry):
                            if follow or not entry.is_symlink():
                                sname, nbad = _display(name)
                                yield from self.archive_file(
                                    root, entry.path, dprefix + sname, pbad or nbad, rprefix + sname
                                )
                            else:
                                stats.symlinks_skipped += 1
                            continue
                        if not self.is_dir(entry):
                            # a FIFO, socket or device named *.zip, or a broken symlink: never opened
                            yield self.special_entry(root, entry, dprefix, rprefix, pbad)
                            continue
                    elif not self.is_dir(entry):
                        stats.other_files += 1
                        continue
                    # A directory: descend into it (the for loop resumes here once it is done).
                    frame = self.enter(root, entry, dprefix, rprefix, pbad, ancestors)
                    if isinstance(frame, ScanError):
                        yield frame
                        continue
                    if frame is None:
                        continue
                    stack.append(frame)
                    ancestors.add(frame[4])
                    break
                else:
                    ancestors.discard(stack.pop()[4])
            except Exception as exc:  # a failure on one entry is that entry's error row; the walk goes on
                if entry is None:
                    raise
                yield self.entry_error(root, entry, dprefix, rprefix, pbad, exc)

    @staticmethod
    def is_dir(entry: os.DirEntry[bytes]) -> bool:
        try:
            return entry.is_dir()
        except OSError:
            return False

    @staticmethod
    def is_file(entry: os.DirEntry[bytes]) -> bool:
        try:
            return entry.is_file()
        except OSError:
            return False

    def listing(
        self, root: str, raw: bytes, disp: str, bad: bool, rel: str
    ) -> list[os.DirEntry[bytes]] | ScanError:
        """List one directory sorted by name, or the ScanError saying why it cannot be listed."""
        try:
            with os.scandir(raw) as it:
                entries = sorted(it, key=_by_name)
        except (FileNotFoundError, NotADirectoryError) as exc:
            return self.error(root, disp, raw if bad else None, rel, "vanished", f"{disp}: {exc.strerror}")
        except OSError as exc:
            return self.error(
                root, disp, raw if bad else None, rel, "unreadable", f"{disp}: {exc.strerror or exc}"
            )
        self.stats.dirs += 1
        return entries

    def enter(
        self,
        root: str,
        entry: os.DirEntry[bytes],
        dprefix: str,
        rprefix: str,
        pbad: bool,
        ancestors: set[tuple[int, int]],
    ) -> tuple[Iterator[os.DirEntry[bytes]], str, str, bool, tuple[int, int]] | ScanError | None:
        """Prepare the walk of a subdirectory: a frame, a ScanError, or None to skip it silently."""
        sname, nbad = _display(entry.name)
        bad = pbad or nbad
        disp = dprefix + sname
        rel = rprefix + sname
        path_bytes = entry.path if bad else None
        is_link = _is_link(entry)
        if is_link and not self.follow:
            self.stats.symlinks_skipped += 1
            return None
        try:
            st = entry.stat()
        except OSError as exc:
            cls = read_error(exc, disp).error_class
            return self.error(root, disp, path_bytes, rel, cls, f"{disp}: {exc.strerror or exc}")
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            return self.error(
                root, disp, path_bytes, rel, "symlink_loop", f"{disp}: symlink to one of its own ancestors"
            )
        if is_link:
            if key in self.linked_seen:
                self.stats.symlinks_skipped += 1
                return None
            self.linked_seen.add(key)
        listed = self.listing(root, entry.path, disp, bad, rel)
        if isinstance(listed, ScanError):
            return listed
        return iter(listed), disp + "/", rel + "/", bad, key

    def entry_error(
        self, root: str, entry: os.DirEntry[bytes], dprefix: str, rprefix: str, pbad: bool, exc: Exception
    ) -> ScanError:
        """The `internal_error` row of an entry the walk itself failed on (the walk goes on)."""
        sname, nbad = _display(entry.name)
        disp = dprefix + sname
        path_bytes = entry.path if (pbad or nbad) else None
        return self.error(
            root, disp, path_bytes, rprefix + sname, "internal_error", f"{disp}: {type(exc).__name__}: {exc}"
        )

    def special_entry(
        self, root: str, entry: os.DirEntry[bytes], dprefix: str, rprefix: str, pbad: bool
    ) -> ScanError:
        """A MIDI-named entry that is neither a file nor a directory: broken symlink, FIFO, socket..."""
        sname, nbad = _display(entry.name)
        disp = dprefix + sname
        path_bytes = entry.path if (pbad or nbad) else None
        try:
            mode = os.stat(entry.path).st_mode
        except OSError as exc:
            why = f"broken symlink ({exc.strerror or exc})" if _is_link(entry) else (exc.strerror or str(exc))
            return self.error(root, disp, path_bytes, rprefix + sname, "unreadable", f"{disp}: {why}")
        why = f"symlink to {file_kind(mode)}" if _is_link(entry) else f"is {file_kind(mode)}"
        return self.error(root, disp, path_bytes, rprefix + sname, "not_regular_file", f"{disp}: {why}")

    def archive_file(
        self, root: str, raw: bytes, disp: str, bad: bool, rel: str
    ) -> Iterator[Candidate | ScanError]:
        """Walk one zip archive on disk (its central directory is read; members only when MIDI or zip)."""
        path_bytes = raw if bad else None
        try:
            fh = open_regular(raw, disp)
        except ReadError as exc:
            yield self.error(root, disp, path_bytes, rel, exc.error_class, exc.message)
            return
        with fh:
            try:
                zf = zipfile.ZipFile(fh)
            except Exception as exc:  # zipfile fails in many ways on a damaged archive
                yield self.error(
                    root, disp, path_bytes, rel, "bad_archive", f"{disp}: not a readable zip ({exc})"
                )
                return
            with zf:
                budget = [self.max_total, self.max_total]
                yield from self.archive_members(root, zf, disp, path_bytes, rel, 1, budget)

    def archive_members(
        self,
        root: str,
        zf: zipfile.ZipFile,
        disp: str,
        path_bytes: bytes | None,
        rel: str,
        depth: int,
        budget: list[int],
    ) -> Iterator[Candidate | ScanError]:
        """Yield the MIDI members of an open zip, sorted by name, opening nested zips from memory."""
        self.stats.archives += 1
        try:
            infos = sorted(zf.infolist(), key=attrgetter("filename"))
        except Exception as exc:  # a broken central directory can fail in many ways
            yield self.error(root, disp, path_bytes, rel, "bad_archive", f"{disp}: {exc}")
            return
        for info in infos:
            try:
                yield from self.archive_member(root, zf, info, disp, path_bytes, rel, depth, budget)
            except Exception as exc:  # a failure on one member is that member's error row
                mdisp = f"{disp}!{info.filename}"
                mbytes = path_bytes + b"!" + info.filename.encode() if path_bytes is not None else None
                yield self.error(root, mdisp, mbytes, f"{rel}!{info.filename}", "internal_error",
                                 f"{mdisp}: {type(exc).__name__}: {exc}")

    def archive_member(
        self,
        root: str,
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        disp: str,
        path_bytes: bytes | None,
        rel: str,
        depth: int,
        budget: list[int],
    ) -> Iterator[Candidate | ScanError]:
        """Yield one member of an open zip: a Candidate, a ScanError, or the members of a nested zip."""
        if info.is_dir():
            return
        name = info.filename
        if zf.NameToInfo.get(name) is not info:
            # An earlier entry of the same name, shadowed by the last one: reading the location (and
            # re-reading it at analysis) gives the last, so the location is that one's.
            self.stats.other_files += 1
            return
        lower = name.lower()
        dot = lower.rfind(".")
        ext = lower[dot + 1 :] if dot >= 0 else ""
        is_zip = ext == "zip"
        if not is_zip and ext not in MIDI_EXTENSIONS:
            self.stats.other_files += 1
            return
        mdisp = f"{disp}!{name}"
        mrel = f"{rel}!{name}"
        mbytes = path_bytes + b"!" + name.encode() if path_bytes is not None else None
        if is_zip and depth >= self.max_nesting:
            yield self.error(
                root, mdisp, mbytes, mrel, "nested_too_deep",
                f"{mdisp}: archive nested deeper than {self.max_nesting} levels",
            )
            return
        try:
            limit = self.max_total if is_zip else self.max_member
            data = read_member(zf, info, mdisp, limit, self.max_ratio, budget)
        except ReadError as exc:
            yield self.error(root, mdisp, mbytes, mrel, exc.error_class, exc.message)
            return
        if is_zip:
            try:
                inner = zipfile.ZipFile(io.BytesIO(data))
            except Exception as exc:  # zipfile fails in many ways on a damaged archive
                yield self.error(root, mdisp, mbytes, mrel, "bad_archive", f"{mdisp}: not a readable zip ({exc})")
                return
            with inner:
                yield from self.archive_members(root, inner, mdisp, mbytes, mrel, depth + 1, budget)
        else:
            self.stats.midi_candidates += 1
            yield Candidate(root, mdisp, mbytes, mrel, None, data, self.max_member)


_MIDI_EXT_BYTES = frozenset(ext.encode() for ext in MIDI_EXTENSIONS)


def iter_candidates(
    roots: Iterable[str | bytes | os.PathLike[str] | os.PathLike[bytes]],
    *,
    stats: ScanStats,
    follow_symlinks: bool = True,
    max_member_size: int = MAX_FILE_SIZE,
    max_archive_total: int = DEFAULT_MAX_ARCHIVE_TOTAL,
    max_nesting: int = 3,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> Iterator[Candidate | ScanError]:
    """Yield every MIDI-named file under `roots` as a Candidate, and every problem as a ScanError.

    Roots are walked in the order given; each directory's entries in byte order of their names; zip
    members in name order. A file root yields itself (root = its own path, rel = its name); a zip root
    yields its members (rel = `name.zip!member`).
    Symlinks (when followed): a symlinked directory that points at one of its ancestors yields a
    `symlink_loop` ScanError; one whose target was already walked through another symlink in this walk is
    skipped silently (counted in stats.symlinks_skipped). With follow_symlinks=False no symlink is
    followed, and each one met is counted in stats.symlinks_skipped.
    Zip limits: `max_member_size` per MIDI member, `max_archive_total` uncompressed bytes per top-level
    archive including nested ones, `max_ratio` compression ratio for members above 1 MiB, and
    `max_nesting` levels of archives (a top-level zip is level 1).
    """
    walk = _Walk(stats, follow_symlinks, max_member_size, max_archive_total, max_nesting, max_ratio)
    for root in roots:
        try:
            yield from walk.root(root)
        except Exception as exc:  # a failure on one root is that root's error row; the next root is walked
            disp = display_path(root)
            yield walk.error(disp, disp, None, "", "internal_error", f"{disp}: {type(exc).__name__}: {exc}")
