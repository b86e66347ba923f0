"""Every query printed in the seed documents that touches midicenter's tables runs unchanged with
search_path = midi (the contract keeps the seed column names for exactly this), and returns the rows the
ten-file library of db/tests/fixtures/search_library.sql holds: the expected rows below are read off that
fixture's table by hand, not computed by another query."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from runner.queries import load
from runner.schema import pgtap_dir

SEED = load(Path(__file__).with_name("seed_queries.sql"))
FIXTURE = pgtap_dir() / "fixtures" / "search_library.sql"
HOUR = datetime(2024, 3, 1, tzinfo=UTC)


def test_all_seed_queries_are_listed() -> None:
    """Twelve queries, each run below against the fixture (a new one needs a test of its rows)."""
    assert len(SEED) == 12


@pytest.fixture
def library(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        conn.execute(FIXTURE.read_text())
    return dsn


def run(dsn: str, name: str, *params) -> list[tuple]:
    """The seed query as printed ($1 placeholders), prepared and executed with these parameters."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path = midi")
        conn.execute(f"PREPARE seed_q AS {SEED[name]}")
        cur = psycopg.ClientCursor(conn)  # literal parameters in EXECUTE, typed by the prepared statement
        cur.execute(f"EXECUTE seed_q{'(' + ', '.join(['%s'] * len(params)) + ')' if params else ''}", params)
        rows = cur.fetchall()
        conn.commit()
        return rows


def path(maker: str | None, name: str) -> str:
    return f"/lib/{maker + '/' if maker else ''}{name}"


def test_seed_search_primary_filters_and_orders(library: str) -> None:
    # Loopforge files with 100 <= bpm <= 130 (1: 124, 2: 130, 8: 128; 10 has no tempo), newest first
    rows = run(library, "search_primary", None, 100, 130, None, "Loopforge", None, 10, 0)
    assert [r[0] for r in rows] == [8, 2, 1]
    assert rows[0][1:] == ("Melody_Topline_128_F.mid", path("Loopforge", "Melody_Topline_128_F.mid"), 1008,
                           HOUR.replace(hour=17), "Loopforge", "Deep Grooves", 128.0, "F", None)
    # key Am: files 1 and 9; collection narrows to 9; OFFSET pages
    assert [r[0] for r in run(library, "search_primary", None, None, None, "Am", None, None, 10, 0)] == [9, 1]
    assert [r[0] for r in run(library, "search_primary", None, None, None, "Am", None, "Lofi Keys", 10, 0)] == [9]
    assert [r[0] for r in run(library, "search_primary", None, None, None, "Am", None, None, 10, 1)] == [1]


def test_seed_search_primary_text_ranks_the_name_first(library: str) -> None:
    # "bass" is in the name of 1, in the manufacturer of 5 and 6, a folder of 9, an instrument of 10
    rows = run(library, "search_primary", "bass", None, None, None, None, None, 10, 0)
    assert rows[0][0] == 1
    assert sorted(r[0] for r in rows) == [1, 5, 6, 9, 10]


def test_seed_duplicate_check(library: str) -> None:
    with psycopg.connect(library) as conn:
        three = conn.execute("SELECT sha256(int8send(3::bigint))").fetchone()[0]
    assert run(library, "duplicate_check", three) == [(1,)]
    assert run(library, "duplicate_check", b"\0" * 32) == [(0,)]


def test_seed_single_insert_returns_the_new_id(library: str) -> None:
    rows = run(library, "single_insert", "New_Loop_120bpm.mid", "/lib/New/New_Loop_120bpm.mid", "New_Loop_120bpm.mid",
               b"\1" * 32, 321, 1, 2, 480, 8.0, 7680, "New", None, ["loops"], None)
    assert rows == [(101,)]  # the fixture moved the id sequence to 100
    got = run(library, "single_lookup", 101)
    assert got == [(101, "/lib/New/New_Loop_120bpm.mid", "New_Loop_120bpm.mid")]


def test_seed_lookups(library: str) -> None:
    assert run(library, "single_lookup", 3) == [(3, path("Chord Club", "Chill_Chords_90bpm_C.mid"),
                                                 "Chill_Chords_90bpm_C.mid")]
    assert run(library, "single_lookup", 99) == []
    assert run(library, "batch_track_loading", [9, 2, 99]) == [
        (2, path("Loopforge", "Techno_Kick_130.mid"), "Techno_Kick_130.mid"),
        (9, path("Chord Club", "Waltz_Keys.mid"), "Waltz_Keys.mid")]
    assert run(library, "find_by_id_essential", 5) == [
        (5, "Sub_Line_62bpm_G.mid", path("Bass Boutique", "Sub_Line_62bpm_G.mid"), 1005)]
    assert run(library, "find_for_analysis", 7) == [(7, path(None, "Groove_01.mid"), "Groove_01.mid", 2, 4.0)]


def test_seed_file_details(library: str) -> None:
    assert run(library, "file_details", 3) == [
        (3, "Chill_Chords_90bpm_C.mid", path("Chord Club", "Chill_Chords_90bpm_C.mid"), 1003, "Chord Club",
         "Lofi Keys", 90.0, "C", 4, 4, 120, False, "chords", True)]
    # not analyzed: no metadata, no category, not a favorite
    assert run(library, "file_details", 6) == [
        (6, "Pad_Atmos_Dm.mid", path("Bass Boutique", "Pad_Atmos_Dm.mid"), 1006, "Bass Boutique", "Low End",
         None, None, None, None, None, None, None, False)]


def test_seed_analysis_page(library: str) -> None:
    # the fixture writes facts straight into the tables, so no file carries analyzed_at
    assert sorted(r[0] for r in run(library, "analysis_page", 100, 0)) == list(range(1, 11))
    assert len(run(library, "analysis_page", 4, 8)) == 2


def test_seed_tag_counts_before_and_after(library: str) -> None:
    # tags: 1 warm; 3 warm, lofi; 6 cinematic; 8 Warm (the same tag as warm)
    want = {i: 0 for i in range(1, 11)} | {1: 1, 3: 2, 6: 1, 8: 1}
    for name in ("tag_count_before", "tag_count_after"):
        rows = run(library, name)
        assert {r[0]: r[2] for r in rows} == want, name
        assert all(r[1] for r in rows), name


def test_seed_count_files(library: str) -> None:
    assert run(library, "count_files") == [(10,)]

