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

SNAPSHOT = Path(__file__).with_name("catalog.snapshot.sql")
NAME = re.compile(r"^(\d{4})_[a-z]+(_[a-z0-9]+)+\.sql$")


def pg_dump_schema(dsn: str) -> str:
    """The midi schema as pg_dump prints it (Debian's pg_dump matching the test server)."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    p = conninfo.conninfo_to_dict(dsn)
    out = subprocess.run(
        [str(bindir), "--schema-only", "--no-owner", "--no-privileges", "--schema=midi",
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


def test_function_files_are_ordered_and_commented() -> None:
    files = schema.function_files()
    assert files and all(re.match(r"^\d\d_[a-z0-9_]+\.sql$", f.name) for f in files)


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


def test_catalog_matches_the_committed_snapshot(dsn: str) -> None:
    """Drift guard: the catalog built from migrations + functions equals tests/catalog.snapshot.sql.
    After an intended schema change, regenerate with MIDICENTER_UPDATE_SNAPSHOT=1 and review the diff."""
    current = pg_dump_schema(dsn)
    if os.environ.get("MIDICENTER_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot: run with MIDICENTER_UPDATE_SNAPSHOT=1"
    if current != SNAPSHOT.read_text():
        import difflib

        diff = "".join(difflib.unified_diff(SNAPSHOT.read_text().splitlines(True), current.splitlines(True),
                                            "snapshot", "database", n=1))
        pytest.fail(f"catalog drifted from tests/catalog.snapshot.sql:\n{diff[:6000]}")
