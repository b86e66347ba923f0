"""The bulk-load path (runner/bulk.py, db/functions/25_bulk_load.sql): a large import or analysis drops the
search-only indexes and builds them at its end; readers keep working meanwhile; a run killed while the indexes
are missing leaves a library that answers every canonical call the same, and the next run (or `db migrate`)
builds them again, never while a live run holds them."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from runner import analyzer, bulk, canonical, importer, schema
from runner.bench import library
from tests import corpus

INDEXES = """SELECT c.relname::text, pg_get_indexdef(c.oid), obj_description(c.oid, 'pg_class'), i.indisvalid
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'i' ORDER BY 1"""
MISSING = "SELECT count(*) FROM midi.deferred_indexes d WHERE to_regclass('midi.' || quote_ident(d.name)) IS NULL"


@pytest.fixture(scope="session")
def generated() -> Path:
    """The 12,000-file generated library tests/test_import.py uses (built once, cached)."""
    return library.generate(corpus.default_cache_dir() / "libs", 12_000, seed=3)


def indexes(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(INDEXES).fetchall()


def deferrable(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM midi.deferrable_indexes()")]


def answers(dsn: str) -> list[list[tuple]]:
    """Every canonical call's rows, with fixed parameters drawn from the library."""
    with psycopg.connect(dsn) as conn:
        max_id = conn.execute("SELECT max(id) FROM midi.files").fetchone()[0] or 1
        out = []
        for shape in canonical.shapes(canonical.Sample(max_id=max_id)):
            r = random.Random(shape.name)
            for _ in range(2):
                out.append(conn.execute(shape.ours, shape.params(r)).fetchall())
        return out


def test_a_large_import_and_analysis_rebuild_the_indexes_they_drop(dsn: str, generated: Path) -> None:
    """An empty library growing by 12,000 files takes the bulk path: the deferrable indexes are dropped and
    built again, identical (definition and comment); readers run every canonical call without an error all
    the while; the analysis of the whole library does the same."""
    before = indexes(dsn)
    expected = deferrable(dsn)
    assert len(expected) >= 4, expected
    stop = threading.Event()
    reads: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                answers(dsn)
                reads.append(1)
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            errors.append(exc)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        result = importer.run_import(dsn, [generated])
        analysis = analyzer.run_analysis(dsn, workers=2)
    finally:
        stop.set()
        t.join(120)
    assert not errors, errors[0]
    assert len(reads) >= 3, "the reader must have run while the library loaded"
    assert result.bulk is not None and result.bulk["indexes_dropped"] == len(expected), result.bulk
    assert result.bulk["indexes_built"] == len(expected)
    with psycopg.connect(dsn) as conn:
        left = conn.execute("SELECT count(*) FROM midi.files WHERE analyzed_at IS NULL").fetchone()[0]
    assert result.files_new > 5000  # past the switch point
    assert (analysis.analyzed + analysis.errors, left) == (result.files_new, 0), analysis  # every file, once
    assert analysis.bulk is not None, analysis
    assert analysis.bulk["indexes_dropped"] == analysis.bulk["indexes_built"] == len(expected)
    assert indexes(dsn) == before
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM midi.deferred_indexes").fetchone()[0] == 0


def test_a_small_run_keeps_its_indexes(dsn: str, generated: Path) -> None:
    """An import of fewer files than the switch point maintains the indexes row by row (no bulk path)."""
    folder = sorted(p for p in generated.iterdir() if p.is_dir())[0]
    result = importer.run_import(dsn, [folder])
    assert 0 < result.files_new < bulk.IMPORT_MIN_FILES
    assert result.bulk is None


def test_a_killed_bulk_import_answers_the_same_and_the_next_run_repairs_it(dsn: str, generated: Path) -> None:
    before = indexes(dsn)
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", str(generated)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline and proc.poll() is None:  # kill once the indexes are gone
            if conn.execute(MISSING).fetchone()[0] > 0:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL, "the kill must land while the indexes are dropped"
        # the dead client's server sessions finish the statement they are in (a DROP INDEX) before they
        # notice it is gone: count what is missing once they have ended
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = %s", [bulk.APPLICATION_NAME]).fetchone()[0]:
            assert time.monotonic() < deadline + 30, "the killed import's sessions never ended"
            time.sleep(0.01)
        missing = conn.execute(MISSING).fetchone()[0]
        assert missing > 0

    broken = answers(dsn)  # every call answers without the search indexes

    # A live run holding the bulk lock keeps its deferred indexes: repair leaves them alone.
    with psycopg.connect(dsn, autocommit=True) as live:
        live.execute("SELECT pg_advisory_lock(midi.bulk_lock_key())")
        assert bulk.repair(dsn) == []
        with psycopg.connect(dsn) as conn:
            assert conn.execute(MISSING).fetchone()[0] == missing

    schema.migrate(dsn)  # `midicenter db migrate` builds what the dead run left
    assert indexes(dsn) == before
    assert answers(dsn) == broken
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM midi.deferred_indexes").fetchone()[0] == 0


def test_the_next_import_builds_what_a_killed_run_left(dsn: str, generated: Path) -> None:
    """Indexes recorded and dropped by a run that died are built by the next import, even a small one."""
    before = indexes(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT * FROM midi.defer_indexes('import')")]
        assert names
        for name in names:
            conn.execute(f'DROP INDEX midi."{name}"')
    folder = sorted(p for p in generated.iterdir() if p.is_dir())[0]
    result = importer.run_import(dsn, [folder])
    assert result.bulk is not None and result.bulk["indexes_built"] == len(names)
    assert indexes(dsn) == before


def test_an_index_left_invalid_by_a_killed_concurrent_drop_is_built_again(dsn: str) -> None:
    """DROP INDEX CONCURRENTLY killed half-way leaves the index invalid: restore_index drops and builds it."""
    before = indexes(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        name = conn.execute("SELECT name FROM midi.defer_indexes('analysis') LIMIT 1").fetchone()[0]
        conn.execute(f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'midi.\"{name}\"'::regclass")
        assert conn.execute("SELECT midi.restore_index(%s)", [name]).fetchone()[0] == "built"
        assert conn.execute("SELECT midi.restore_index(%s)", [name]).fetchone()[0] == "busy"  # nothing left to do
        assert conn.execute("SELECT count(*) FROM midi.deferred_indexes").fetchone()[0] > 0  # the others: present
        left = [r[0] for r in conn.execute("SELECT name FROM midi.deferred_indexes")]
        assert {conn.execute("SELECT midi.restore_index(%s)", [n]).fetchone()[0] for n in left} == {"present"}
    assert indexes(dsn) == before
