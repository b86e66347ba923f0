"""Reading one location's bytes, safely: a regular file opened without ever blocking (a FIFO named .mid is
refused, not waited on), a zip member within its size, total and compression-ratio limits, and a location a
scan stored (`a.zip!b.mid`, nested `a.zip!b.zip!c.mid`) read again. Every failure is a `ReadError` with a
stable class (READ_ERROR_CLASSES). The scanner (runner.scan) walks with these; export, split and analysis
read stored locations with them.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile

from runner.midifile import MAX_FILE_SIZE

__all__ = [
    "DEFAULT_MAX_ARCHIVE_TOTAL",
    "DEFAULT_MAX_RATIO",
    "READ_ERROR_CLASSES",
    "ReadError",
    "open_regular",
    "read_error",
    "read_file",
    "read_inner",
    "read_member",
    "read_path",
    "split_archive",
]

READ_ERROR_CLASSES: dict[str, str] = {
    "unreadable": "the file cannot be opened or read (permission, I/O error)",
    "not_regular_file": "the path is no longer a regular file when it is read (a FIFO, socket, device or "
    "directory took its place); a FIFO is never waited on",
    "vanished": "the file was deleted or moved between the scan and the read",
    "too_large": "the file is bigger than the size limit (MAX_FILE_SIZE by default)",
    "bad_archive": "read_path: the archive or the member cannot be decompressed",
    "encrypted": "read_path: the member is encrypted",
    "archive_bomb": "read_path: the member is over the size or compression ratio limit",
}
"""Every `ReadError.error_class`, with its one-line meaning."""

DEFAULT_MAX_ARCHIVE_TOTAL = 1024 * 1024 * 1024
DEFAULT_MAX_RATIO = 200
_RATIO_FLOOR = 1024 * 1024  # the ratio limit applies to members above this size
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # never block on a FIFO named .mid


class ReadError(Exception):
    """A file could not be read; `error_class` is a key of READ_ERROR_CLASSES."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message


def read_error(exc: OSError, path: str) -> ReadError:
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return ReadError("vanished", f"{path}: no longer exists ({exc.strerror})")
    return ReadError("unreadable", f"{path}: {exc.strerror or exc}")


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a regular file"


def open_error(exc: OSError, fs: bytes, path: str) -> ReadError:
    """Why an open failed: a socket (or a device without a driver) cannot be opened at all, and is
    `not_regular_file` rather than `unreadable`."""
    try:
        mode = os.stat(fs).st_mode
    except (OSError, ValueError):
        return read_error(exc, path)
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return ReadError("not_regular_file", f"{path}: is {file_kind(mode)}")
    return read_error(exc, path)


def _open_fd(fs: bytes, path: str) -> tuple[int, os.stat_result]:
    """A descriptor of a regular file and its fstat, opened without ever blocking: a FIFO is opened
    non-blocking (an open for reading waits for a writer otherwise) and refused after fstat, like any other
    special file. ReadError on any failure (nothing left open)."""
    try:
        fd = os.open(fs, _OPEN_FLAGS)
    except OSError as exc:
        raise open_error(exc, fs, path) from exc
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise read_error(exc, path) from exc
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ReadError("not_regular_file", f"{path}: is {file_kind(st.st_mode)}")
    return fd, st


def open_regular(fs: bytes, path: str) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking (see _open_fd)."""
    return os.fdopen(_open_fd(fs, path)[0], "rb")


def read_file(fs: bytes, path: str, max_size: int) -> bytes:
    """Read a whole regular file with one open/fstat/read/close; ReadError on any failure."""
    fd, st = _open_fd(fs, path)
    try:
        size = st.st_size
        if size > max_size:
            raise ReadError("too_large", f"{path}: {size} bytes, over the limit of {max_size}")
        data = os.read(fd, size + 1)
        if len(data) != size:
            # Short read or the file changed size while being read: read to EOF, keep the limit.
            parts = [data]
            total = len(data)
            while chunk := os.read(fd, 1 << 20):
                total += len(chunk)
                if total > max_size:
                    raise ReadError("too_large", f"{path}: grew over the limit of {max_size} bytes")
                parts.append(chunk)
            data = b"".join(parts)
        return data
    except OSError as exc:
        raise read_error(exc, path) from exc
    finally:
        os.close(fd)


def read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, disp: str, max_size: int, max_ratio: float, budget: list[int]
) -> bytes:
    """Decompress one member within its size limit, the archive's remaining budget and the ratio limit.

    `budget` is [bytes still allowed, total limit] for the whole top-level archive (uncompressed);
    reading the member takes its size from it. ReadError says what was refused and why.
    """
    size = info.file_size
    if size > max_size:
        raise ReadError(
            "archive_bomb", f"{disp}: {size} bytes uncompressed, over the member limit of {max_size}"
        )
    if size > budget[0]:
        raise ReadError(
            "archive_bomb",
            f"{disp}: {size} bytes uncompressed, over the {budget[0]} bytes left of the archive total "
            f"limit of {budget[1]}",
        )
    if size > _RATIO_FLOOR and size > max_ratio * max(info.compress_size, 1):
        raise ReadError(
            "archive_bomb",
            f"{disp}: compressed {size // max(info.compress_size, 1)}:1, over the ratio limit of {max_ratio:g}:1",
        )
    if info.flag_bits & 0x1:
        raise ReadError("encrypted", f"{disp}: member is encrypted")
    try:
        data = zf.read(info)
    except Exception as exc:  # zipfile raises BadZipFile, zlib.error, EOFError, NotImplementedError...
        raise ReadError("bad_archive", f"{disp}: {type(exc).__name__}: {exc}") from exc
    budget[0] -= len(data)
    return data


def read_path(
    path: str,
    path_bytes: bytes | None = None,
    *,
    max_size: int = MAX_FILE_SIZE,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> bytes:
    """Re-read a location stored by a scan: a plain file, or `a.zip!inner.mid` (nested: `a.zip!b.zip!c.mid`).

    `path_bytes`, when given, is the exact location (the display `path` may hold U+FFFD). A `!` splits
    the path only where the part before it is an existing file (or member) whose name ends in .zip.
    """
    raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
    outer, inner = split_archive(raw)
    if inner is None:
        return read_file(raw, path, max_size)
    fh = open_regular(outer, path)
    with fh:
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:
            raise ReadError("bad_archive", f"{path}: not a readable zip ({exc})") from exc
        with zf:
            return read_inner(zf, inner.decode("utf-8", "surrogateescape"), path, max_size, max_ratio)


def split_archive(raw: bytes) -> tuple[bytes, bytes | None]:
    """Split `raw` at the first `!` whose left part is an existing file named *.zip."""
    start = 0
    while (bang := raw.find(b"!", start)) >= 0:
        left = raw[:bang]
        if left[-4:].lower() == b".zip" and os.path.isfile(left):
            return left, raw[bang + 1 :]
        start = bang + 1
    return raw, None


def read_inner(zf: zipfile.ZipFile, inner: str, path: str, max_size: int, max_ratio: float) -> bytes:
    """Read member `inner` of an open zip, descending into nested zips named before a `!`."""
    start = 0
    while (bang := inner.find("!", start)) >= 0:
        left = inner[:bang]
        if left[-4:].lower() == ".zip" and left in zf.NameToInfo:
            total = [DEFAULT_MAX_ARCHIVE_TOTAL, DEFAULT_MAX_ARCHIVE_TOTAL]
            data = read_member(zf, zf.getinfo(left), path, DEFAULT_MAX_ARCHIVE_TOTAL, max_ratio, total)
            try:
                nested = zipfile.ZipFile(io.BytesIO(data))
            except Exception as exc:
                raise ReadError("bad_archive", f"{path}: {left} is not a readable zip ({exc})") from exc
            with nested:
                return read_inner(nested, inner[bang + 1 :], path, max_size, max_ratio)
        start = bang + 1
    try:
        info = zf.getinfo(inner)
    except KeyError:
        raise ReadError("vanished", f"{path}: no member {inner!r} in the archive") from None
    return read_member(zf, info, path, max_size, max_ratio, [max_size, max_size])
