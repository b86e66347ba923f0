"""A stored file's bytes, read back from the first of its stored places that still holds exactly them.

A place is a plain path or a zip member (``a.zip!x.mid``, nested ``a.zip!b.zip!c.mid``), as the scanner
stores it; a member is looked up by its name inside the archive, so a name like ``../x.mid`` never becomes a
file path. `fetch` checks the bytes against the catalog's BLAKE3 content_hash before anyone writes them.
Used by export and split (and anything else that hands a catalogued file's bytes on).
"""

from __future__ import annotations

import os
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from blake3 import blake3

from runner import scan
from runner.midifile import MAX_FILE_SIZE

__all__ = ["ZIPS_OPEN", "Fetched", "Sources", "fetch"]

ZIPS_OPEN = 8
"""Source archives kept open at once (rows come ordered by path, so an archive's members come together)."""


class Sources:
    """Reads stored locations: plain files, and zip members (``a.zip!x.mid``, nested ``a.zip!b.zip!c.mid``)
    from archives kept open while their members come (a few at a time, least recently used closed)."""

    def __init__(self, keep_open: int = ZIPS_OPEN) -> None:
        self._keep = keep_open
        self._zips: OrderedDict[bytes, zipfile.ZipFile] = OrderedDict()

    def read(self, path: str, path_bytes: bytes | None) -> bytes:
        """The bytes at one stored location, or scan.ReadError saying why not (vanished, unreadable...)."""
        raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
        if b"!" not in raw:
            return scan.read_path(path, path_bytes)
        outer, inner = scan._split_archive(raw)  # noqa: SLF001 - the scanner's own rule for "a.zip!member"
        if inner is None:
            return scan.read_path(path, path_bytes)
        zf = self._open(outer, path)
        # the member is looked up by its name in the archive: a name like ../x.mid is never a file path
        return scan._read_inner(zf, inner.decode("utf-8", "surrogateescape"), path,  # noqa: SLF001
                                MAX_FILE_SIZE, scan.DEFAULT_MAX_RATIO)

    def exists(self, path: str, path_bytes: bytes | None) -> bool:
        """Whether a stored location (for a member: its archive) is there, without reading it."""
        raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
        if b"!" in raw:
            raw = scan._split_archive(raw)[0]  # noqa: SLF001
        return os.path.isfile(raw)

    def _open(self, outer: bytes, path: str) -> zipfile.ZipFile:
        zf = self._zips.get(outer)
        if zf is not None:
            self._zips.move_to_end(outer)
            return zf
        try:
            fh = open(outer, "rb")  # noqa: SIM115 - closed with the ZipFile in close()
        except FileNotFoundError as exc:
            raise scan.ReadError("vanished", f"{path}: the archive no longer exists") from exc
        except OSError as exc:
            raise scan.ReadError("unreadable", f"{path}: {exc.strerror or exc}") from exc
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:  # a damaged archive fails in many ways
            fh.close()
            raise scan.ReadError("bad_archive", f"{path}: not a readable zip ({exc})") from exc
        self._zips[outer] = zf
        while len(self._zips) > self._keep:
            _, old = self._zips.popitem(last=False)
            _close_zip(old)
        return zf

    def close(self) -> None:
        while self._zips:
            _close_zip(self._zips.popitem()[1])


def _close_zip(zf: zipfile.ZipFile) -> None:
    fh = zf.fp
    zf.close()
    if fh is not None:
        fh.close()


@dataclass
class Fetched:
    data: bytes | None
    source: str = ""
    source_raw: bytes | None = None
    in_archive: bool = False
    error_class: str | None = None
    message: str = ""


def fetch(sources: Sources, paths: Sequence[str], raws: Sequence[bytes | None], digest: bytes) -> Fetched:
    """The bytes of a content from the first stored path that holds exactly them (BLAKE3 = digest).
    Otherwise the reason: hash_mismatch when some path holds other bytes, missing when none exists any
    more, unreadable when one exists but cannot be read."""
    mismatch = ""
    unreadable = ""
    for p, b in zip(paths, raws, strict=True):
        try:
            data = sources.read(p, b)
        except scan.ReadError as exc:
            if exc.error_class != "vanished" and not unreadable:
                unreadable = exc.message
            continue
        if blake3(data).digest() == digest:
            raw = b if b is not None else p.encode("utf-8", "surrogateescape")
            return Fetched(data, p, raw, b"!" in raw and scan._split_archive(raw)[1] is not None)  # noqa: SLF001
        mismatch = mismatch or p
    if mismatch:
        return Fetched(None, mismatch, error_class="hash_mismatch",
                        message=f"{mismatch}: its bytes differ from the catalog's content_hash {digest.hex()[:16]}...")
    if unreadable:
        return Fetched(None, error_class="unreadable", message=unreadable)
    listed = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return Fetched(None, error_class="missing", message=f"no stored path exists any more ({listed or 'none stored'})")
