"""The library views after a run (runner/views.py): an import refreshes all of them, an analysis only those
whose inputs it changes, and what they hold then is what their definitions compute."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from runner import analyzer, importer, views
from runner.bench import library
from tests import corpus

VIEWS = "SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'm' ORDER BY 1"


@pytest.fixture(scope="session")
def folder() -> Path:
    """One folder (about a thousand files) of the 12,000-file generated library other tests use."""
    lib = library.generate(corpus.default_cache_dir() / "libs", 12_000, seed=3)
    return sorted(p for p in lib.iterdir() if p.is_dir())[0]


def stale(conn: psycopg.Connection) -> list[str]:
    """The views whose rows differ from what their definition computes now (library_stats without its
    refreshed_at stamp)."""
    out = []
    for (view,) in conn.execute(VIEWS).fetchall():
        definition = conn.execute("SELECT pg_get_viewdef(%s::regclass)", [f"midi.{view}"]).fetchone()[0]
        cols = [r[0] for r in conn.execute(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND attname <> 'refreshed_at' ORDER BY attnum", [f"midi.{view}"])]
        collist = ", ".join(f'"{c}"' for c in cols)
        live = f"SELECT {collist} FROM ({definition.rstrip().rstrip(';')}) d"
        stored = f"SELECT {collist} FROM midi.{view}"
        diff = conn.execute(f"SELECT count(*) FROM (({live} EXCEPT ALL {stored}) UNION ALL ({stored} EXCEPT ALL {live})) x")
        if diff.fetchone()[0]:
            out.append(view)
    return out


def test_views_match_their_definitions_after_import_and_analysis(dsn: str, folder: Path) -> None:
    importer.run_import(dsn, [folder])
    with psycopg.connect(dsn) as conn:
        assert stale(conn) == []
    result = analyzer.run_analysis(dsn, workers=2)
    assert result.analyzed > 500
    with psycopg.connect(dsn) as conn:
        assert stale(conn) == []
        assert conn.execute("SELECT count(*) FROM midi.key_counts").fetchone()[0] > 3  # analysis found keys


def test_analysis_refreshes_only_the_views_it_changes(dsn: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change analysis cannot make (a manufacturer renamed by hand) stays out of manufacturer_counts after an
    analysis, and shows after a full refresh; the views analysis changes are current."""
    importer.run_import(dsn, [folder])
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE midi.files SET manufacturer = 'Renamed By Hand' "
                     "WHERE id = (SELECT min(id) FROM midi.files WHERE manufacturer IS NOT NULL)")
    analyzer.run_analysis(dsn, workers=2)
    with psycopg.connect(dsn) as conn:
        assert set(stale(conn)) == {"manufacturer_counts", "collection_counts"}
    monkeypatch.setattr(views, "TWO_SESSIONS_FROM", 0)  # the large library's way: two sessions at once
    assert set(views.refresh(dsn)) == set(views.ALL_VIEWS)
    with psycopg.connect(dsn) as conn:
        assert stale(conn) == []
        assert conn.execute("SELECT files FROM midi.manufacturer_counts WHERE manufacturer = 'Renamed By Hand'"
                            ).fetchone() == (1,)


def test_every_view_is_known_and_unknown_names_are_refused(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        assert sorted(views.ALL_VIEWS) == [r[0] for r in conn.execute(VIEWS)]
        refreshed = conn.execute("SELECT midi.refresh_views()").fetchone()[0]
    assert refreshed == len(views.ALL_VIEWS)
    assert set(views.ANALYSIS_VIEWS) < set(views.ALL_VIEWS)
    with pytest.raises(ValueError, match="not a library view"):
        views.refresh(dsn, ["files"])
