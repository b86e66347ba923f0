"""psql for everyone: `midicenter db dsn` prints the connection string of whatever database midicenter
resolved, and `midicenter db psql [ARGS]` runs psql on it, on a DSN, on libpq's PG* variables and on the
embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import conninfo

from runner import clients, connect, schema
from runner.cli import cli

FIXTURE = schema.pgtap_dir() / "fixtures" / "search_library.sql"
COUNT = "SELECT count(*) FROM midi.files"


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command in a child process (psql writes to the real stdout, not click's)."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("MIDICENTER_DSN", "DATABASE_URL") and not k.startswith("PG")}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], capture_output=True, text=True, env=e,
                          timeout=180)


@pytest.fixture
def lib(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        conn.execute(FIXTURE.read_text(encoding="utf-8"))
    return dsn


def test_db_psql_runs_sql_on_a_dsn(lib: str) -> None:
    out = run_cli("--dsn", lib, "db", "psql", "-c", COUNT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["count", "-------", "10", "(1", "row)"]
    # every argument goes to psql as it is, and psql's exit status comes back
    tuples = run_cli("--dsn", lib, "db", "psql", "-tA", "-c", "SELECT filename FROM midi.search(q => 'bass', lim => 2)")
    assert tuples.stdout.splitlines() == ["Deep_House_Bass_124bpm_Am.mid", "Riser_FX.mid"]
    bad = run_cli("--dsn", lib, "db", "psql", "-v", "ON_ERROR_STOP=1", "-c", "SELECT nosuch")
    assert bad.returncode != 0 and 'column "nosuch" does not exist' in bad.stderr
    via_env = run_cli("db", "psql", "-tAc", COUNT, env={"MIDICENTER_DSN": lib})
    assert via_env.returncode == 0 and via_env.stdout.strip() == "10", via_env.stderr


def test_db_dsn_prints_what_any_client_connects_with(lib: str) -> None:
    plain = run_cli("--dsn", lib, "db", "dsn")
    assert plain.returncode == 0 and plain.stdout.strip() == lib
    uri = run_cli("--dsn", lib, "db", "dsn", "--uri").stdout.strip()
    assert uri.startswith("postgresql://") and conninfo.conninfo_to_dict(uri) == conninfo.conninfo_to_dict(lib)
    with psycopg.connect(uri) as conn:
        assert conn.execute(COUNT).fetchone() == (10,)
    info = json.loads(run_cli("--dsn", lib, "db", "dsn", "--json").stdout)
    assert info == {"dsn": lib, "uri": uri, "source": "--dsn"}


def test_db_dsn_and_psql_on_libpq_variables(lib: str) -> None:
    params = conninfo.conninfo_to_dict(lib)
    env = {"PGHOST": str(params["host"]), "PGPORT": str(params["port"]), "PGUSER": str(params["user"]),
           "PGDATABASE": str(params["dbname"])}
    shown = run_cli("db", "dsn", env=env)
    assert shown.returncode == 0, shown.stderr
    assert conninfo.conninfo_to_dict(shown.stdout.strip()) == {k: str(v) for k, v in params.items()}
    out = run_cli("db", "psql", "-tAc", COUNT, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "10", out.stderr


@pytest.mark.slow
def test_db_psql_on_the_embedded_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"MIDICENTER_HOME": str(home)}
    try:
        out = run_cli("db", "psql", "-c", COUNT, env=env)  # starts and migrates the embedded server
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["count", "-------", "0", "(1", "row)"]
        dsn = run_cli("db", "dsn", env=env).stdout.strip()
        assert conninfo.conninfo_to_dict(dsn)["host"] == str(home.resolve() / "pgdata")
        uri = run_cli("db", "dsn", "--uri", env=env).stdout.strip()
        with psycopg.connect(uri) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("midicenter",)
    finally:
        connect.EmbeddedServer(home).stop()


def test_db_psql_without_psql_names_what_to_install(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "candidates", lambda name: [])  # a machine with no psql anywhere
    result = CliRunner().invoke(cli, ["--dsn", dsn, "db", "psql", "-c", COUNT])
    assert result.exit_code == 1
    assert "psql not found" in result.stderr and "postgresql-client" in result.stderr, result.stderr


def test_client_programs_are_found_embedded_first() -> None:
    found = clients.candidates("psql")
    assert found and found[0] == connect.EmbeddedServer().bin_dir / "psql"
    assert Path(clients.find("psql")).is_file()
