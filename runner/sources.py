"""A stored file's bytes, read back from the first of its stored places that still holds exactly them.

A place is a plain path or a zip member (``a.zip!x.mid``, nested ``a.zip!b.zip!c.mid``), as the scanner
stores it; a member is looked up by its name inside the archive, so a name like ``../x.mid`` never becomes a
file path. `fetch` checks the bytes against the catalog's BLAKE3 content_hash before anyone writes them.
Used by export and split (and anything else that hands a catalogued file's bytes on).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from blake3 import blake3

from runner.archives import ArchiveCache
from runner.reading import ReadError, split_archive

__all__ = ["ZIPS_OPEN", "Fetched", "Sources", "fetch"]

ZIPS_OPEN = 8
"""Source archives kept open at once (rows come ordered by path, so an archive's members come together)."""


class Sources(ArchiveCache):
    """Reads stored locations: plain files, and zip members (``a.zip!x.mid``, nested ``a.zip!b.zip!c.mid``)
    from archives kept open while their members come (a few at a time, least recently used closed)."""

    def __init__(self, keep_open: int = ZIPS_OPEN) -> None:
        super().__init__(max_archives=keep_open)

    def exists(self, path: str, path_bytes: bytes | None) -> bool:
        """Whether a stored location (for a member: its archive) is there, without reading it."""
        raw = path_bytes if path_bytes is not None else path.encode("utf-8", "surrogateescape")
        if b"!" in raw:
            raw = split_archive(raw)[0]
        return os.path.isfile(raw)


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
        except ReadError as exc:
            if exc.error_class != "vanished" and not unreadable:
                unreadable = exc.message
            continue
        if blake3(data).digest() == digest:
            raw = b if b is not None else p.encode("utf-8", "surrogateescape")
            return Fetched(data, p, raw, b"!" in raw and split_archive(raw)[1] is not None)
        mismatch = mismatch or p
    if mismatch:
        return Fetched(None, mismatch, error_class="hash_mismatch",
                        message=f"{mismatch}: its bytes differ from the catalog's content_hash {digest.hex()[:16]}...")
    if unreadable:
        return Fetched(None, error_class="unreadable", message=unreadable)
    listed = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return Fetched(None, error_class="missing", message=f"no stored path exists any more ({listed or 'none stored'})")
