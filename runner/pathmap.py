"""Path prefix maps: read a library stored under one mount point from a machine that mounts it elsewhere.

The catalog stores every path as the importing machine saw it (`/mnt/nas/loops/a.mid`). A runner on a
second machine that mounts the same share at `/Volumes/nas` is given `--path-map /mnt/nas=/Volumes/nas`
and reads `/Volumes/nas/loops/a.mid`; the catalog's paths never change. The longest matching prefix wins,
and a prefix matches only at a path-component boundary (`/mnt/nas` maps `/mnt/nas/a.mid`, not
`/mnt/nas2/a.mid`). A path under no prefix is read as it is.

A file none of whose paths this runner can reach (the folder that should hold it does not exist here: a
library mounted elsewhere or not at all) is `unreachable`: the runner leaves it to a runner that can reach it,
it is not failed (see runner.analyzer).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["PathMap", "UNREACHABLE", "parse_map", "reachable_folder"]

UNREACHABLE = "unreachable"
"""The error class of a file that this runner cannot reach (never stored: the file stays pending)."""


class PathMap:
    """An ordered set of (stored prefix, local prefix) pairs, longest stored prefix first."""

    __slots__ = ("pairs", "raw")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        cleaned = []
        for src, dst in pairs:
            src = src.rstrip("/") or "/"
            dst = dst.rstrip("/") or "/"
            cleaned.append((src, dst))
        self.pairs = sorted(cleaned, key=lambda p: len(p[0]), reverse=True)
        self.raw = [(s.encode("utf-8", "surrogateescape"), d.encode("utf-8", "surrogateescape")) for s, d in self.pairs]

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def apply(self, path: str) -> str:
        """Where this runner reads a stored path (the path itself when no prefix matches)."""
        for src, dst in self.pairs:
            rest = _rest(path, src, "/")
            if rest is not None:
                return dst + rest if dst != "/" else "/" + rest.lstrip("/")
        return path

    def apply_bytes(self, path: bytes) -> bytes:
        """`apply` for a stored path's exact bytes (a path that is not valid UTF-8)."""
        for src, dst in self.raw:
            rest = _rest(path, src, b"/")
            if rest is not None:
                return dst + rest if dst != b"/" else b"/" + rest.lstrip(b"/")
        return path


def _rest(path, prefix, sep):
    """The part of `path` after `prefix` when the prefix ends at a component boundary, else None."""
    if prefix == sep:
        return path if path.startswith(sep) else None
    if path == prefix:
        return path[:0]
    if path.startswith(prefix) and path[len(prefix):len(prefix) + 1] == sep:
        return path[len(prefix):]
    return None


def parse_map(items: Iterable[str]) -> PathMap:
    """`FROM=TO` strings (absolute paths on both sides) into a PathMap; ValueError names a bad one."""
    pairs = []
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            raise ValueError(f"{item!r}: expected FROM=TO, e.g. /mnt/nas=/Volumes/nas")
        if not (src.startswith("/") and dst.startswith("/")):
            raise ValueError(f"{item!r}: both sides must be absolute paths")
        pairs.append((src, dst))
    return PathMap(pairs)


def reachable_folder(path: str, path_bytes: bytes | None = None) -> bool:
    """Whether the folder that should hold a stored location exists on this machine.

    For a zip member (`a.zip!inner.mid`) that is the folder of the archive. A missing file in an existing
    folder was deleted or moved (`vanished`); a missing folder means the library is not mounted here.
    """
    raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
    start = 0
    while (bang := raw.find(b"!", start)) >= 0:  # the outer archive: the first `!` after a *.zip name
        if raw[:bang][-4:].lower() == b".zip":
            raw = raw[:bang]
            break
        start = bang + 1
    return os.path.isdir(os.path.dirname(raw) or b".")
