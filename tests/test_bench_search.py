"""`midicenter bench search`: the seed query it times is the one printed in the seed documents, and a
small run fills, times every shape, runs pgbench and drops its database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner

from runner import canonical
from runner.cli import cli
from runner.queries import load

SEED = load(Path(__file__).with_name("seed_queries.sql"))


def test_the_seed_search_is_the_printed_query() -> None:
    assert SEED["search_primary"] == canonical.SEED_SEARCH
    assert SEED["file_details"] == canonical.SEED_DETAILS
    assert SEED["batch_track_loading"] == canonical.SEED_LOAD
    assert canonical.SEED_COUNT.startswith("SELECT COUNT(*)\nFROM files f\nLEFT JOIN musical_metadata mm")
    assert "ORDER BY" not in canonical.SEED_COUNT and "LIMIT" not in canonical.SEED_COUNT


def test_placeholders_reach_the_server_as_printed() -> None:
    assert canonical.dollar_to_named("a = $1 OR $1 IS NULL LIMIT $7") == "a = %(p1)s OR %(p1)s IS NULL LIMIT %(p7)s"


def test_small_run_end_to_end(dsn: str) -> None:
    before = _databases(dsn)
    result = CliRunner().invoke(cli, ["--dsn", dsn, "bench", "search", "--files", "3000", "--repeat", "10",
                                      "--runs", "1", "--clients", "2", "--seconds", "1", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["files"] == 3000 and out["library"]["files"] == 3000
    names = [s["shape"] for s in out["shapes"]]
    for shape in ("text, rare word", "text, broad word 'bass'", "text + BPM + key", "filters: BPM + key + manufacturer",
                  "tags (all of two)", "facets, no filter", "facets, BPM + key", "count, broad word", "file details",
                  "load_tracks of 10", "newest page", "page 100 of 'bass' (keyset)"):
        assert shape in names
    assert all(s["p50"] <= s["p95"] <= s["p99"] for s in out["shapes"])
    assert all("seed_p95" in s for s in out["shapes"] if s["shape"] in ("text, broad word 'bass'", "file details"))
    assert out["concurrency"]["ours"]["qps"] > 0 and out["concurrency"]["seed"]["qps"] > 0
    # both protocols: every shape has the simple protocol's figures too, and pgbench ran in each
    assert out["protocols"] == ["prepared", "simple"]
    assert all(s["simple_p95"] > 0 for s in out["shapes"])
    assert out["concurrency"]["ours_simple"]["protocol"] == "simple" and out["concurrency"]["ours_simple"]["qps"] > 0
    # every search filter shape in every sort order, at 50 and 500 rows, pages 1 and 10
    timed = {(r["shape"], r["sort"], r["lim"], r["page"]) for r in out["sorts"]}
    for shape in ("text, broad word 'bass'", "text + BPM + key", "filters: BPM + key + manufacturer", "newest page"):
        sorts = canonical.SORTS if shape.startswith("text") else [s for s in canonical.SORTS if s != "relevance"]
        for sort in sorts:
            for lim in canonical.PAGE_SIZES:
                assert {(shape, sort, lim, 1), (shape, sort, lim, 10)} <= timed, (shape, sort, lim)
    # the whole library by name: 3,000 files are 60 pages of 50 (page 10 timed) but 6 pages of 500 (none timed)
    by_name = {(r["lim"], r["page"]): r for r in out["sorts"] if r["shape"] == "newest page" and r["sort"] == "name"}
    assert by_name[(50, 10)]["p95"] > 0 and by_name[(500, 1)]["p95"] > 0
    assert by_name[(500, 10)]["reached"] == 0 and "p95" not in by_name[(500, 10)]
    # the SQLite FTS5 copy: both sides of each question, side by side
    lite = out["sqlite"]
    assert len(lite["shapes"]) == 5 and lite["bytes"] > 0
    assert all(r["p95"] > 0 and r["sqlite_p95"] > 0 and r["ratio_p95"] > 0 for r in lite["shapes"])
    assert _databases(dsn) == before, "the bench database is dropped"


def _databases(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'midicenter_bench_search_%'")}
