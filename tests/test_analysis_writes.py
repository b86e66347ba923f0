"""What an analysis writes per file (issue 15, a leaner apply): one files update, no file_tags row for what the
file's own facts say (those tags are computed into files.tag_ids), counted by the server's own statistics."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from runner import analyzer, importer
from runner.bench import library
from tests import corpus

WRITES = """SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
             WHERE schemaname = 'midi' AND relname IN ('files', 'file_tags', 'musical_metadata', 'file_categories')"""


@pytest.fixture(scope="session")
def folder() -> Path:
    lib = library.generate(corpus.default_cache_dir() / "libs", 12_000, seed=3)
    return sorted(p for p in lib.iterdir() if p.is_dir())[0]


def writes(dsn: str) -> dict[str, tuple[int, int, int]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return {r[0]: r[1:] for r in conn.execute(WRITES)}


def settled(dsn: str) -> dict[str, tuple[int, int, int]]:
    """The counts once every closed session has reported them (a session reports when it ends)."""
    last = writes(dsn)
    for _ in range(50):
        time.sleep(0.2)
        now = writes(dsn)
        if now == last:
            return now
        last = now
    return last


def test_analysis_updates_each_file_once_and_stores_no_derived_tag(dsn: str, folder: Path) -> None:
    importer.run_import(dsn, [folder])
    before = settled(dsn)
    result = analyzer.run_analysis(dsn, workers=2)
    after = settled(dsn)
    delta = {t: tuple(a - b for a, b in zip(after[t], before[t], strict=True)) for t in after}
    assert result.analyzed > 500 and result.errors == 0, result
    assert delta["files"] == (0, result.analyzed, 0), delta  # one UPDATE of each analyzed file, nothing else
    assert delta["file_tags"] == (0, 0, 0), delta  # derived tags are computed, not rows
    with psycopg.connect(dsn) as conn:
        tagged = conn.execute("SELECT count(*) FROM midi.files WHERE cardinality(tag_ids) > 0").fetchone()[0]
    assert tagged > result.analyzed // 2  # ... and the files have them
