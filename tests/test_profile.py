"""`midicenter profile` against a real PostgreSQL: it runs on an empty and on a filled database, writes
nothing (row counts, sequences and the write counters of pg_stat_user_tables, compared after the stats
are flushed), flags planted unused, invalid and missing indexes, marks what a midi_reader may not read,
reads pg_stat_statements where it is enabled, stops its load test by itself, and its JSON validates
against the schema kept in runner/profile/schema.json. No assertion depends on timing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import psycopg
import pytest
from psycopg import conninfo
from pytest_postgresql import factories

from runner import importer
from runner.bench import library
from runner.bench import search as search_bench
from runner.profile import calls as profile_calls
from runner.profile import loadtest, readonly, tuning
from runner.profile import markdown as profile_markdown
from runner.profile import report as profile
from runner.profile.loadtest import percentile
from tests import corpus
from tests.conftest import WRAPPER

SCHEMA = json.loads(profile.SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
TINY_LOAD = {"load_test": True, "load_seconds": 0.2, "load_clients": (2, 3)}

# A second throwaway server with pg_stat_statements preloaded (the shared one has it off).
pss_proc = factories.postgresql_proc(
    executable=str(WRAPPER), port=None,
    postgres_options="-c shared_preload_libraries=pg_stat_statements -c fsync=off -c synchronous_commit=off",
)


def valid(report: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(report), key=lambda e: e.json_path)
    assert not errors, [f"{e.json_path}: {e.message[:200]}" for e in errors[:5]]
    return report


def items(report: dict) -> dict[str, dict]:
    return {i["name"]: i for i in report["sections"]["queries"]["items"]}


def kinds(report: dict) -> set[str]:
    return {f["kind"] for f in report["summary"]["findings"]}


@pytest.fixture(scope="session")
def small_library() -> Path:
    return library.generate(corpus.default_cache_dir() / "libs", 500, seed=7)


@pytest.fixture
def filled(dsn: str, small_library: Path) -> str:
    """This test's database with a 500-file generated library imported (analysis not run)."""
    importer.run_import(dsn, [small_library])
    return dsn


# ------------------------------------------------------------------------------ writes: none at all


def _wait_alone(conn: psycopg.Connection, keep: int, timeout: float = 30.0) -> None:
    """Wait until no session but ours and the fixture's idle one (pid ``keep``) is connected to this
    database. A backend flushes its pending statistics as it exits, before it leaves pg_stat_activity,
    so afterwards the shared counters hold everything the profile (and its load clients) did."""
    deadline = time.monotonic() + timeout
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid NOT IN (pg_backend_pid(), %s)", [keep]).fetchone()[0]:
        assert time.monotonic() < deadline, "other sessions did not go away"
        time.sleep(0.05)


def write_counters(dsn: str, keep: int) -> dict:
    """n_tup_ins/upd/del of every midi table and the sum of its scans, from flushed shared statistics."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        _wait_alone(conn, keep)
        conn.execute("SET stats_fetch_consistency = none")
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd,"
                            " coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
                            " WHERE schemaname = 'midi' ORDER BY relname").fetchall()
    return {"writes": {r[0]: r[1:5] for r in rows}, "scans": sum(r[5] for r in rows)}


def contents(dsn: str) -> dict:
    """Exact row counts of every midi table and materialized view, and every midi sequence's position."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rels = conn.execute("SELECT c.relname, c.relkind, c.relispopulated FROM pg_class c JOIN pg_namespace n"
                            " ON n.oid = c.relnamespace WHERE n.nspname = 'midi' AND c.relkind IN ('r', 'm', 'p')"
                            " ORDER BY 1").fetchall()
        counts = {name: conn.execute(f'SELECT count(*) FROM midi."{name}"').fetchone()[0]
                  for name, _kind, populated in rels if populated}
        seqs = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'midi'"
                            " ORDER BY 1").fetchall()
    return {"rows": counts, "sequences": seqs}


def test_write_detector_sees_even_a_rolled_back_write(dsn: str, postgresql: psycopg.Connection) -> None:
    """The comparison below is not vacuous: one rolled-back INSERT moves the counters it compares."""
    keep = postgresql.info.backend_pid
    before = write_counters(dsn, keep)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO midi.tags (name) VALUES ('probe')")
        conn.rollback()
    after = write_counters(dsn, keep)
    assert after["writes"]["tags"][0] == before["writes"]["tags"][0] + 1


def test_filled_database_report_changes_nothing(filled: str, postgresql: psycopg.Connection) -> None:
    keep = postgresql.info.backend_pid
    before_rows = contents(filled)
    before = write_counters(filled, keep)
    report = valid(profile.run(filled, **TINY_LOAD))
    after = write_counters(filled, keep)  # read before counting rows, which would add scans of its own
    after_rows = contents(filled)
    assert after["scans"] > before["scans"], "the profile's own reads must show: else the stats were not flushed"
    assert after["writes"] == before["writes"]
    assert after_rows == before_rows

    assert report["target"]["read_only"] is True
    assert report["sections"]["database"]["status"] == "ok"
    files = next(t for t in report["sections"]["database"]["tables"] if t["name"] == "files")
    assert files["rows"] == before_rows["rows"]["files"] > 0 and files["rows_exact"]
    calls = items(report)
    assert "seed search (as printed)" in calls
    assert not [n for n, i in calls.items() if i["status"] in ("error", "denied")], calls
    ran = [i for i in calls.values() if i["status"] in ("ok", "slow")]
    assert ran and all(i["plan"] and i["time_ms"] is not None for i in ran)
    assert report["sections"]["load_test"]["status"] == "ok"
    markdown = profile_markdown.render(report)
    for heading in ("## Summary", "## Database", "## API queries", "## Indexes", "## Top statements",
                    "## Connections", "## Settings", "## Load test", "## Plans"):
        assert heading in markdown


def test_a_call_that_writes_is_explained_and_rolled_back(dsn: str) -> None:
    write = profile_calls.Canonical("tag insert", "INSERT INTO midi.tags (name) VALUES (%(name)s)", "a write",
                                    20.0, ({"name": "written-by-profile"},), writes=True)
    report = valid(profile.run(dsn, calls=[write]))
    (item,) = report["sections"]["queries"]["items"]
    assert item["status"] in ("ok", "slow") and item["plan"].startswith("Insert on tags")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM midi.tags").fetchone()[0] == 0


# ------------------------------------------------------------------------------------ empty databases


def test_report_on_a_database_without_the_schema(server_dsn) -> None:
    report = valid(profile.run(server_dsn()))
    assert report["target"]["has_midi_schema"] is False
    assert report["sections"]["queries"]["status"] == "skipped"
    assert "no_schema" in kinds(report)
    assert report["summary"]["actions"][0]["action"].startswith("run `midicenter db migrate`")


def test_report_on_an_empty_migrated_database(dsn: str) -> None:
    report = valid(profile.run(dsn))
    assert report["sections"]["queries"]["files"] == 0
    calls = items(report)
    assert not [n for n, i in calls.items() if i["status"] in ("error", "denied")], calls
    assert not report["sections"]["indexes"]["unused"], "an empty table gives no evidence of an unused index"
    assert 0 <= report["summary"]["health_score"] <= 100


def test_the_profile_explains_the_calls_bench_search_times(dsn: str, monkeypatch) -> None:
    """One list: the profile's calls are runner/canonical.py's shapes (the ones `bench search` times) and the
    seed query; when the library cannot be read they run with default parameters, still the same calls."""
    bench_shapes = [s.name for s in search_bench.shapes(search_bench.Library())]
    report = valid(profile.run(dsn))
    assert report["sections"]["queries"]["source"].startswith("the canonical calls")
    assert list(items(report)) == [*bench_shapes, "seed search (as printed)"]

    def unreadable(*_args, **_kwargs):
        raise psycopg.errors.InsufficientPrivilege("permission denied for table files")

    monkeypatch.setattr(profile_calls, "canonical_calls", unreadable)
    report = valid(profile.run(dsn))
    assert report["sections"]["queries"]["source"].startswith("the canonical calls with default parameters")
    calls = items(report)
    assert list(calls) == [*bench_shapes, "seed search (as printed)"]
    assert not [n for n, i in calls.items() if i["status"] in ("error", "denied")], calls


# --------------------------------------------------------------------------------- planted problems


def test_flags_a_planted_unused_index(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE INDEX planted_unused ON midi.files (original_filename)")
    report = valid(profile.run(filled))
    unused = {u["name"]: u for u in report["sections"]["indexes"]["unused"]}
    assert unused["planted_unused"]["fix"] == "DROP INDEX CONCURRENTLY midi.planted_unused;"
    assert unused["planted_unused"]["kept_because"] is None
    # an index the API is meant to use is kept, and so is one that serves a foreign key
    assert unused.get("idx_files_tag_ids", {"fix": None})["fix"] is None
    assert unused.get("idx_files_parent", {"fix": None})["fix"] is None
    finding = next(f for f in report["summary"]["findings"] if f["kind"] == "unused_index")
    assert "planted_unused" in finding["title"] and "planted_unused" in finding["sql"]


def test_our_declared_indexes_are_never_flagged(filled: str) -> None:
    """Every midi index says what it serves (COMMENT ON INDEX 'serves: ...'): on a library too small for the
    planner to use most of them, none is advised dropped as unused, duplicate or redundant."""
    with psycopg.connect(filled) as conn:
        ours = {r[0]: r[1] for r in conn.execute(
            "SELECT c.relname::text, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'i'")}
    assert ours and all(c.startswith("serves: ") for c in ours.values())
    report = valid(profile.run(filled))
    section = report["sections"]["indexes"]
    unused = {u["name"]: u for u in section["unused"] if u["schema"] == "midi"}
    assert unused, "on 500 files the planner reads most tables whole: the check must have had something to judge"
    assert {n: u["fix"] for n, u in unused.items() if u["fix"]} == {}
    declared = [n for n, u in unused.items() if u["kept_because"].startswith("declared for ")]
    assert declared
    assert [d["name"] for d in section["duplicates"] if d["schema"] == "midi"] == []
    assert not [f for f in report["summary"]["findings"] if f["kind"] in ("unused_index", "duplicate_index", "redundant_index")
                and any(n in f.get("title", "") for n in ours)]


def test_flags_a_planted_invalid_index(filled: str) -> None:
    """The way production gets one: a concurrent unique build that fails on duplicate data."""
    with psycopg.connect(filled, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY planted_invalid ON midi.files (manufacturer)")
        assert conn.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 'midi.planted_invalid'::regclass"
                            ).fetchone()[0]
    report = valid(profile.run(filled))
    (bad,) = report["sections"]["indexes"]["invalid"]
    assert bad["name"] == "planted_invalid"
    assert bad["fix"].startswith("DROP INDEX CONCURRENTLY midi.planted_invalid;")
    assert "CREATE UNIQUE INDEX CONCURRENTLY planted_invalid ON midi.files" in bad["fix"]
    finding = next(f for f in report["summary"]["findings"] if f["kind"] == "invalid_index")
    assert finding["severity"] == "critical"
    assert any("planted_invalid" in a["title"] for a in report["summary"]["actions"])


def test_flags_a_planted_missing_index(filled: str) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("DROP INDEX midi.idx_files_search")
    report = valid(profile.run(filled))
    missing = {m["name"]: m for m in report["sections"]["indexes"]["missing"]}
    assert missing["idx_files_search"]["state"] == "absent"
    assert missing["idx_files_search"]["fix"] == (
        "CREATE INDEX CONCURRENTLY idx_files_search ON midi.files USING gin (search_vector);")
    calls = items(report)
    lost = [n for n, i in calls.items() if i["index_verdict"] == "missing_index"]
    assert "text, rare word" in lost and "seed search (as printed)" in lost
    assert "its index is missing" in calls["text, rare word"]["verdict"]
    assert any("idx_files_search" in a["title"] for a in report["summary"]["actions"])
    assert "CREATE INDEX CONCURRENTLY idx_files_search" in profile_markdown.render(report)


# ------------------------------------------------------------------------------------ roles, servers


def test_midi_reader_gets_a_report_with_unreadable_parts_marked(filled: str) -> None:
    role = f"profile_reader_{uuid.uuid4().hex[:8]}"
    params = conninfo.conninfo_to_dict(filled)
    with psycopg.connect(filled, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN IN ROLE midi_reader")
        try:
            # the open admin session is another role's: a reader may not see its state or query
            report = valid(profile.run(conninfo.make_conninfo(filled, user=role)))
        finally:
            admin.execute(f"DROP ROLE {role}")
    assert report["target"]["role"] == role and not report["target"]["superuser"]
    assert params["user"] != role
    conns = report["sections"]["connections"]
    assert conns["status"] == "partial" and conns["hidden"] >= 1 and "pg_read_all_stats" in conns["notes"][0]
    assert report["sections"]["database"]["status"] == "partial"  # yoyo's tables are not granted to readers
    queries = report["sections"]["queries"]
    assert queries["auto_explain"] is False and "auto_explain" in queries["notes"][0]
    assert not [n for n, i in items(report).items() if i["status"] in ("error", "denied")]
    statements = report["sections"]["statements"]
    assert statements["status"] == "unavailable" and statements["hint"]


def test_top_statements_where_pg_stat_statements_is_enabled(pss_proc) -> None:
    admin = conninfo.make_conninfo(host=pss_proc.host, port=pss_proc.port, user=pss_proc.user, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE pss")
    dsn = conninfo.make_conninfo(admin, dbname="pss")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM generate_series(1, 20000)").fetchone()
    report = valid(profile.run(dsn))
    statements = report["sections"]["statements"]
    assert statements["status"] == "ok" and statements["available"] and statements["hint"] is None
    assert any("generate_series" in (s["query"] or "") and s["calls"] >= 3 for s in statements["top_total"])
    assert statements["top_mean"]
    assert "no_statements" not in kinds(report)


# ---------------------------------------------------------------------------------------- load test


def test_cli_load_test_stops_by_itself_and_reports_qps(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", filled, "profile", "--json",
                          "--output", str(out), "--load-test", "--load-seconds", "0.3", "--load-clients", "2,4"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and "report written to" in run.stderr
    report = valid(json.loads(out.read_text(encoding="utf-8")))
    load = report["sections"]["load_test"]
    assert load["status"] == "ok" and load["mix"]
    assert [lv["requested_clients"] for lv in load["levels"]] == [2, 4]
    for lv in load["levels"]:
        assert lv["clients"] == lv["requested_clients"] and lv["did_not_stop"] == 0
        assert lv["queries"] > 0 and lv["qps"] > 0 and lv["errors"] == 0
        assert lv["p50_ms"] <= lv["p95_ms"] <= lv["p99_ms"]


def test_cli_markdown_to_stdout(filled: str) -> None:
    run = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", filled, "profile"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("# midicenter profile: ") and "**Health score: " in run.stdout


# ------------------------------------------------------------------------------------- no database


def test_schema_rejects_a_broken_report(dsn: str) -> None:
    report = valid(profile.run(dsn))
    broken = json.loads(json.dumps(report))
    broken["summary"]["health_score"] = 101
    del broken["sections"]["indexes"]["invalid"]
    broken["target"]["read_only"] = False
    assert len(list(VALIDATOR.iter_errors(broken))) == 3


def test_classify_reads_targets_and_indexes_from_the_call() -> None:
    c = profile_calls.classify
    assert c("SELECT * FROM midi.search(q => %(q)s)") == (20.0, ("idx_files_search",), ("search",), True)
    assert c("SELECT * FROM midi.search()")[1] == ("idx_files_newest",)
    assert c("SELECT * FROM midi.search(bpm_min => %(lo)s, keys => %(k)s)")[3] is True
    assert c("SELECT * FROM midi.search(tags_all => %(t)s)")[1:] == (("idx_files_tag_ids",), ("search",), False)
    assert c("SELECT * FROM midi.search_count(q => %(q)s)")[0] == 50.0
    assert c("SELECT * FROM midi.facets()")[1] == profile_calls.FACET_VIEWS
    assert c("SELECT * FROM midi.facets(bpm_min => 1)")[0] == 100.0
    assert c("SELECT * FROM midi.load_tracks(%(ids)s)")[:2] == (2.0, ("files_pkey",))


def test_index_definitions_come_from_the_migrations() -> None:
    defs = profile.index_definitions()
    assert defs["idx_files_newest"] == "CREATE INDEX CONCURRENTLY idx_files_newest ON midi.files (created_at DESC, id DESC);"
    assert defs["idx_files_content_hash"].startswith("CREATE UNIQUE INDEX CONCURRENTLY idx_files_content_hash ")


def test_duplicate_and_redundant_indexes() -> None:
    def idx(name: str, cols: str, **kw: object) -> dict:
        row = {"name": name, "schema": "midi", "table_name": "files", "table_oid": 1, "method": "btree",
               "key_columns": cols, "key_opclasses": " ".join(["3"] * len(cols.split())),
               "key_collations": " ".join(["0"] * len(cols.split())), "key_options": " ".join(["0"] * len(cols.split())),
               "key_count": len(cols.split()), "key_expressions": None, "predicate": None, "is_valid": True,
               "is_unique": False, "is_primary": False, "constraint_name": None, "scans": 0, "size_bytes": 8192}
        return row | kw

    found = profile.duplicates([idx("a", "2 3"), idx("b", "2 3", scans=5), idx("c", "2"), idx("d", "2", predicate="x"),
                                idx("e", "4", is_valid=False), idx("f", "4 5")])
    assert {(d["kind"], d["name"], d["same_as"]) for d in found} == {("duplicate", "a", "b"), ("redundant", "c", "a")}


def test_settings_recommendations_for_a_machine() -> None:
    gib = 1024 ** 3
    current = {
        "shared_buffers": {"value": "128MB", "setting": "16384", "bytes": 128 * 1024 ** 2, "context": "postmaster"},
        "work_mem": {"value": "64MB", "setting": "65536", "bytes": 64 * 1024 ** 2, "context": "user"},
        "effective_cache_size": {"value": "12GB", "setting": "1572864", "bytes": 12 * gib, "context": "user"},
        "max_connections": {"value": "100", "setting": "100", "bytes": None, "context": "postmaster"},
    }
    rec = {r["name"]: r for r in tuning.recommend(16 * gib, 4, current)}
    assert rec["shared_buffers"]["verdict"] == "raise" and rec["shared_buffers"]["recommended"] == "4GB"
    assert "restart" in rec["shared_buffers"]["fix"]
    assert rec["effective_cache_size"]["verdict"] == "ok" and rec["effective_cache_size"]["fix"] is None
    assert rec["work_mem"]["verdict"] == "ok"
    assert rec["max_connections"]["verdict"] == "ok"
    memory, source = tuning.machine_memory()
    assert memory > 0 and source != "unknown"


def test_percentile_is_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) is None and percentile([7.0], 99) == 7.0


def test_only_a_server_on_this_machine_counts_as_local() -> None:
    def conn(host: str, hostaddr: str = "") -> SimpleNamespace:
        return SimpleNamespace(info=SimpleNamespace(host=host, hostaddr=hostaddr))

    assert readonly.is_local(conn("/run/postgresql"))
    assert readonly.is_local(conn("127.0.0.1", "127.0.0.1")) and readonly.is_local(conn("::1", "::1"))
    assert not readonly.is_local(conn("db.example", "10.1.2.3"))
    section, found = loadtest.section("host=db.example", {"items": []}, [], (10,), 1.0, local=False)
    assert section["status"] == "skipped" and "not on this machine" in section["reason"] and not found
