"""What a search finds, out to a folder or a zip, and the catalog out as a table.

``export(dsn, filters, dest, options, progress)`` writes every file midi.export_rows returns: rows come
through a server-side cursor in batches (memory does not grow with the result), each file's bytes from the
first of its stored places that still holds them (zip members read from their archive), checked against
its BLAKE3 content_hash before anything is written (a mismatch is reported, never written). Names are
rendered in SQL (the template, unsafe characters, the 255-byte limit, collisions), so psql users get the
same names; this module only adds a suffix when the folder already holds a different file of that name.
A file already there with the same content is skipped, so a re-run writes nothing. Copies are written to
a temporary name and renamed, so no half-written file is ever left under a real name. ``manifest.csv``
says what went where from which source with which hash.

``export_catalog`` streams midi.catalog (or the catalog rows of a search) with COPY, as CSV or JSON lines.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import filecmp
import io
import itertools
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, Protocol

import psycopg
from blake3 import blake3
from psycopg.types.json import Jsonb

from runner import prefetch
from runner.queries import queries
from runner.sources import Fetched, Sources, fetch

__all__ = [
    "ERROR_CLASSES",
    "MANIFEST",
    "MANIFEST_COLUMNS",
    "DestinationError",
    "ExportOptions",
    "ExportResult",
    "fatal_destination_error",
    "Folder",
    "export",
    "name_stem",
    "result_dict",
    "suffixed",
]

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("dest", "id", "content_hash", "bytes", "status", "mode", "source")
"""manifest.csv: the relative path written, the file's id, its BLAKE3 (hex), its size, ``ok`` or an error
class, how it got there (copy, hardlink, symlink, zip) and the stored path its bytes came from."""

ERROR_CLASSES: dict[str, str] = {
    "missing": "no stored path of the content exists any more (moved or deleted since import)",
    "hash_mismatch": "a stored path holds bytes whose BLAKE3 differs from the catalog's content_hash "
                     "(changed since import); nothing is written",
    "unreadable": "a stored path exists but cannot be read (permission, I/O error, a damaged archive)",
    "unwritable": "the file system refuses this file's name or path (too long, a file where a folder should be)",
}
"""Every per-file error class of an export (the manifest's status and the summary's error_classes)."""

BATCH_ROWS = 2000
"""Rows fetched per round trip of the server-side cursor."""
THREADS = 1
"""Threads that read, check and write files at once (a folder export; a zip is written by one). One is
fastest on a warm cache: threads creating files in the same folders wait on each other (docs/export.md);
more can help when sources or destination are on a slow or network disk (`export --threads`)."""

# What a destination error means: one of these on a write is about the whole destination (fatal), any
# other is about one file's name or path (that file's 'unwritable' row).
_FATAL_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EIO})
# A hard link the file system or the kernel refuses: try a symlink, then a copy.
_NO_LINK_ERRNOS = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same export gives the same archive bytes


class Progress(Protocol):
    """What export reports to: runner.progress.Progress, or anything with these two methods."""

    def total(self, n: int) -> None: ...

    def update(self, done: int = 0, errors: int = 0) -> None: ...


class DestinationError(RuntimeError):
    """The destination as a whole cannot be written (missing permission, read-only, full, inside the
    library): the export stops with this one-line reason; no half-written file is left behind."""


@dataclass(frozen=True)
class ExportOptions:
    """How to export: which files besides the filters (ids, a saved search), how to name them (template,
    keep_tree), how to write them (link, or one zip archive at ``dest``)."""

    ids: Sequence[int] | None = None
    saved: str | None = None
    template: str | None = None
    keep_tree: bool = False
    link: bool = False
    zip: bool = False
    inside_library: bool = False
    batch_rows: int = BATCH_ROWS
    threads: int = THREADS


@dataclass
class ExportResult:
    dest: str
    manifest: str
    files: int = 0
    written: int = 0
    copied: int = 0
    hardlinked: int = 0
    symlinked: int = 0
    present: int = 0
    renamed_on_collision: int = 0
    errors: int = 0
    error_classes: dict[str, int] = field(default_factory=dict)
    first_errors: list[dict[str, Any]] = field(default_factory=list)
    bytes_written: int = 0
    hashes_checked: int = 0
    seconds: float = 0.0
    files_per_second: float = 0.0
    zip_unchanged: bool | None = None


def result_dict(result: Any) -> dict[str, Any]:
    """An export's or a catalog's result as the JSON the CLI prints."""
    return dict(result.__dict__)


def name_stem(filename: str) -> str:
    """A file name without its MIDI extension (as the template field {name} renders it)."""
    return re.sub(r"\.(mid|midi|kar|rmi)$", "", filename, flags=re.IGNORECASE)


# ------------------------------------------------------------------------------------------ destination


def fatal_destination_error(exc: OSError, what: str) -> DestinationError:
    """An error of the destination as a whole (permissions, a full or read-only disk): the run stops."""
    return DestinationError(f"cannot write {what}: {exc.strerror or exc}")


def _is_fatal(exc: OSError) -> bool:
    return exc.errno in _FATAL_ERRNOS


def _clip_name(stem: str, max_bytes: int) -> str:
    """The longest whole-character prefix of stem that fits in max_bytes bytes of UTF-8."""
    return stem.encode("utf-8")[:max(0, max_bytes)].decode("utf-8", "ignore")


def suffixed(rel: str, n: int) -> str:
    """rel with a collision suffix ~n before its extension, the name cut to stay within 255 bytes."""
    folder, _, name = rel.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    tail = f"~{n}" + (f".{ext}" if dot else "")
    name = _clip_name(stem, 255 - len(tail.encode("utf-8"))) + tail
    return f"{folder}/{name}" if folder else name


def _library_roots(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(queries["export_library_roots"]).fetchall()]


def _inside(path: Path, roots: Iterable[str]) -> str | None:
    """The imported folder that path lies in (or is), if any."""
    real = os.path.realpath(path)
    for root in roots:
        if not os.path.isdir(root):
            continue  # a file or archive root holds no folder
        r = os.path.realpath(root)
        if real == r or real.startswith(r.rstrip("/") + "/"):
            return root
    return None


class Folder:
    """Writes into a folder: skip what is there with the same content, suffix a name another file holds,
    copy through a temporary name, or link. Safe to use from several threads: a file appears under its
    name only through an operation that fails when the name is taken (link, symlink) or under a lock that
    checks it first (the rename of a copy), so two writers never overwrite each other, nor anyone's file."""

    def __init__(self, dest: Path, link: bool) -> None:
        self.root = os.fsencode(dest)
        self.link = link
        self._made: set[bytes] = set()
        self._tmp = itertools.count(1)
        self._lock = threading.Lock()
        self.tmp_prefix = f".midicenter-{os.getpid()}-".encode()
        self.fresh = False

    def prepare(self) -> None:
        try:
            os.makedirs(self.root, exist_ok=True)
        except FileExistsError as exc:
            raise DestinationError(f"cannot write {os.fsdecode(self.root)}: it is a file, not a folder") from exc
        except OSError as exc:
            raise fatal_destination_error(exc, os.fsdecode(self.root)) from exc
        if not os.path.isdir(self.root):
            raise DestinationError(f"cannot write {os.fsdecode(self.root)}: it is not a folder")
        with os.scandir(self.root) as entries:
            # an empty folder holds only what this run writes: no name needs a look before its first write
            self.fresh = next(entries, None) is None

    def state(self, rel: str, size: int, digest: bytes) -> tuple[str, str]:
        """('same', mode) when rel holds this content already, ('other', '') when something else is
        there, ('free', '') when nothing is."""
        fs = self.root + b"/" + rel.encode("utf-8")
        try:
            st = os.lstat(fs)
        except FileNotFoundError:
            return "free", ""
        except NotADirectoryError:
            return "other", ""
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                return "free", ""  # the write says so, as this file's error
            raise fatal_destination_error(exc, os.fsdecode(fs)) from exc
        mode = "symlink" if stat.S_ISLNK(st.st_mode) else ("hardlink" if st.st_nlink > 1 else "copy")
        if mode == "symlink":
            try:
                st = os.stat(fs)
            except OSError:
                return "other", ""
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return "other", ""
        try:
            with open(fs, "rb") as fh:
                same = blake3(fh.read()).digest() == digest
        except OSError:
            return "other", ""
        return ("same", mode) if same else ("other", "")

    def _folder(self, fs: bytes) -> None:
        parent = fs.rpartition(b"/")[0]
        if parent == self.root or parent in self._made:
            return
        os.makedirs(parent, exist_ok=True)
        with self._lock:
            if len(self._made) > 10_000:
                self._made.clear()  # bounded: a library of a million collections costs a stat per folder change
            self._made.add(parent)

    def write(self, rel: str, got: Fetched) -> str | None:
        """Write one verified file at rel; returns how (copy, hardlink or symlink), or None when rel was
        taken meanwhile (nothing is written then)."""
        fs = self.root + b"/" + rel.encode("utf-8")
        self._folder(fs)
        if self.link and not got.in_archive and got.source_raw is not None:
            for how, make in (("hardlink", os.link), ("symlink", os.symlink)):
                try:
                    make(got.source_raw, fs)
                    return how
                except FileExistsError:
                    return None
                except OSError as exc:
                    if exc.errno not in _NO_LINK_ERRNOS:
                        raise
        return "copy" if self._copy(fs, got.data) else None

    def _copy(self, fs: bytes, data: bytes | None) -> bool:
        tmp = fs.rpartition(b"/")[0] + b"/" + self.tmp_prefix + str(next(self._tmp)).encode() + b".partial"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data or b"")
            while view:
                view = view[os.write(fd, view):]
            os.close(fd)
            fd = -1
            with self._lock:
                if os.path.lexists(fs):
                    os.unlink(tmp)
                    return False
                os.rename(tmp, fs)
            return True
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# ------------------------------------------------------------------------------------------------ export


class _Run:
    """One export: counts, the manifest, progress."""

    def __init__(self, result: ExportResult, manifest: BinaryIO | io.TextIOBase, progress: Progress | None) -> None:
        self.result = result
        self.manifest = csv.writer(manifest, lineterminator="\n")
        self.manifest.writerow(MANIFEST_COLUMNS)
        self.progress = progress
        self.classes: Counter[str] = Counter()
        self._done = 0
        self._errors = 0

    def row(self, rel: str, fid: int, digest: bytes, size: int, status: str, mode: str, source: str) -> None:
        self.manifest.writerow((rel, fid, digest.hex(), size, status, mode, source))

    def error(self, rel: str, fid: int, digest: bytes, size: int, error_class: str, message: str,
              source: str = "") -> None:
        r = self.result
        r.errors += 1
        self.classes[error_class] += 1
        self._errors += 1
        if len(r.first_errors) < 20:
            r.first_errors.append({"id": fid, "dest": rel, "error_class": error_class, "message": message})
        self.row(rel, fid, digest, size, error_class, "", source)

    def tick(self, force: bool = False) -> None:
        """One file done (or, with force, none: report what is not reported yet)."""
        self._done += not force
        if self.progress is not None and (force or self._done >= 256):
            self.progress.update(self._done, self._errors)
            self._done = self._errors = 0


def export(dsn: str, filters: dict[str, Any] | None, dest: str | Path, options: ExportOptions | None = None,
           progress: Progress | None = None) -> ExportResult:
    """Write the files the filters (and options.ids / options.saved) select to the folder ``dest``, or to
    the zip archive ``dest`` with options.zip. Per-file problems are counted and listed in the manifest;
    DestinationError when the destination itself cannot be written."""
    opts = options or ExportOptions()
    dest = Path(dest).absolute()
    started = time.perf_counter()
    params = {"ids": list(opts.ids) if opts.ids is not None else None, "saved": opts.saved,
              "template": opts.template, "keep_tree": opts.keep_tree, "filters": Jsonb(filters or {})}
    with psycopg.connect(dsn) as conn:
        conn.execute(queries["export_template"], {"template": opts.template})  # a bad template fails first
        if not opts.inside_library:
            root = _inside(dest.parent if opts.zip else dest, _library_roots(conn))
            if root is not None:
                raise DestinationError(f"{dest} is inside the imported folder {root}: the next import would take "
                                       "the exported copies as more paths of the same files; choose another "
                                       "destination (or allow it with --inside-library)")
        if opts.zip:
            result = _export_zip(conn, params, dest, opts, progress)
        else:
            result = _export_folder(conn, params, dest, opts, progress)
    result.seconds = round(time.perf_counter() - started, 3)
    result.files_per_second = round(result.files / result.seconds, 1) if result.seconds else 0.0
    return result


def _rows(conn: psycopg.Connection, params: dict[str, Any], batch: int, progress: Progress | None):
    """The rows of midi.export_rows through a named (server-side) cursor, batch rows per round trip."""
    with conn.transaction(), conn.cursor(name="midicenter_export") as cur:
        cur.itersize = max(1, batch)
        cur.execute(queries["export_rows"], params)
        first = True
        for row in cur:
            if first and progress is not None:
                progress.total(row[6])
            first = False
            yield row


@dataclass
class _Outcome:
    """What happened to one file in a worker thread, handed back in row order."""

    rel: str
    status: str  # written, present, or an error class
    mode: str = ""
    source: str = ""
    nbytes: int = 0
    message: str = ""


class _Workers:
    """The threads that read, check and write files (file system calls wait on the disk far more than
    Python runs), each with its own Sources; a bounded number of files in flight, results in row order."""

    def __init__(self, threads: int) -> None:
        # one thread: the files are done in the caller's thread, without a pool's hand-offs
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="midicenter-export") if threads > 1 else None
        self.window = 16 * threads if threads > 1 else 1
        self._local = threading.local()
        self._all: list[Sources] = []
        self._lock = threading.Lock()

    def sources(self) -> Sources:
        src = getattr(self._local, "sources", None)
        if src is None:
            src = self._local.sources = Sources()
            with self._lock:
                self._all.append(src)
        return src

    def submit(self, fn: Callable[..., _Outcome], *args: Any) -> Future[_Outcome]:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future[_Outcome] = Future()
        done.set_result(fn(*args))  # an exception (a destination error) leaves through the caller
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        for src in self._all:
            src.close()


def _export_folder(conn: psycopg.Connection, params: dict[str, Any], dest: Path, opts: ExportOptions,
                   progress: Progress | None) -> ExportResult:
    folder = Folder(dest, opts.link)
    folder.prepare()
    manifest = dest / MANIFEST
    tmp = dest / f".{MANIFEST}.{os.getpid()}.partial"
    result = ExportResult(dest=str(dest), manifest=str(manifest))
    try:
        fh = open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise fatal_destination_error(exc, str(dest)) from exc
    run = _Run(result, fh, progress)
    workers = _Workers(opts.threads)
    pending: deque[tuple[Future[_Outcome], tuple[int, bytes, int]]] = deque()
    try:
        # the server computes the next rows' names and sources while this thread places the current ones
        with fh, prefetch.Ahead(_rows(conn, params, opts.batch_rows, None), opts.batch_rows) as rows:
            for fid, rel, digest, size, paths, raws, total in rows:
                if not result.files and progress is not None:
                    progress.total(total)
                result.files += 1
                digest = bytes(digest)
                pending.append((workers.submit(_export_one, folder, workers, rel, digest, size, paths, raws),
                                (fid, digest, size)))
                while len(pending) >= workers.window:
                    _settle(run, rel_row=pending.popleft())
            while pending:
                _settle(run, rel_row=pending.popleft())
            run.tick(force=True)
        _publish(tmp, manifest)  # the same export again: nothing changes, not even the manifest
    except BaseException as exc:
        _discard(tmp, dest, exc)
    finally:
        for future, _ in pending:
            future.cancel()
        workers.close()
    result.error_classes = dict(sorted(run.classes.items()))
    return result


def _settle(run: _Run, rel_row: tuple[Future[_Outcome], tuple[int, bytes, int]]) -> None:
    """Count one finished file and write its manifest row (a destination error raises here)."""
    future, (fid, digest, size) = rel_row
    out = future.result()
    result = run.result
    if out.status == "present":
        result.present += 1
        result.hashes_checked += 1
        run.row(out.rel, fid, digest, size, "ok", out.mode, out.source)
    elif out.status == "written":
        result.written += 1
        result.hashes_checked += 1
        result.renamed_on_collision += out.message == "renamed"
        if out.mode == "copy":
            result.copied += 1
            result.bytes_written += out.nbytes
        elif out.mode == "hardlink":
            result.hardlinked += 1
        else:
            result.symlinked += 1
        run.row(out.rel, fid, digest, size, "ok", out.mode, out.source)
    else:
        run.error(out.rel, fid, digest, size, out.status, out.message, out.source)
    run.tick()


def _export_one(folder: Folder, workers: _Workers, rel: str, digest: bytes, size: int, paths: list[str],
                raws: list[bytes | None]) -> _Outcome:
    """Place one file (in a worker thread): present already, or read, checked and written under the first
    name that is free (rel, else rel~2, rel~3... the same on every run)."""
    sources = workers.sources()
    got: Fetched | None = None
    n = 1
    want = rel
    # in a folder that was empty, the name is free unless this run took it (the write finds that out)
    state, mode = ("free", "") if folder.fresh else folder.state(want, size, digest)
    while True:
        if state == "same":
            source = next((p for p, b in zip(paths, raws, strict=True) if sources.exists(p, b)), "")
            return _Outcome(want, "present", mode, source)
        if state == "free":
            if got is None:
                got = fetch(sources, paths, raws, digest)
                if got.data is None:
                    return _Outcome(want, got.error_class or "missing", source=got.source, message=got.message)
            try:
                how = folder.write(want, got)
            except OSError as exc:
                if _is_fatal(exc):
                    raise
                return _Outcome(want, "unwritable", source=got.source, message=f"{want}: {exc.strerror or exc}")
            if how is not None:
                return _Outcome(want, "written", how, got.source, len(got.data),
                                "renamed" if want != rel else "")
            state, mode = folder.state(want, size, digest)  # taken meanwhile: look at it again
            continue
        n += 1  # another file holds this name: the next free ~n name
        want = suffixed(rel, n)
        state, mode = folder.state(want, size, digest)


def _export_zip(conn: psycopg.Connection, params: dict[str, Any], dest: Path, opts: ExportOptions,
                progress: Progress | None) -> ExportResult:
    """One archive: members named as in a folder, manifest.csv last; written to a temporary file and
    renamed, and left alone when the new archive is byte for byte the one already there."""
    if not dest.parent.is_dir():
        raise DestinationError(f"cannot write {dest}: the folder {dest.parent} does not exist")
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.partial"
    result = ExportResult(dest=str(dest), manifest=f"{dest}!{MANIFEST}")
    sources = Sources()
    # the manifest waits in a temporary file, not in memory: a zip of a million files holds enough already
    listing = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
    run = _Run(result, listing, progress)
    try:
        zf = zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    except OSError as exc:
        raise fatal_destination_error(exc, str(dest)) from exc
    try:
        with zf:
            for fid, rel, digest, size, paths, raws, _total in _rows(conn, params, opts.batch_rows, progress):
                result.files += 1
                digest = bytes(digest)
                got = fetch(sources, paths, raws, digest)
                if got.data is None:
                    run.error(rel, fid, digest, size, got.error_class or "missing", got.message, got.source)
                else:
                    name, n = rel, 1
                    while name in zf.NameToInfo:
                        n += 1
                        name = suffixed(rel, n)
                    zf.writestr(_member(name), got.data)
                    result.written += 1
                    result.hashes_checked += 1
                    result.bytes_written += len(got.data)
                    result.renamed_on_collision += name != rel
                    run.row(name, fid, digest, size, "ok", "zip", got.source)
                run.tick()
            run.tick(force=True)
            listing.seek(0)
            with zf.open(_member(MANIFEST), "w") as out:
                shutil.copyfileobj(listing.buffer, out)
        result.zip_unchanged = _publish(tmp, dest)
    except BaseException as exc:
        _discard(tmp, dest, exc)
    finally:
        sources.close()
        listing.close()
    result.error_classes = dict(sorted(run.classes.items()))
    return result


def _publish(tmp: Path, final: Path) -> bool:
    """Put a finished temporary file under its final name, unless the file there already has the same
    bytes (then the temporary one goes and nothing changes). Returns whether it was unchanged."""
    if final.is_file() and filecmp.cmp(tmp, final, shallow=False):
        tmp.unlink()
        return True
    os.replace(tmp, final)
    return False


def _discard(tmp: Path, dest: Path, exc: BaseException) -> NoReturn:
    """Remove a half-written temporary file and raise again. Per-file problems are rows of the manifest,
    so an OSError that arrives here is the destination's: one DestinationError."""
    tmp.unlink(missing_ok=True)
    if isinstance(exc, OSError):
        raise fatal_destination_error(exc, str(dest)) from exc
    raise exc


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
