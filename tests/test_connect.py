"""Connection resolution order, one-line connection errors, and the embedded server's life cycle."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from runner import connect


def test_resolution_order() -> None:
    full = {"MIDICENTER_DSN": "dbname=a", "DATABASE_URL": "postgresql:///b", "PGHOST": "/tmp", "PGDATABASE": "c"}
    assert connect.resolve("dbname=opt", full) == connect.Target("dbname=opt", "--dsn")
    assert connect.resolve(None, full) == connect.Target("dbname=a", "MIDICENTER_DSN")
    no_mc = {k: v for k, v in full.items() if k != "MIDICENTER_DSN"}
    assert connect.resolve(None, no_mc) == connect.Target("postgresql:///b", "DATABASE_URL")
    pg_only = {"PGHOST": "/tmp"}
    assert connect.resolve(None, pg_only) == connect.Target("", "PG* environment")
    assert connect.resolve(None, {"PGDATABASE": "x"}).source == "PG* environment"
    assert connect.resolve(None, {"PGUSER": "x", "PGPORT": "5"}).source == "embedded"
    assert connect.resolve(None, {}).source == "embedded"
    assert connect.resolve("", {"MIDICENTER_DSN": ""}).source == "embedded"


def test_describe_masks_passwords() -> None:
    t = connect.Target("host=db user=u password=secret dbname=m", "--dsn")
    assert "secret" not in t.describe() and "***" in t.describe()


def test_yoyo_uri_keeps_socket_and_options() -> None:
    uri = connect.yoyo_uri("host='/tmp/some dir' port=5433 user=u dbname=my-db")
    assert uri.startswith("postgresql+psycopg:///my-db?")
    from yoyo.connections import parse_uri

    parsed = parse_uri(uri)
    assert parsed.database == "my-db"
    assert parsed.args == {"host": "/tmp/some dir", "port": "5433", "user": "u"}


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("MIDICENTER_DSN", "DATABASE_URL", "PGHOST", "PGDATABASE")}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], capture_output=True, text=True, env=e,
                          timeout=120)


def test_connection_error_is_one_line_without_traceback(tmp_path) -> None:
    out = run_cli("--dsn", f"host={tmp_path} port=1 dbname=nope connect_timeout=2", "db", "status")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("midicenter: error: cannot connect to --dsn:") and "Traceback" not in out.stderr
    assert "check the server is running" in lines[0]


def test_migrate_against_a_dsn(server_dsn) -> None:
    dsn = server_dsn()
    out = run_cli("db", "migrate", "--json", env={"MIDICENTER_DSN": dsn})
    assert out.returncode == 0, out.stderr
    assert '"pending": 0' in out.stdout and '"target": "MIDICENTER_DSN"' in out.stdout
    again = run_cli("--dsn", dsn, "db", "migrate", "--json")
    assert '"applied": []' in again.stdout
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('midi.files') IS NOT NULL").fetchone()[0]


@pytest.mark.slow
def test_embedded_server_lifecycle(tmp_path) -> None:
    home = tmp_path / "home"
    env = {"MIDICENTER_HOME": str(home)}
    try:
        out = run_cli("db", "server", "start", "--json", env=env)
        assert out.returncode == 0, out.stderr
        assert '"running": true' in out.stdout
        again = run_cli("db", "server", "start", "--json", env=env)  # a second start is a no-op
        assert again.returncode == 0 and '"running": true' in again.stdout
        assert out.stdout.split('"pid": ')[1].split(",")[0] == again.stdout.split('"pid": ')[1].split(",")[0]
        mig = run_cli("db", "migrate", "--json", env=env)
        assert mig.returncode == 0 and '"target": "embedded"' in mig.stdout, mig.stderr
        server = connect.EmbeddedServer(home)
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("SELECT count(*) FROM midi.files").fetchone()[0] == 0
            # unix socket only: the server listens on no TCP address
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        stop = run_cli("db", "server", "stop", "--json", env=env)
        assert stop.returncode == 0 and '"running": false' in stop.stdout
        status = run_cli("db", "server", "status", "--json", env=env)
        assert '"running": false' in status.stdout
        # with the server stopped, a command starts it on demand
        mig2 = run_cli("db", "status", "--json", env=env)
        assert mig2.returncode == 0 and '"applied": true' in mig2.stdout, mig2.stderr
    finally:
        connect.EmbeddedServer(home).stop()
