"""Every finding's advice, applied, removes the finding: for each kind the report can make, a test makes the
problem for real on a scratch database (or a scratch server, for settings that need a restart), takes a
report, applies exactly the SQL or the midicenter command the finding prints, takes another report and
checks the finding is gone and no new kind of finding came with it. A kind whose advice cannot be shown
to work that way says so in the finding (``untested``), and a test checks that it does.

Times are not judged here (the p95 check is off): these tests look at the advice, not at this machine's
load."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo
from pytest_postgresql import factories

from runner import importer, schema
from runner.bench import library
from runner.profile import checks, loadtest
from runner.profile import report as profile
from runner.profile.calls import Canonical
from tests import corpus
from tests.conftest import WRAPPER
from tests.test_profile import VALIDATOR, kinds, pss_proc, small_cache_library, small_cache_proc  # noqa: F401 - pss_proc and small_cache_proc are fixtures

# a server this file may reconfigure and restart (ALTER SYSTEM changes the whole server)
restartable_proc = factories.postgresql_proc(executable=str(WRAPPER), port=None,
                                             postgres_options="-c fsync=off -c synchronous_commit=off")

COVERED: dict[str, str] = {}
"""finding kind -> the test that applies its advice (or, for UNTESTED kinds, checks it says so)."""
UNTESTED = {"cache_hit", "api_slow", "api_failed", "connections_full", "load_errors", "load_slow"}
"""Kinds whose advice cannot be applied on a scratch database: the finding says why."""


def covers(*names: str) -> Callable:
    def mark(fn: Callable) -> Callable:
        for n in names:
            COVERED[n] = fn.__name__
        return fn
    return mark


def quiet(**levels: object) -> checks.Thresholds:
    """Thresholds with the times and the cache hit ratio unjudged (this machine's load and a restarted
    server's cold cache are not what these tests look at), plus the given warning levels."""
    th = checks.Thresholds()
    for name in ("p95", "cache_hit"):
        th.set("warning", name, "off")
        th.set("critical", name, "off")
    for name, value in levels.items():
        th.set("warning", name, value)
    return th


def report(dsn: str, thresholds: checks.Thresholds | None = None, **kw: object) -> dict:
    kw = {"runs": 3, "rounds": 1, "warmup": 1, "seed": False, **kw}
    r = profile.run(dsn, thresholds=thresholds or quiet(), **kw)
    errors = sorted(VALIDATOR.iter_errors(r), key=lambda e: e.json_path)
    assert not errors, [f"{e.json_path}: {e.message[:200]}" for e in errors[:5]]
    return r


def finding(r: dict, kind: str) -> dict:
    found = [f for f in r["summary"]["findings"] if f["kind"] == kind]
    assert found, f"no {kind} finding; found: {sorted(kinds(r))}"
    return found[0]


def apply(f: dict, dsn: str, restart: Callable[[], None] | None = None) -> None:
    """Apply a finding's advice as printed: each SQL line (one statement a line, comments skipped; a line
    that says "then restart the server" restarts it, one that says pg_reload_conf reloads), then its
    command."""
    for line in (f["sql"] or "").splitlines():
        stmt, note = _code_and_comment(line)
        if stmt.strip():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(stmt.strip().rstrip(";"))
                if "pg_reload_conf" in note:
                    conn.execute("SELECT pg_reload_conf()")
        if "restart the server" in note:
            assert restart is not None, f"{line!r} needs a server restart"
            restart()
    if f["command"]:
        args = shlex.split(f["command"])
        assert args[0] == "midicenter", f["command"]
        run = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", dsn, *args[1:]],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr


def _code_and_comment(line: str) -> tuple[str, str]:
    """A line of SQL split at its trailing -- comment (a -- inside a quoted string is text)."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == "'":
            quoted = not quoted
        elif not quoted and line.startswith("--", i):
            return line[:i], line[i + 2:]
    return line, ""


def advice_removes(dsn: str, kind: str, *, admin: str | None = None, restart: Callable[[], None] | None = None,
                   **kw: object) -> dict:
    """Report, apply the ``kind`` finding's advice (as ``admin`` when given), report again: the finding is
    gone and no new kind of finding appeared. Returns the finding."""
    before = report(dsn, **kw)
    f = finding(before, kind)
    assert f["untested"] is None, f
    assert f["sql"] or f["command"], f
    apply(f, admin or dsn, restart)
    after = report(dsn, **kw)
    assert kind not in kinds(after), finding(after, kind)
    assert kinds(after) <= kinds(before), ("new findings after the advice: "
                                           + "; ".join(f"{x['kind']}: {x['title']}" for x in after["summary"]["findings"]
                                                       if x["kind"] not in kinds(before)))
    return f


def wait_for(dsn: str, query: str, params: object = None, timeout: float = 30.0) -> None:
    """Poll a query until it returns true (pending statistics are flushed within a second or so)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET stats_fetch_consistency = none")
        while not conn.execute(query, params).fetchone()[0]:
            assert time.monotonic() < deadline, f"timed out waiting for: {query}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def small_library() -> Path:
    return library.generate(corpus.default_cache_dir() / "libs", 500, seed=7)


@pytest.fixture
def filled(dsn: str, small_library: Path) -> str:
    importer.run_import(dsn, [small_library])
    return dsn


# ------------------------------------------------------------------------------------------ coverage


def test_every_kind_of_finding_has_its_advice_tested_or_says_why_not() -> None:
    tested = set(COVERED) - UNTESTED
    assert set(COVERED) == set(profile.FINDING_KINDS), (
        f"no test for: {sorted(set(profile.FINDING_KINDS) - set(COVERED))}; "
        f"unknown: {sorted(set(COVERED) - set(profile.FINDING_KINDS))}")
    assert tested | UNTESTED == set(profile.FINDING_KINDS)
    with pytest.raises(ValueError, match="not in FINDING_KINDS"):
        profile.Finding("made_up", "database", "info", 1, "t", "a")


# ------------------------------------------------------------------------------------------ database


@covers("dead_tuples")
def test_vacuum_removes_dead_rows(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("ALTER TABLE midi.tags SET (autovacuum_enabled = off)")
        conn.execute("INSERT INTO midi.tags (name) SELECT 'row ' || i FROM generate_series(1, 6000) i")
        conn.execute("DELETE FROM midi.tags WHERE name LIKE 'row %' AND right(name, 1) <> '0'")  # 5,400 of 6,000
    wait_for(filled, "SELECT n_dead_tup >= 5400 FROM pg_stat_user_tables WHERE relid = 'midi.tags'::regclass")
    f = advice_removes(filled, "dead_tuples")
    assert f["sql"] == "VACUUM (ANALYZE) midi.tags;" and f["severity"] == "critical"


@covers("stale_statistics")
def test_analyze_removes_stale_statistics(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("ALTER TABLE midi.tags SET (autovacuum_enabled = off)")
        conn.execute("INSERT INTO midi.tags (name) SELECT 'fresh ' || i FROM generate_series(1, 5000) i")
    wait_for(filled, "SELECT n_mod_since_analyze >= 5000 FROM pg_stat_user_tables WHERE relid = 'midi.tags'::regclass")
    f = advice_removes(filled, "stale_statistics")
    assert f["sql"] == "ANALYZE midi.tags;"


@covers("view_unpopulated")
def test_refresh_populates_a_view(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("REFRESH MATERIALIZED VIEW midi.tag_counts WITH NO DATA")
    f = advice_removes(filled, "view_unpopulated")
    assert f["sql"] == "REFRESH MATERIALIZED VIEW midi.tag_counts;"


@covers("migrations_pending")
def test_migrate_applies_pending_migrations(filled: str) -> None:
    newest = schema.status(filled)[-1].id
    schema.rollback(filled, count=1)
    f = advice_removes(filled, "migrations_pending")
    assert f["command"] == "midicenter db migrate" and newest in f["title"]


@covers("no_schema")
def test_migrate_creates_the_schema(server_dsn) -> None:
    f = advice_removes(server_dsn(), "no_schema")
    assert f["command"] == "midicenter db migrate"


# ------------------------------------------------------------------------------- imports and views


@covers("views_stale")
def test_refresh_views_catches_up_with_the_catalog(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        file_id = conn.execute("SELECT min(id) FROM midi.files").fetchone()[0]
        conn.execute("SELECT midi.tag(%s, 'tagged after the refresh')", [file_id])  # a user's tag, no refresh
    f = advice_removes(filled, "views_stale", thresholds=quiet(views_age=0.000001))
    assert f["sql"] == "SELECT midi.refresh_views();"


def kill_an_import(dsn: str, lib: Path) -> int:
    """Start `midicenter import` in its own process and SIGKILL it once its batch is open; wait until the
    server has let go of its sessions (and so of the batch's lock). Returns the batch id."""
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", "--quiet", str(lib)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            while True:
                row = conn.execute("SELECT id FROM midi.import_batches WHERE status = 'running' AND midi.import_alive(id)"
                                   ).fetchone()
                if row:
                    break
                assert proc.poll() is None, "the import ended before it could be killed"
                assert time.monotonic() < deadline, "no running import batch appeared"
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        batch = row[0]
        while conn.execute("SELECT midi.import_alive(%s) OR EXISTS (SELECT 1 FROM pg_stat_activity "
                           "WHERE datname = current_database() AND application_name <> 'midicenter-profile' "
                           "AND pid <> pg_backend_pid() AND state = 'active')", [batch]).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed import's sessions stayed"
            time.sleep(0.05)
    return batch


@pytest.fixture(scope="module")
def slow_library() -> Path:
    """A library whose import takes long enough to be killed in the middle."""
    return library.generate(corpus.default_cache_dir() / "libs", 5000, seed=42)


@covers("stale_import")
def test_importing_again_settles_a_killed_import(dsn: str, slow_library: Path) -> None:
    batch = kill_an_import(dsn, slow_library)
    f = advice_removes(dsn, "stale_import")
    assert f["command"] == f"midicenter import {shlex.quote(str(slow_library))}"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT status FROM midi.import_batches WHERE id = %s", [batch]).fetchone()[0] == "interrupted"


@covers("import_interrupted")
def test_importing_again_completes_an_interrupted_import(dsn: str, slow_library: Path) -> None:
    batch = kill_an_import(dsn, slow_library)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT * FROM midi.import_mark_interrupted()").fetchall() == [(batch,)]
    f = advice_removes(dsn, "import_interrupted")
    assert f["command"] == f"midicenter import {shlex.quote(str(slow_library))}" and f["severity"] == "info"


# ------------------------------------------------------------------------------------------- indexes


@covers("invalid_index")
def test_dropping_an_invalid_index_and_rebuilding_a_shipped_one(filled: str) -> None:
    """Both ways production gets one: a concurrent unique build that fails on duplicate data (not ours:
    dropped), and a concurrent build of one of midicenter's own cancelled while it waited for an old
    transaction (dropped and rebuilt)."""
    with psycopg.connect(filled, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY planted_invalid ON midi.files (manufacturer)")
        conn.execute("DROP INDEX midi.idx_files_name")
        with psycopg.connect(filled) as old:
            old.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            old.execute("SELECT 1").fetchone()  # an open transaction with a snapshot: the build waits for it
            conn.execute("SET statement_timeout = '1s'")
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("CREATE INDEX CONCURRENTLY idx_files_name ON midi.files (filename, id)")
        assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid IN "
                            "('midi.planted_invalid'::regclass, 'midi.idx_files_name'::regclass)").fetchone()[0] == 2
    f = advice_removes(filled, "invalid_index")
    assert f["severity"] == "critical"
    assert "DROP INDEX CONCURRENTLY midi.planted_invalid;" in f["sql"]
    assert "-- CREATE UNIQUE INDEX CONCURRENTLY planted_invalid ON midi.files" in f["sql"]  # only as a note
    assert "CREATE INDEX CONCURRENTLY idx_files_name ON midi.files (filename, id);" in f["sql"]
    with psycopg.connect(filled) as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'midi.idx_files_name'::regclass"
                            ).fetchone()[0]
        assert conn.execute("SELECT to_regclass('midi.planted_invalid')").fetchone()[0] is None


@covers("missing_index")
def test_creating_a_missing_shipped_index(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("DROP INDEX midi.idx_files_search")
        conn.execute("DROP INDEX midi.idx_files_filename_trgm")  # built in a DO block with pg_trgm's schema
    f = advice_removes(filled, "missing_index")
    assert "CREATE INDEX CONCURRENTLY idx_files_search ON midi.files USING gin (search_vector);" in f["sql"]
    assert "CREATE INDEX CONCURRENTLY idx_files_filename_trgm ON midi.files USING gin (filename midi.gin_trgm_ops);" in f["sql"]


@covers("duplicate_index")
def test_dropping_a_duplicate_keeps_the_schemas_own(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE INDEX a_planted_copy ON midi.files (created_at DESC, id DESC)")
    f = advice_removes(filled, "duplicate_index")
    assert f["sql"] == "DROP INDEX CONCURRENTLY midi.a_planted_copy;"


@covers("redundant_index")
def test_dropping_a_redundant_prefix(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE INDEX planted_prefix ON midi.files (manufacturer, created_at DESC)")
    f = advice_removes(filled, "redundant_index")
    assert f["sql"] == "DROP INDEX CONCURRENTLY midi.planted_prefix;"


@covers("unused_index")
def test_dropping_an_unused_index(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE INDEX planted_unused ON midi.files (original_filename)")
    f = advice_removes(filled, "unused_index")
    assert f["sql"] == "DROP INDEX CONCURRENTLY midi.planted_unused;"


@covers("fk_unindexed")
def test_indexing_a_foreign_key_declares_the_new_index(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE TABLE midi.planted_child (id bigint PRIMARY KEY, file_id bigint REFERENCES midi.files (id))")
        conn.execute("INSERT INTO midi.planted_child SELECT id, id FROM midi.files")
        conn.execute("ANALYZE midi.planted_child")
    f = advice_removes(filled, "fk_unindexed")
    assert f["sql"] == ("CREATE INDEX CONCURRENTLY idx_planted_child_file_id ON midi.planted_child (file_id);\n"
                        "COMMENT ON INDEX midi.idx_planted_child_file_id IS 'serves: foreign key planted_child.file_id "
                        "-- a delete of a referenced row looks its referrers up';")


# --------------------------------------------------------------------------------------- API queries


@covers("api_missing")
def test_migrate_restores_a_dropped_api_function(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("DROP FUNCTION midi.facets")
    f = advice_removes(filled, "api_missing")
    assert "midi.facets" in f["title"] and f["command"] == "midicenter db migrate"


@covers("api_denied")
def test_granting_midi_reader_lets_a_role_use_the_api(filled: str) -> None:
    role = f"profile_nobody_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(filled, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        before = report(conninfo.make_conninfo(filled, user=role))
        f = finding(before, "api_denied")
        assert f["sql"] == f"GRANT midi_reader TO {role};" and f["untested"] is None
        apply(f, filled)  # as the owner
        after = report(conninfo.make_conninfo(filled, user=role))
        assert "api_denied" not in kinds(after)
    finally:
        with psycopg.connect(filled, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


BIG = 60_000


@pytest.fixture
def big(dsn: str) -> str:
    """60,000 files generated in SQL (the library of db/tests/113_explain_indexes.sql, smaller), analyzed
    and vacuumed: large enough that reading files whole instead of an index is a fault."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO midi.tags (id, name) VALUES (1, 'common'), (2, 'rare')")
        conn.execute(f"""
            INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes, manufacturer, collection_name,
                                    created_at, cached_bpm, cached_key, cached_category, tag_ids, search_vector)
            SELECT i, n.name, '/lib/' || i || '/' || n.name, sha256(int8send(i)), 1000, 'Maker ' || (i % 200),
                   'Pack ' || (i % 7), timestamptz '2024-01-01' + (i / 1000) * interval '1 hour', 60 + (i / 24) % 120,
                   (enum_range(NULL::midi.musical_key))[1 + i % 24], (enum_range(NULL::midi.file_category))[1 + i % 24],
                   CASE WHEN i % 5000 = 0 THEN '{{1,2}}'::bigint[] WHEN i % 2 = 0 THEN '{{1}}' ELSE '{{}}' END,
                   setweight(to_tsvector('midi.names', replace(n.name, '_', ' ')), 'A')
                       || setweight(to_tsvector('midi.names', 'Maker ' || (i % 200)), 'B')
              FROM generate_series(1, {BIG}) AS i
             CROSS JOIN LATERAL (
                   SELECT (ARRAY['Dark', 'Warm', 'Deep', 'Bright', 'Soft'])[1 + i % 5] || '_'
                          || (ARRAY['Bass', 'Lead', 'Pad'])[1 + i % 3] || '_'
                          || CASE WHEN i % 20000 = 0 THEN 'Zyxwort_' ELSE '' END
                          || 'Take' || (i % 97) || '.mid' AS name) n""")
        conn.execute("VACUUM (ANALYZE) midi.files")
        conn.execute("SELECT midi.refresh_views()")
    return dsn


@covers("index_not_used")
def test_switching_index_scans_back_on(big: str) -> None:
    """Index scans switched off for the database: the calls read files whole although their strategy means
    an index; the advice resets the switches where they were set."""
    db = conninfo.conninfo_to_dict(big)["dbname"]
    with psycopg.connect(big, autocommit=True) as conn:
        for name in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            conn.execute(f'ALTER DATABASE "{db}" SET {name} = off')
    f = advice_removes(big, "index_not_used")
    assert f["sql"].splitlines() == [f'ALTER DATABASE "{db}" RESET {name};'
                                     for name in ("enable_bitmapscan", "enable_indexonlyscan", "enable_indexscan")]


def test_a_large_healthy_library_has_no_index_finding(big: str) -> None:
    """60,000 files, analyzed: every canonical call reads what its strategy means (a broad word the
    newest-first index, by design; its count the table), and nothing about the calls is a finding."""
    r = report(big)
    calls = {i["name"]: i for i in r["sections"]["queries"]["items"]}
    assert {i["index_verdict"] for i in calls.values()} <= {"used", "table", "n/a"}, {
        n: (i["index_verdict"], i["verdict"]) for n, i in calls.items()}
    assert calls["text, broad word 'bass'"]["index_verdict"] == "used"
    assert "idx_files_newest" in calls["text, broad word 'bass'"]["indexes_used"]
    assert "idx_files_search" not in calls["text, broad word 'bass'"]["meant"]
    assert calls["count, broad word"]["meant"] == [None] and calls["count, broad word"]["index_verdict"] == "table"
    assert calls["text, rare word"]["meant"] == ["idx_files_search"]
    assert not {"index_not_used", "api_failed", "api_missing", "api_denied"} & kinds(r)


# -------------------------------------------------------------------------------- connections, server


def _idle_in_transaction(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, application_name="advice-test-idle")
    conn.execute("SELECT 1").fetchone()  # the transaction stays open, idle
    return conn


@covers("idle_in_transaction")
def test_terminating_an_idle_transaction(dsn: str) -> None:
    idle = _idle_in_transaction(dsn)
    try:
        time.sleep(1.2)
        f = advice_removes(dsn, "idle_in_transaction", thresholds=quiet(long_transaction=1))
        assert f["sql"] == f"SELECT pg_terminate_backend({idle.info.backend_pid});"
    finally:
        idle.close()


@covers("long_running")
def test_cancelling_a_long_statement(dsn: str) -> None:
    errors: list[BaseException] = []
    started = threading.Event()

    def sleeper() -> None:
        with psycopg.connect(dsn, autocommit=True, application_name="advice-test-sleeper") as conn:
            started.set()
            try:
                conn.execute("SELECT pg_sleep(60)")
            except psycopg.errors.QueryCanceled as exc:
                errors.append(exc)

    t = threading.Thread(target=sleeper, daemon=True)
    t.start()
    assert started.wait(10)
    time.sleep(1.5)
    f = advice_removes(dsn, "long_running", thresholds=quiet(long_transaction=1))
    assert f["sql"].startswith("SELECT pg_cancel_backend(")
    t.join(timeout=30)
    assert errors, "the statement was not cancelled"


@covers("no_statements")
def test_creating_the_extension_where_it_is_preloaded(pss_proc) -> None:  # noqa: F811 - the fixture
    admin = conninfo.make_conninfo(host=pss_proc.host, port=pss_proc.port, user=pss_proc.user, dbname="postgres")
    name = f"pss_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    f = advice_removes(conninfo.make_conninfo(admin, dbname=name), "no_statements")
    assert f["sql"] == "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"


@covers("settings")
def test_settings_and_preloading_after_a_restart(restartable_proc) -> None:
    """A server with its stock settings and no pg_stat_statements: the settings advice (ALTER SYSTEM, a
    reload, a restart for shared_buffers) and the preload advice (ALTER SYSTEM, restart, CREATE EXTENSION),
    each applied as printed."""
    proc = restartable_proc
    dsn = conninfo.make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname="postgres")

    def restart() -> None:
        proc.stop()
        proc.start()
        deadline = time.monotonic() + 60
        while True:  # the embedded server's pg_ctl may return before it accepts connections
            try:
                psycopg.connect(dsn, connect_timeout=5).close()
                return
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the server did not come back"
                time.sleep(0.2)

    memory = 4 * 1024 ** 3
    f = advice_removes(dsn, "settings", restart=restart, server_memory=memory)
    assert "ALTER SYSTEM SET shared_buffers = '1GB';  -- then restart the server" in f["sql"].splitlines()
    f = advice_removes(dsn, "no_statements", restart=restart, server_memory=memory)
    assert "then restart the server" in f["sql"] and f["sql"].endswith("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")


# ----------------------------------------------------------------- findings whose advice says it cannot be


def _untested(r: dict, kind: str) -> dict:
    f = finding(r, kind)
    assert f["untested"] and len(f["untested"]) > 20, f
    return f


@covers("connections_full", "api_slow")
def test_findings_that_need_more_than_sql_say_so(filled: str) -> None:
    th = checks.Thresholds()
    th.set("warning", "connections", 0)
    th.set("warning", "p95", 1e-9)
    r = report(filled, thresholds=th)
    for kind in ("connections_full", "api_slow"):
        _untested(r, kind)


@covers("cache_hit")
def test_a_cache_too_small_says_its_advice_shows_only_over_time(small_cache_proc) -> None:  # noqa: F811
    """On a server whose shared_buffers hold a sliver of the library, at the default levels."""
    r = report(small_cache_library(small_cache_proc), thresholds=checks.Thresholds())
    f = _untested(r, "cache_hit")
    assert "shared_buffers" in f["action"]


@covers("api_failed")
def test_a_failing_call_says_its_error_is_its_own_advice(dsn: str) -> None:
    broken = Canonical("broken call", "SELECT 1 / 0 AS x", "divides by zero", 20.0)
    r = report(dsn, calls=[broken])
    f = _untested(r, "api_failed")
    assert "division by zero" in f["title"]


@covers("load_slow", "load_errors")
def test_load_findings_say_why_their_advice_is_outside_the_database(dsn: str, monkeypatch) -> None:
    ok = Canonical("sleepy", "SELECT pg_sleep(0.005)", "a slow search stand-in", 20.0, ({},), in_mix=True)
    bad = Canonical("broken", "SELECT 1 / 0", "always fails", 20.0, ({},), in_mix=True)
    monkeypatch.setattr(loadtest, "P95_TARGET_MS", 0.001)
    section, found = loadtest.section(dsn, {"items": [{"name": "sleepy", "status": "ok"}, {"name": "broken",
                                                                                          "status": "ok"}]},
                                      [ok, bad], (2,), 0.3, local=True)
    by_kind = {f["kind"]: f for f in found}
    assert set(by_kind) == {"load_slow", "load_errors"}, section
    for f in by_kind.values():
        profile.Finding(**f)  # a well-formed finding of a known kind
        assert f["untested"] and len(f["untested"]) > 20
