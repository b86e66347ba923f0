"""Keyset pages in every sort order stay exact at a size where a sort spans many pages: for each filter
shape of `bench search` (on the benchmark's own generated library, 20,000 files) and every sort order, the
pages walked with midi.search's cursor, concatenated, equal a brute-force query written here by hand (its
own WHERE and ORDER BY, not the engine's): no duplicate, no missing row, the same order. The strategies
the engine picks per sort and page size (an ordered index under a key filter, a bitmap of a rare word, a
filtered ordered scan of a broad one) all have to agree with it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import conninfo

from runner.bench.scratch import throwaway_database
from runner.bench.search import fill
from runner.canonical import SORTS

N_FILES = 20_000

# (name, midi.search arguments, the brute-force WHERE over midi.files f, its parameters)
SHAPES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("broad word", "q => %(q)s", "f.search_vector @@ midi.parse_query(%(q)s)", {"q": "bass"}),
    ("broad word + BPM + keys",
     "q => %(q)s, bpm_min => %(lo)s, bpm_max => %(hi)s, keys => %(k)s::midi.musical_key[]",
     "f.search_vector @@ midi.parse_query(%(q)s) AND f.cached_bpm BETWEEN %(lo)s AND %(hi)s "
     "AND f.cached_key::text = ANY (%(k)s)",
     {"q": "bass", "lo": 90, "hi": 140, "k": ["Am", "C", "F", "G", "Em", "Dm"]}),
    ("BPM + key",
     "bpm_min => %(lo)s, bpm_max => %(hi)s, keys => %(k)s::midi.musical_key[]",
     "f.cached_bpm BETWEEN %(lo)s AND %(hi)s AND f.cached_key::text = ANY (%(k)s)",
     {"lo": 100, "hi": 140, "k": ["Am"]}),
    ("manufacturer", "manufacturer => %(m)s::text[]", "f.manufacturer = ANY (%(m)s)", {}),
    ("no filter", "", "true", {}),
]

# the documented orders (docs/sql-api.md): unknown BPM and duration last by id; relevance: the files whose
# name holds the words first, then the other matches, newest first in each
ORDERS = {
    "newest": "f.created_at DESC, f.id DESC",
    "bpm": "f.cached_bpm IS NULL, f.cached_bpm, f.id",
    "duration": "f.duration_seconds IS NULL, f.duration_seconds, f.id",
    "name": "f.filename, f.id",
    "relevance": "midi.name_tsvector(f.filename) @@ midi.parse_query(%(q)s) DESC, f.created_at DESC, f.id DESC",
}


@pytest.fixture(scope="module")
def library(postgresql_proc) -> Any:
    """One generated library for the module (filling it is the slow part), in a migrated database of its
    own on the test server, dropped afterwards."""
    proc = postgresql_proc
    admin = conninfo.make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname="postgres",
                                   password=proc.password or None)
    with throwaway_database(admin, "sort_pages") as dsn:
        yield dsn, fill(dsn, N_FILES, log=lambda s: None)


def _walk(conn: psycopg.Connection, args: str, sort: str, params: dict[str, Any], lim: int) -> list[int]:
    call = f"SELECT id, cursor FROM midi.search({args + ', ' if args else ''}sort => %(sort)s, lim => %(lim)s, after => %(after)s)"
    ids: list[int] = []
    after = None
    for _ in range(10_000):
        rows = conn.execute(call, {**params, "sort": sort, "lim": lim, "after": after}).fetchall()
        ids += [r[0] for r in rows]
        if len(rows) < lim:
            return ids
        after = rows[-1][1]
    raise AssertionError("the walk never ended")


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("shape", [s[0] for s in SHAPES])
def test_every_sort_pages_exactly(library: Any, shape: str, sort: str) -> None:
    dsn, lib = library
    _, args, where, params = next(s for s in SHAPES if s[0] == shape)
    if shape == "manufacturer":
        params = {"m": lib.makers[:2]}
    # relevance without a text query is newest (docs/sql-api.md)
    order = ORDERS["newest" if sort == "relevance" and "q" not in params else sort]
    with psycopg.connect(dsn, autocommit=True) as conn:
        expected = [r[0] for r in conn.execute(f"SELECT f.id FROM midi.files f WHERE {where} ORDER BY {order}", params)]
        # a page size where the result spans many pages (at least 8), and the largest page size
        small = max(10, min(50, len(expected) // 8))
        for lim in (small, 500):
            got = _walk(conn, args, sort, params, lim)
            assert len(got) == len(set(got)), f"{shape} / {sort} / lim {lim}: a row came twice"
            assert set(got) == set(expected), (f"{shape} / {sort} / lim {lim}: "
                                               f"{len(set(expected) - set(got))} missing, {len(set(got) - set(expected))} extra")
            assert got == expected, f"{shape} / {sort} / lim {lim}: same rows, another order"
    assert len(expected) >= 8 * small, f"{shape}: {len(expected)} matches do not span many pages"
