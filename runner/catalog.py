"""The catalog out as a table: one row per file with its facts and paths (midi.catalog's columns), as CSV
with a header or as JSON lines, streamed straight from ``COPY ... TO STDOUT`` (memory does not grow with
the number of rows)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from psycopg.types.json import Jsonb

from runner.export import fatal_destination_error
from runner.queries import queries

__all__ = ["CATALOG_FORMATS", "CatalogResult", "export_catalog"]

CATALOG_FORMATS = ("csv", "jsonl")


@dataclass
class CatalogResult:
    format: str
    output: str
    rows: int
    bytes: int
    seconds: float
    rows_per_second: float


def export_catalog(dsn: str, out: BinaryIO | str | Path, *, fmt: str = "csv", filters: dict[str, Any] | None = None,
                   ids: Sequence[int] | None = None, saved: str | None = None) -> CatalogResult:
    """Stream the catalog (one row per file, midi.catalog's columns; only the files matching the filters,
    ids or saved search when any is given) to ``out`` (a binary stream, or a file written through a
    temporary name) as CSV with a header or as JSON lines, straight from COPY ... TO STDOUT."""
    if fmt not in CATALOG_FORMATS:
        raise ValueError(f"format must be one of {', '.join(CATALOG_FORMATS)}, not {fmt!r}")
    started = time.perf_counter()
    narrowed = bool(filters) or ids is not None or saved is not None
    name = f"catalog_rows_{fmt}" if narrowed else f"catalog_{fmt}"
    params = ({"ids": list(ids) if ids is not None else None, "saved": saved, "filters": Jsonb(filters or {})}
              if narrowed else None)
    target = None
    if isinstance(out, str | Path):
        target = Path(out).absolute()
        tmp = target.parent / f".{target.name}.{os.getpid()}.partial"
        try:
            stream: BinaryIO = open(tmp, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise fatal_destination_error(exc, str(target)) from exc
    else:
        stream = out
    nbytes = 0
    newlines = 0
    try:
        with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(queries[name], params) as copy:
            for chunk in copy:
                stream.write(chunk)
                nbytes += len(chunk)
                newlines += bytes(chunk).count(b"\n") if fmt == "jsonl" else 0
            rows = cur.rowcount
        stream.flush()
        if target is not None:
            stream.close()
            os.replace(tmp, target)
    except OSError as exc:
        if target is not None:
            stream.close()
            tmp.unlink(missing_ok=True)
            raise fatal_destination_error(exc, str(target)) from exc
        raise
    except BaseException:
        if target is not None:
            stream.close()
            tmp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    rows = rows if rows is not None and rows >= 0 else newlines
    return CatalogResult(fmt, str(target) if target else "-", rows, nbytes, round(seconds, 3),
                         round(rows / seconds, 1) if seconds else 0.0)
