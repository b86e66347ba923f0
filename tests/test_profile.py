"""`midicenter profile` against a real PostgreSQL: it runs on an empty and on a filled database, writes
nothing (row counts, sequences and the write counters of pg_stat_user_tables, compared after the stats
are flushed), flags planted unused, invalid and missing indexes, marks what a midi_reader may not read,
reads pg_stat_statements where it is enabled, stops its load test by itself, and its JSON validates
against the schema kept in runner/profile/schema.json. No assertion depends on timing. (The advice of every
finding: tests/test_profile_advice.py; --check, --record, --prometheus, --history and stale imports:
tests/test_profile_monitoring.py.)"""

from __future__ import annotations

import json
import re
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

from runner import importer, schema
from runner.bench import library
from runner.bench import search as search_bench
from runner.profile import calls as profile_calls
from runner.profile import indexes as profile_indexes
from runner.profile import loadtest, readonly, tuning
from runner.profile import markdown as profile_markdown
from runner.profile import report as profile
from runner.profile.loadtest import percentile
from tests import corpus
from tests.conftest import WRAPPER

SCHEMA = json.loads(profile.SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
FAST = {"runs": 3, "rounds": 1, "warmup": 1}  # a spot check: these tests look at everything but the times
TINY_LOAD = {"load_test": True, "load_seconds": 0.2, "load_clients": (2, 3), **FAST}

# A second throwaway server with pg_stat_statements preloaded (the shared one has it off).
pss_proc = factories.postgresql_proc(
    executable=str(WRAPPER), port=None,
    postgres_options="-c shared_preload_libraries=pg_stat_statements -c fsync=off -c synchronous_commit=off",
)

# A third, with a cache (1 MB of shared_buffers) far smaller than a library: its cache hit ratio is evidence.
small_cache_proc = factories.postgresql_proc(
    executable=str(WRAPPER), port=None,
    postgres_options="-c shared_buffers=1MB -c max_connections=30 -c fsync=off -c synchronous_commit=off",
)


def small_cache_library(proc) -> str:
    """A migrated database on the small-cache server with a 13 MB table read through three times: every
    read after the first 128 blocks evicts one, so blocks are read again and again."""
    name = f"small_cache_{uuid.uuid4().hex[:8]}"
    admin = conninfo.make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(admin, dbname=name)
    schema.migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.readings AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 100000) g")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM public.readings").fetchone()
    return dsn


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
    for heading in ("## Summary", "## Database", "## Imports and views", "## API queries", "## Indexes",
                    "## Top statements", "## Connections", "## Settings", "## Load test", "## Plans"):
        assert heading in markdown


def test_a_call_that_writes_is_explained_and_rolled_back(dsn: str) -> None:
    write = profile_calls.Canonical("tag insert", "INSERT INTO midi.tags (name) VALUES (%(name)s)", "a write",
                                    20.0, ({"name": "written-by-profile"},), writes=True)
    report = valid(profile.run(dsn, calls=[write], **FAST))
    (item,) = report["sections"]["queries"]["items"]
    assert item["status"] in ("ok", "slow") and item["plan"].startswith("Insert on tags")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM midi.tags").fetchone()[0] == 0


# ------------------------------------------------------------------------------------ empty databases


def test_report_on_a_database_without_the_schema(server_dsn) -> None:
    report = valid(profile.run(server_dsn(), **FAST))
    assert report["target"]["has_midi_schema"] is False
    assert report["sections"]["queries"]["status"] == "skipped"
    assert "no_schema" in kinds(report)
    assert report["summary"]["actions"][0]["action"].startswith("run `midicenter db migrate`")


def test_report_on_an_empty_migrated_database(dsn: str) -> None:
    report = valid(profile.run(dsn, **FAST))
    assert report["sections"]["queries"]["files"] == 0
    calls = items(report)
    assert not [n for n, i in calls.items() if i["status"] in ("error", "denied")], calls
    assert not report["sections"]["indexes"]["unused"], "an empty table gives no evidence of an unused index"
    assert 0 <= report["summary"]["health_score"] <= 100
    # the schema as migrated agrees with itself: every shipped index is there (the replay of the
    # migrations understands each one's CREATE, DROP, RENAME and COMMENT), none is invalid, duplicate or
    # a prefix to drop
    index_kinds = {"missing_index", "invalid_index", "duplicate_index", "redundant_index", "unused_index",
                   "fk_unindexed", "migrations_pending"}
    assert not index_kinds & kinds(report), [f["title"] for f in report["summary"]["findings"]]
    assert not report["sections"]["indexes"]["missing"]


def test_the_profile_explains_the_calls_bench_search_times(dsn: str, monkeypatch) -> None:
    """One list: the profile's calls are runner/canonical.py's shapes (the ones `bench search` times) and the
    seed query; when the library cannot be read they run with default parameters, still the same calls."""
    bench_shapes = [s.name for s in search_bench.shapes(search_bench.Library())]
    report = valid(profile.run(dsn, **FAST))
    assert report["sections"]["queries"]["source"].startswith("the canonical calls")
    assert list(items(report)) == [*bench_shapes, "seed search (as printed)"]

    def unreadable(*_args, **_kwargs):
        raise psycopg.errors.InsufficientPrivilege("permission denied for table files")

    monkeypatch.setattr(profile_calls, "canonical_calls", unreadable)
    report = valid(profile.run(dsn, **FAST))
    assert report["sections"]["queries"]["source"].startswith("the canonical calls with default parameters")
    calls = items(report)
    assert list(calls) == [*bench_shapes, "seed search (as printed)"]
    assert not [n for n, i in calls.items() if i["status"] in ("error", "denied")], calls


# --------------------------------------------------------------------------------- planted problems


def test_flags_a_planted_unused_index_but_never_the_schemas_own(filled: str) -> None:
    """An index nobody ships or declares, never scanned, is a finding; the schema's own indexes, an index
    someone declared (serves: ...) and one serving a foreign key are kept, each saying why."""
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("CREATE INDEX planted_unused ON midi.files (original_filename)")
        conn.execute("CREATE INDEX planted_declared ON midi.files (num_tracks, format)")
        conn.execute("COMMENT ON INDEX midi.planted_declared IS 'serves: my track-count report -- kept for it'")
    report = valid(profile.run(filled, **FAST))
    unused = {u["name"]: u for u in report["sections"]["indexes"]["unused"]}
    kept = {u["name"]: u for u in report["sections"]["indexes"]["declared_unused"]}
    assert list(unused) == ["planted_unused"]
    assert unused["planted_unused"]["fix"] == "DROP INDEX CONCURRENTLY midi.planted_unused;"
    assert kept["planted_declared"]["kept_because"].startswith("declared for my track-count report, not used since ")
    assert kept["planted_declared"]["fix"] is None
    # the schema's own indexes each say what they serve (migration 0014): kept as declared, never advised dropped
    assert any(n.startswith("idx_files_") and k["kept_because"].startswith("declared for ") for n, k in kept.items())
    finding = next(f for f in report["summary"]["findings"] if f["kind"] == "unused_index")
    assert "planted_unused" in finding["title"] and "planted_declared" not in finding["title"]
    assert finding["sql"] == "DROP INDEX CONCURRENTLY midi.planted_unused;"
    assert {"planted_declared", "profile_runs_pkey"} <= {d["name"] for d in report["sections"]["indexes"]["declared"]}


def test_indexes_the_calls_read_are_not_unused(filled: str) -> None:
    """The report's own calls count as use before the statistics have flushed them (an index only the
    profile's calls read is never reported unused by that same report)."""
    report = valid(profile.run(filled, **FAST))
    read = {x for i in items(report).values() for x in i["indexes_used"]}
    assert read
    listed = {u["name"] for u in report["sections"]["indexes"]["unused"] + report["sections"]["indexes"]["declared_unused"]}
    assert not read & listed


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
    unused = {u["name"]: u for u in section["unused"] + section["declared_unused"] if u["schema"] == "midi"}
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
    report = valid(profile.run(filled, **FAST))
    missing = {m["name"]: m for m in report["sections"]["indexes"]["missing"]}
    assert missing["idx_files_search"]["state"] == "absent"
    assert missing["idx_files_search"]["migration"] == "0002_create_import_tables"
    assert missing["idx_files_search"]["fix"].startswith(
        "CREATE INDEX CONCURRENTLY idx_files_search ON midi.files USING gin (search_vector);")
    assert list(missing) == ["idx_files_search"]
    # without its index, the engine's strategy for a rare word names none: it reads the table, as meant
    assert items(report)["text, rare word"]["meant"] == [None]
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
            report = valid(profile.run(conninfo.make_conninfo(filled, user=role), **FAST))
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
    report = valid(profile.run(dsn, **FAST))
    statements = report["sections"]["statements"]
    assert statements["status"] == "ok" and statements["available"] and statements["hint"] is None
    assert any("generate_series" in (s["query"] or "") and s["calls"] >= 3 for s in statements["top_total"])
    assert statements["top_mean"]
    assert "no_statements" not in kinds(report)


# ---------------------------------------------------------------------------------------- load test


def test_cli_load_test_stops_by_itself_and_reports_qps(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", filled, "profile", "--json",
                          "--output", str(out), "--load-test", "--load-seconds", "0.3", "--load-clients", "2,4",
                          "--runs", "3", "--rounds", "1"],
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
    run = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", filled, "profile", "--runs", "3", "--rounds", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("# midicenter profile: ") and "**Health score: " in run.stdout


def test_no_word_of_the_tracker_in_the_output_or_the_docs(filled: str) -> None:
    """Targets are stated as midicenter's own: the report and the manual never speak of a tracker."""
    report = valid(profile.run(filled, **FAST))
    root = Path(__file__).resolve().parents[1]
    texts = {"report": profile_markdown.render(report) + json.dumps(report),
             **{str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in [root / "README.md",
                                                                                  *(root / "docs").glob("*.md")]}}
    for name, text in texts.items():
        assert not re.search(r"\bissues?\b", text, re.IGNORECASE), name


# ------------------------------------------------------------------------------------- no database


def test_schema_rejects_a_broken_report(dsn: str) -> None:
    report = valid(profile.run(dsn, **FAST))
    broken = json.loads(json.dumps(report))
    broken["summary"]["health_score"] = 101
    del broken["sections"]["indexes"]["invalid"]
    broken["target"]["read_only"] = False
    assert len(list(VALIDATOR.iter_errors(broken))) == 3


def test_classify_reads_targets_and_kinds_from_the_call() -> None:
    c = profile_calls.classify
    assert c("SELECT * FROM midi.search(q => %(q)s)") == (20.0, "search", ("search",), True)
    assert c("SELECT * FROM midi.search()")[:2] == (20.0, "search")
    assert c("SELECT * FROM midi.search(bpm_min => %(lo)s, keys => %(k)s)")[3] is True
    assert c("SELECT * FROM midi.search(tags_all => %(t)s)") == (20.0, "search", ("search",), False)
    assert c("SELECT * FROM midi.search(q => %(q)s, fuzzy => true)")[0] is None  # no target: shown unjudged
    assert c("SELECT * FROM midi.search_count(q => %(q)s)")[:2] == (50.0, "count")
    assert c("SELECT * FROM midi.facets()")[:2] == (20.0, "views")
    assert c("SELECT * FROM midi.facets(bpm_min => 1)")[:2] == (100.0, "facets")
    assert c("SELECT * FROM midi.load_tracks(%(ids)s)")[:2] == (2.0, "by_id")


def test_shipped_indexes_come_from_the_migrations(tmp_path: Path) -> None:
    defs = profile_indexes.shipped_indexes()
    assert defs["idx_files_newest"].create == ("CREATE INDEX CONCURRENTLY idx_files_newest ON midi.files "
                                               "(created_at DESC, id DESC);")
    assert defs["idx_files_content_hash"].create.startswith("CREATE UNIQUE INDEX CONCURRENTLY idx_files_content_hash ")
    assert defs["idx_files_parent"].create.endswith("WHERE parent_file_id IS NOT NULL;")
    assert "idx_metadata_key" not in defs  # dropped by a later migration (0014): the replay leaves it out
    assert "%I.gin_trgm_ops" in defs["idx_files_filename_trgm"].create  # built in a DO block
    assert not [n for n in defs if n.endswith("pkey")]  # a constraint's index is the constraint's
    # the replay: a later migration's DROP, RENAME and COMMENT (a -- inside the string is text, not a comment)
    (tmp_path / "0001_a.sql").write_text("CREATE INDEX x1 ON midi.files (a);\nCREATE INDEX x2 ON midi.files (b);\n"
                                         "CREATE INDEX x3 ON midi.files (c); -- comment; with a semicolon\n")
    (tmp_path / "0002_b.sql").write_text("DROP INDEX CONCURRENTLY IF EXISTS midi.x1;\nALTER INDEX midi.x2 RENAME TO y2;\n"
                                         "COMMENT ON INDEX midi.y2 IS 'serves: text + BPM + key; midi.search sort=name"
                                         " -- it''s why';\n")
    (tmp_path / "0002_b.rollback.sql").write_text("DROP INDEX midi.x3;\n")
    replay = profile_indexes.shipped_indexes(tmp_path)
    assert sorted(replay) == ["x3", "y2"]
    assert replay["y2"].create == "CREATE INDEX CONCURRENTLY y2 ON midi.files (b);"
    assert profile_indexes.declared(replay["y2"].comment) == ["text + BPM + key", "midi.search sort=name"]
    assert sorted(profile_indexes.shipped_indexes(tmp_path, applied={"0001_a"})) == ["x1", "x2", "x3"]


def test_declarations_are_read_up_to_the_reason() -> None:
    d = profile_indexes.declared
    assert d("serves: text + BPM + key; foreign key file_paths.file_id -- why") == [
        "text + BPM + key", "foreign key file_paths.file_id"]
    assert d("Serves:  newest page") == ["newest page"]
    assert d("an index for newest pages") is None and d(None) is None


def test_duplicate_and_redundant_indexes() -> None:
    def idx(name: str, cols: str, **kw: object) -> dict:
        row = {"name": name, "schema": "midi", "table_name": "files", "table_oid": 1, "method": "btree",
               "key_columns": cols, "key_opclasses": " ".join(["3"] * len(cols.split())),
               "key_collations": " ".join(["0"] * len(cols.split())), "key_options": " ".join(["0"] * len(cols.split())),
               "key_count": len(cols.split()), "key_expressions": None, "predicate": None, "is_valid": True,
               "is_unique": False, "is_primary": False, "constraint_name": None, "scans": 0, "size_bytes": 8192}
        return row | kw

    found = profile_indexes.duplicates([idx("a", "2 3"), idx("b", "2 3", scans=5), idx("c", "2"),
                                        idx("d", "2", predicate="x"), idx("e", "4", is_valid=False), idx("f", "4 5")])
    assert {(d["kind"], d["name"], d["same_as"]) for d in found} == {("duplicate", "a", "b"), ("redundant", "c", "a")}
    assert all(d["fix"] for d in found)
    # the schema's own index (or a declared one) is the one kept of a pair, and never the one to drop
    found = profile_indexes.duplicates([idx("a", "2 3", shipped=True), idx("b", "2 3", scans=5),
                                        idx("c", "2", declared=["newest page"])])
    assert {(d["kind"], d["name"], d["same_as"], d["fix"] is None) for d in found} == {
        ("duplicate", "b", "a", False), ("redundant", "c", "a", True)}


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


# ------------------------------------------------------------------ timing as the targets are stated


def test_calls_are_warmed_up_then_timed_in_rounds_and_the_seed_only_a_few_times(dsn: str) -> None:
    """Every timed call first runs `warmup` times untimed, then `runs` runs in each of `rounds` rounds; the
    seed query runs SEED_RUNS times in the first round only. Counted by the calls themselves (nextval)."""
    ctx = profile_calls.Context(files_rows=0, relations=set(), thresholds=profile_calls.Thresholds(),
                                runs=7, rounds=3, warmup=2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE public.api_runs; CREATE SEQUENCE public.seed_runs")
        api = profile_calls.Canonical("api", "SELECT nextval('public.api_runs')", "", 20.0)
        seed = profile_calls.Canonical(profile_calls.SEED_NAME, "SELECT nextval('public.seed_runs')", "", 500.0,
                                       kind="seed", scored=False)
        times = profile_calls._time_all(conn, [api, seed], ctx)
        ran = conn.execute("SELECT (SELECT last_value FROM public.api_runs), "
                           "(SELECT last_value FROM public.seed_runs)").fetchone()
    assert [len(r) for r in times["api"]] == [7, 7, 7]
    assert [len(r) for r in times[profile_calls.SEED_NAME]] == [profile_calls.SEED_RUNS]
    assert ran == (2 + 3 * 7, 2 + profile_calls.SEED_RUNS)


def test_the_judged_time_is_the_median_of_the_rounds_p95_or_a_labelled_spot_check() -> None:
    rounds = [[1.0] * 19 + [50.0], [2.0] * 19 + [3.0], [1.0] * 18 + [4.0, 9.0]]  # p95 of each: 1, 2, 4
    item: dict = {}
    profile_calls._timing(item, rounds)
    assert (item["time_ms"], item["p95_ms"], item["runs"]) == (2.0, 2.0, 60)
    assert item["statistic"] == "median of 3 rounds' p95, 20 runs each"
    item = {}
    profile_calls._timing(item, [[1.0, 30.0, 2.0]])  # too few runs for a p95: the median, said so
    assert (item["time_ms"], item["statistic"]) == (2.0, "median of 3 runs (spot check)")


def _slow_items(time_ms: float) -> list[dict]:
    api = {"name": "count, broad word", "scored": True, "status": "slow", "index_verdict": "used",
           "time_ms": time_ms, "target_ms": 50.0, "statistic": "median of 3 rounds' p95, 20 runs each"}
    seed = dict(api, name=profile_calls.SEED_NAME, scored=False, time_ms=900.0, target_ms=500.0,
                index_verdict="not_used", status="slow")
    return [api, seed]


@pytest.mark.parametrize(("time_ms", "runs", "busy", "severity"), [
    (60.0, 20, None, "warning"), (120.0, 20, None, "critical"),  # p95 over target; 2x its target or more
    (120.0, 5, None, "info"), (120.0, 20, "load average 9.0 on 2 CPUs", "info"),  # a spot check, a busy machine
])
def test_a_slow_call_is_weighed_by_how_it_was_measured_and_the_seed_never(time_ms, runs, busy, severity) -> None:
    ctx = profile_calls.Context(files_rows=10, relations=set(), thresholds=profile_calls.Thresholds(), runs=runs)
    found = profile_calls._findings(_slow_items(time_ms), ctx, busy)
    assert [f["kind"] for f in found] == ["api_slow"], found  # the seed's slowness and index are not findings
    (f,) = found
    assert f["severity"] == severity and "count, broad word" in f["title"]
    assert profile_calls.SEED_NAME not in f["title"]
    if severity == "info":
        assert f["penalty"] <= 6 and f["action"].startswith("measure again")
    else:
        assert f["penalty"] >= 8 and not f["action"].startswith("measure again")
    # the seed alone, however slow, gives no finding at all
    assert profile_calls._findings(_slow_items(time_ms)[1:], ctx, busy) == []


# ---------------------------------------------------------------------------------- the cache hit ratio


def test_the_cache_hit_ratio_is_judged_only_when_reads_outgrow_the_cache(dsn: str, small_cache_proc) -> None:
    """A database that fits in shared_buffers, whose reads since the statistics began are all first reads,
    gives no cache_hit finding however low its ratio (no larger cache avoids a first read): the section says
    why. Where the cache holds a sliver of the database and blocks are read again, the same levels cross."""
    th = profile_calls.Thresholds()
    th.set("warning", "cache_hit", 1.01)  # every real ratio is below it: only whether it is judged decides
    with psycopg.connect(dsn) as conn:  # 10,000 block requests and more, all hits after the first reads
        conn.execute("SET enable_hashjoin = off; SET enable_mergejoin = off")  # an index probe per attribute
        for _ in range(10):
            conn.execute("SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid").fetchone()
    roomy = valid(profile.run(dsn, thresholds=th, **FAST))
    db = roomy["sections"]["database"]
    assert db["blocks_hit"] + db["blocks_read"] >= 10_000, db
    assert not db["cache_hit_judged"] and "first read" in db["cache_hit_note"]
    assert "cache_hit" not in kinds(roomy)
    assert "Cache hit ratio not judged" in profile_markdown.render(roomy)

    small = small_cache_library(small_cache_proc)
    cramped = valid(profile.run(small, thresholds=th, **FAST))
    db = cramped["sections"]["database"]
    assert db["cache_hit_judged"] and db["cache_hit_note"] is None
    assert db["blocks_read"] > db["shared_buffers_blocks"] == 128, db
    assert "cache_hit" in kinds(cramped)
