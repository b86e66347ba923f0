"""The manifest of a generated library: one row of truth per file, written beside the library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from runner.bench.library.names import _fmt_bpm

# ---------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------


class Truth(NamedTuple):
    """One manifest row: what a generated file really is.

    ``path`` and ``duplicate_of`` are relative to the library folder, with ``/`` separators. ``kind`` is
    ``midi`` or ``other`` (a non-MIDI file: only path, manufacturer, collection, category and size are set).
    ``key`` is the musical key in canonical form (None for drum parts). ``is_drum``: every note is on
    channel 10; ``has_drums``: some notes are (drum parts and full mixes). ``key_meta`` is what the
    key-signature event says (a lone ``C`` may be a sequencer default), ``name_bpm``/``name_key`` what the
    file name states; None when absent.
    """

    path: str
    kind: str
    bpm: float | None
    key: str | None
    category: str
    manufacturer: str
    collection: str
    time_signature: str | None
    is_drum: bool
    has_drums: bool
    duplicate_of: str | None
    size: int
    format: int | None
    ppq: int | None
    key_meta: str | None
    name_bpm: float | None
    name_key: str | None


COLUMNS = Truth._fields


def _row(values: tuple[object, ...]) -> str:
    """One TSV line; None and False become empty and 0."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif isinstance(v, bool):
            out.append("1" if v else "0")
        elif isinstance(v, float):
            out.append(_fmt_bpm(v))
        else:
            out.append(str(v))
    return "\t".join(out) + "\n"


def manifest_path(lib: Path) -> Path:
    """Where the manifest of a library folder lives (beside it)."""
    return lib.parent / f"{lib.name}.manifest.tsv"


def _marker_path(lib: Path) -> Path:
    return lib.parent / f"{lib.name}.complete"


def truth(lib: Path) -> Iterator[Truth]:
    """Stream the manifest of a generated library, one typed row at a time."""

    def num(s: str) -> float | None:
        return float(s) if s else None

    def opt(s: str) -> str | None:
        return s or None

    with open(manifest_path(Path(lib)), encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n").split("\t")
        if tuple(header) != COLUMNS:
            raise ValueError(f"unexpected manifest header in {manifest_path(Path(lib))}")
        for line in f:
            c = line.rstrip("\n").split("\t")
            yield Truth(
                path=c[0],
                kind=c[1],
                bpm=num(c[2]),
                key=opt(c[3]),
                category=c[4],
                manufacturer=c[5],
                collection=c[6],
                time_signature=opt(c[7]),
                is_drum=c[8] == "1",
                has_drums=c[9] == "1",
                duplicate_of=opt(c[10]),
                size=int(c[11]),
                format=int(c[12]) if c[12] else None,
                ppq=int(c[13]) if c[13] else None,
                key_meta=opt(c[14]),
                name_bpm=num(c[15]),
                name_key=opt(c[16]),
            )
