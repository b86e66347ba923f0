"""Shared fixtures: one throwaway PostgreSQL (Debian binaries, through pg_ctl_wrapper.sh so it also runs
as root), a template database loaded once with all migrations and db/functions, cloned per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo
from pytest_postgresql import factories

from runner import schema

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "pg_ctl_wrapper.sh"


def _dsn(host: str, port: int, user: str, dbname: str, password: str | None = None) -> str:
    return conninfo.make_conninfo(host=host, port=port, user=user, dbname=dbname, password=password or None)


def load_template(host: str, port: int, user: str, dbname: str, password: str | None = None, **_: object) -> None:
    """Build the template database: pgTAP for the SQL tests, then every migration and function file."""
    dsn = _dsn(host, port, user, dbname, password)
    with psycopg.connect(dsn, autocommit=True) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'").fetchone()
        if not available:
            pytest.exit("pgTAP is not installed for this PostgreSQL: apt-get install postgresql-15-pgtap", 3)
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
    schema.migrate(dsn)


postgresql_proc = factories.postgresql_proc(
    executable=str(WRAPPER),
    load=[load_template],
    postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
)
postgresql = factories.postgresql("postgresql_proc")


@pytest.fixture
def dsn(postgresql: psycopg.Connection) -> str:
    """A conninfo for this test's own database, cloned from the migrated template."""
    info = postgresql.info
    return _dsn(info.host, info.port, info.user, info.dbname, info.password)


@pytest.fixture
def server_dsn(postgresql_proc) -> Iterator[callable]:
    """A factory of conninfos for fresh, empty databases on the test server (dropped after the test)."""
    proc = postgresql_proc
    made: list[str] = []
    admin = _dsn(proc.host, proc.port, proc.user, "postgres", proc.password)

    def make() -> str:
        name = f"empty_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return _dsn(proc.host, proc.port, proc.user, name, proc.password)

    yield make
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter) -> None:
    """Report pgTAP's own count beside pytest's, so both numbers show in `make test`."""
    from tests.test_pgtap import TOTALS

    if TOTALS["files"]:
        terminalreporter.write_line(
            f"pgTAP: {TOTALS['tests']} assertions in {TOTALS['files']} files, all passed (pg_prove)"
        )
    from tests.test_docs_sql import TOTALS as DOCS

    if DOCS["run"] or DOCS.get("not_executed"):
        skipped = DOCS.get("not_executed", [])
        terminalreporter.write_line(f"docs SQL: {DOCS['run']} example blocks ran and printed what the docs show; "
                                    f"{len(skipped)} marked not executed ({', '.join(skipped) or '-'})")
