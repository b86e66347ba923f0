"""Migrations: naming convention, idempotence, rollback symmetry and a committed catalog snapshot."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from runner import schema
from tests import servers

SNAPSHOT = Path(__file__).with_name("catalog.snapshot.sql")
NAME = re.compile(r"^(\d{4})_[a-z]+(_[a-z0-9]+)+\.sql$")


def pg_dump_schema(dsn: str) -> str:
    """The midi schema as pg_dump prints it (the pg_dump next to the test server's binaries)."""
    p = conninfo.conninfo_to_dict(dsn)
    out = subprocess.run(
        [servers.tool("pg_dump"), "--schema-only", "--no-owner", "--no-privileges", "--schema=midi",
         "-h", str(p["host"]), "-p", str(p["port"]), "-U", str(p["user"]), str(p["dbname"])],
        capture_output=True, text=True, check=True)
    lines = [ln for ln in out.stdout.splitlines() if not ln.startswith("--") and not ln.startswith("\\")]
    return "\n".join(ln for ln in lines if ln.strip()) + "\n"


def test_migration_files_follow_the_convention() -> None:
    forward = sorted(p for p in schema.migrations_dir().glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert forward, "no migrations"
    previous = None
    for i, path in enumerate(forward, start=1):
        assert NAME.match(path.name), f"{path.name}: expected NNNN_verb_object.sql"
        assert int(path.name[:4]) == i, f"{path.name}: numbers must run 0001, 0002, ... without gaps"
        rollback = path.with_name(path.stem + ".rollback.sql")
        assert rollback.exists(), f"{path.name} has no rollback file"
        head = []
        for line in path.read_text().splitlines():
            if not line.startswith("--"):
                break
            head.append(line)
        depends = [ln for ln in head if ln.startswith("-- depends:")]
        assert len(depends) == 1, f"{path.name}: one '-- depends:' line in the leading comment block"
        want = previous or ""
        assert depends[0].removeprefix("-- depends:").strip() == want, f"{path.name} must depend on {want!r}"
        previous = path.stem
    for rb in schema.migrations_dir().glob("*.rollback.sql"):
        assert rb.with_name(rb.name.replace(".rollback", "")).exists(), f"orphan rollback {rb.name}"


CREATE_FUNCTION = re.compile(r"(?im)^CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE)\s+midi\.(\w+)")


def uncommented_functions(text: str) -> list[str]:
    """Functions created in one SQL file whose nearest block comment above does not name them (one comment
    may describe a pair of functions defined one after the other)."""
    missing = []
    for m in CREATE_FUNCTION.finditer(text):
        before = text[:m.start()]
        end = before.rfind("*/")
        start = before.rfind("/*", 0, end) if end >= 0 else -1
        if start < 0 or not re.search(rf"\b{m.group(1)}\b", before[start:end]):
            missing.append(m.group(1))
    return missing


def test_uncommented_function_detector() -> None:
    """The check below is not vacuous: each way of missing the comment is caught."""
    ok = "/* f: what it does. */\nCREATE OR REPLACE FUNCTION midi.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
    assert uncommented_functions(ok) == []
    assert uncommented_functions("-- f: a line comment\nCREATE FUNCTION midi.f() RETURNS int AS $$ SELECT 1 $$;") == ["f"]
    assert uncommented_functions("/* g: another */\nCREATE FUNCTION midi.f() RETURNS int AS $$ SELECT 1 $$;") == ["f"]
    assert uncommented_functions(ok + "CREATE OR REPLACE FUNCTION midi.g() RETURNS int AS $$ SELECT 2 $$;") == ["g"]


def test_function_files_are_ordered_and_every_function_has_a_block_comment() -> None:
    files = schema.function_files()
    assert files and all(re.match(r"^\d\d_[a-z0-9_]+\.sql$", f.name) for f in files)
    forward = [p for p in schema.migrations_dir().glob("*.sql") if not p.name.endswith(".rollback.sql")]
    missing = {f.name: m for f in [*files, *forward] if (m := uncommented_functions(f.read_text()))}
    assert not missing, f"functions without a block comment above them: {missing}"


def test_every_function_has_a_catalog_comment(dsn: str) -> None:
    """COMMENT ON FUNCTION for every function of schema midi (those of extensions installed into it aside),
    so \\df+ in psql explains each."""
    with psycopg.connect(dsn) as conn:
        total, missing = conn.execute("""
            SELECT count(*), array_agg(p.oid::regprocedure::text ORDER BY 1)
                             FILTER (WHERE coalesce(obj_description(p.oid, 'pg_proc'), '') = '')
              FROM pg_proc p
             WHERE p.pronamespace = 'midi'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                  AND d.objid = p.oid AND d.deptype = 'e')""").fetchone()
    assert total > 50
    assert not missing, f"functions without COMMENT ON FUNCTION: {missing}"


def test_migrate_twice_is_a_noop(server_dsn) -> None:
    dsn = server_dsn()
    first = schema.migrate(dsn)
    assert first == [s.id for s in schema.status(dsn)]
    before = pg_dump_schema(dsn)
    assert schema.migrate(dsn) == []
    assert pg_dump_schema(dsn) == before
    assert all(s.applied for s in schema.status(dsn))


def test_rollback_all_then_migrate_gives_the_same_catalog(server_dsn) -> None:
    dsn = server_dsn()
    schema.migrate(dsn)
    before = pg_dump_schema(dsn)
    rolled = schema.rollback(dsn, all_=True).rolled_back
    assert len(rolled) == len(schema.status(dsn))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'midi'").fetchone()[0] == 0
    schema.migrate(dsn)
    assert pg_dump_schema(dsn) == before


def test_rollback_one_step_at_a_time(server_dsn) -> None:
    dsn = server_dsn()
    schema.migrate(dsn)
    ids = [s.id for s in schema.status(dsn)]
    for expected in reversed(ids):
        assert schema.rollback(dsn, count=1).rolled_back == [expected]
    assert not any(s.applied for s in schema.status(dsn))
    schema.migrate(dsn)
    assert all(s.applied for s in schema.status(dsn))


@pytest.mark.server("debian")
def test_catalog_matches_the_committed_snapshot_of_debian_pg_dump(dsn: str) -> None:
    """Drift guard: the catalog built from migrations + functions equals tests/catalog.snapshot.sql, the text
    Debian's pg_dump (15) prints (pg_dump 18 prints views differently, so it runs in the debian run only).

    After an intended schema change, run once with MIDICENTER_UPDATE_SNAPSHOT=1: the snapshot is rewritten
    and the test fails on purpose (so a CI run with the variable set can never pass); review the diff,
    commit it, and run again without the variable."""
    current = pg_dump_schema(dsn)
    if os.environ.get("MIDICENTER_UPDATE_SNAPSHOT"):
        changed = not SNAPSHOT.exists() or SNAPSHOT.read_text() != current
        SNAPSHOT.write_text(current)
        pytest.fail(f"MIDICENTER_UPDATE_SNAPSHOT is set: tests/catalog.snapshot.sql {'rewritten' if changed else 'unchanged'};"
                    " review `git diff tests/catalog.snapshot.sql`, then run the tests again without the variable")
    assert SNAPSHOT.exists(), "no snapshot: run once with MIDICENTER_UPDATE_SNAPSHOT=1"
    if current != SNAPSHOT.read_text():
        import difflib

        diff = "".join(difflib.unified_diff(SNAPSHOT.read_text().splitlines(True), current.splitlines(True),
                                            "snapshot", "database", n=1))
        pytest.fail(f"catalog drifted from tests/catalog.snapshot.sql:\n{diff[:6000]}")
