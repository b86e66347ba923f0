"""Zip archives kept open between reads: the members of one archive are read with one open and one read of
its central directory, and a zip inside a zip is inflated once. Used by the analysis workers (one cache per
worker process) and by export and split (runner.sources). Reads give the bytes and the ReadError classes of
runner.reading.read_path.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections import OrderedDict

from runner.midifile import MAX_FILE_SIZE
from runner.reading import (
    DEFAULT_MAX_ARCHIVE_TOTAL,
    DEFAULT_MAX_RATIO,
    ReadError,
    read_error,
    read_member,
    read_path,
    split_archive,
)

__all__ = ["ArchiveCache"]


class ArchiveCache:
    """Zip archives kept open between reads in one worker process.

    The members of one archive arrive together (the analyzer sorts each claimed batch by path), so the
    archive is opened and its central directory read once, not once per member; a zip inside a zip is
    inflated once and kept (within `max_bytes`), not inflated again for each of its members. An archive
    is reopened when the file at its path changed (device, inode, size or mtime). Reads give the bytes
    and the ReadError classes of runner.read_path.
    """

    def __init__(self, max_archives: int = 8, max_bytes: int = 64 << 20) -> None:
        self.max_archives = max_archives
        self.max_bytes = max_bytes
        self._outer: OrderedDict[bytes, tuple[tuple, zipfile.ZipFile, io.BufferedReader]] = OrderedDict()
        self._nested: OrderedDict[tuple, tuple[zipfile.ZipFile, int]] = OrderedDict()
        self._nested_bytes = 0
        self.opens = 0  # archives opened from disk
        self.inflations = 0  # nested archives inflated

    def read(self, path: str, path_bytes: bytes | None = None) -> bytes:
        """The bytes of a stored location: a plain file (runner.read_path) or an archive member."""
        raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
        outer, inner = split_archive(raw)
        if inner is None:
            return read_path(path, path_bytes)
        zf, ident = self._open(outer, path)
        return self._member(zf, (outer, ident), inner.decode("utf-8", "surrogateescape"), path)

    def close(self) -> None:
        for _, zf, fh in self._outer.values():
            zf.close()
            fh.close()
        for zf, _ in self._nested.values():
            zf.close()
        self._outer.clear()
        self._nested.clear()
        self._nested_bytes = 0

    def _open(self, outer: bytes, path: str) -> tuple[zipfile.ZipFile, tuple]:
        try:
            st = os.stat(outer)
        except OSError as exc:
            raise read_error(exc, path) from exc
        ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        held = self._outer.get(outer)
        if held is not None and held[0] == ident:
            self._outer.move_to_end(outer)
            return held[1], ident
        if held is not None:
            self._drop(outer)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError("unreadable", f"{path}: the archive is not a regular file")
        try:
            fd = os.open(outer, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise read_error(exc, path) from exc
        fh = os.fdopen(fd, "rb")
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:
            fh.close()
            raise ReadError("bad_archive", f"{path}: not a readable zip ({exc})") from exc
        self.opens += 1
        self._outer[outer] = (ident, zf, fh)
        while len(self._outer) > self.max_archives:
            self._drop(next(iter(self._outer)))
        return zf, ident

    def _drop(self, outer: bytes) -> None:
        _, zf, fh = self._outer.pop(outer)
        zf.close()
        fh.close()  # a ZipFile does not close the file object it was given
        for key in [k for k in self._nested if k[0] == outer]:
            nested, size = self._nested.pop(key)
            nested.close()
            self._nested_bytes -= size

    def _member(self, zf: zipfile.ZipFile, key: tuple, inner: str, path: str) -> bytes:
        """Member `inner` of an open zip, descending into nested zips named before a `!` (as scan does)."""
        start = 0
        while (bang := inner.find("!", start)) >= 0:
            left = inner[:bang]
            if left[-4:].lower() == ".zip" and left in zf.NameToInfo:
                nested_key = (*key, left)
                held = self._nested.get(nested_key)
                if held is not None:
                    self._nested.move_to_end(nested_key)
                    nested = held[0]
                else:
                    total = [DEFAULT_MAX_ARCHIVE_TOTAL, DEFAULT_MAX_ARCHIVE_TOTAL]
                    data = read_member(zf, zf.getinfo(left), path, DEFAULT_MAX_ARCHIVE_TOTAL,
                                             DEFAULT_MAX_RATIO, total)
                    try:
                        nested = zipfile.ZipFile(io.BytesIO(data))
                    except Exception as exc:
                        raise ReadError("bad_archive", f"{path}: {left} is not a readable zip ({exc})") from exc
                    self.inflations += 1
                    if len(data) <= self.max_bytes:
                        self._nested[nested_key] = (nested, len(data))
                        self._nested_bytes += len(data)
                        while self._nested_bytes > self.max_bytes:
                            old, size = self._nested.pop(next(iter(self._nested)))[:2]
                            self._nested_bytes -= size
                            if old is not nested:
                                old.close()
                return self._member(nested, nested_key, inner[bang + 1 :], path)
            start = bang + 1
        try:
            info = zf.getinfo(inner)
        except KeyError:
            raise ReadError("vanished", f"{path}: no member {inner!r} in the archive") from None
        return read_member(zf, info, path, MAX_FILE_SIZE, DEFAULT_MAX_RATIO,
                                 [MAX_FILE_SIZE, MAX_FILE_SIZE])
