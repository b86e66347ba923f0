"""The embedded server stays private under any user, root included: no folder above it is opened to
other users, its socket folder admits no one else, its own postgresql.conf keeps a start by hand
socket-only and private, and another local user's connection is refused by file permissions."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner import acl, connect

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="trying the connection as another local user needs a second OS user, and only root can "
                     "create one (useradd) and run a command as it (runuser)")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MIDICENTER_DSN", "DATABASE_URL", "PGHOST", "PGDATABASE")}
    env["MIDICENTER_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def folders_above(path: Path) -> list[Path]:
    return [*reversed(path.parents)]


def other_rights(path: Path) -> int:
    return path.stat().st_mode & 0o007


def acl_entries(path: Path) -> set[tuple[int, int, int]]:
    try:
        return set(acl.read(path))
    except acl.AclUnsupported:
        return set()


@pytest.fixture
def private_base() -> Iterator[Path]:
    """A folder only its owner may enter, as a user's home folder is (the servers go below it); their
    servers are stopped and everything removed after the test. Not under pytest's tmp_path: every pytest
    session of the same user takes group and other rights off that shared root (chmod, which also masks
    ACL entries), and the folders above it must stay as the test found them."""
    base = Path(tempfile.mkdtemp(prefix="mc-private-"))
    try:
        yield base
    finally:
        for home in base.iterdir():
            server = connect.EmbeddedServer(home)
            server.stop()
            digest = hashlib.sha256(os.fsencode(server.pgdata)).hexdigest()[:16]
            shutil.rmtree(Path(tempfile.gettempdir()) / f"midicenter-{digest}", ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def other_user() -> Iterator[str]:
    """A throwaway local OS user, removed after the test."""
    name = f"mcprobe{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def psql_as(user: str, socket_dir: Path) -> subprocess.CompletedProcess:
    psql = shutil.which("psql") or str(connect.EmbeddedServer().bin_dir / "psql")
    return subprocess.run(["runuser", "-u", user, "--", psql, "-X", "-h", str(socket_dir), "-U", "postgres",
                           "-d", "midicenter", "-c", "SELECT 1"], capture_output=True, text=True, cwd="/",
                          timeout=60)


# a home folder whose socket fits in the data directory, and one too long for that (the socket folder
# then lives in the temp directory)
HOMES = {"short": "home", "long": "home-" + "x" * 70}


def start(home: Path) -> tuple[dict, Path]:
    before = {p: (other_rights(p), acl_entries(p)) for p in folders_above(home)}
    out = cli(home, "db", "server", "start", "--json")
    assert out.returncode == 0, out.stderr
    server = connect.EmbeddedServer(home)
    info = server.running_info()
    assert info is not None and info.socket_dir is not None
    return before, Path(info.socket_dir)


def assert_nothing_opened(before: dict, server_uid: int | None) -> None:
    for folder, (rights, entries) in before.items():
        assert other_rights(folder) == rights, f"{folder}: other users' rights changed"
        added = acl_entries(folder) - entries
        named = {(tag, perm, uid) for tag, perm, uid in added if tag == acl.USER}
        # at most the server's own user may gain one traverse-only entry (and the mask that carries it)
        assert named <= {(acl.USER, acl.EXECUTE, server_uid)}, f"{folder}: {named}"
        assert all(tag in (acl.USER, acl.MASK) for tag, _, _ in added), f"{folder}: {added}"


def assert_private_socket(socket_dir: Path) -> None:
    st = socket_dir.stat()
    assert st.st_mode & 0o077 == 0, f"{socket_dir} is open to others: {stat.filemode(st.st_mode)}"
    sock = socket_dir / ".s.PGSQL.5432"
    assert stat.S_ISSOCK(sock.stat().st_mode) and sock.stat().st_mode & 0o077 == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(HOMES))
def test_start_opens_nothing_and_configures_a_private_socket(private_base: Path, kind: str) -> None:
    home = private_base / HOMES[kind]
    before, socket_dir = start(home)
    server_uid = connect.pwd.getpwnam(connect.SERVER_OS_USER).pw_uid if ROOT else None
    assert_nothing_opened(before, server_uid)
    assert stat.S_IMODE(home.stat().st_mode) & 0o077 in (0, 0o010)  # made 0700 (0710 shows the ACL mask)
    assert (socket_dir == home / "pgdata") == (kind == "short")
    assert_private_socket(socket_dir)
    conf = (home / "pgdata" / "postgresql.conf").read_text()
    assert "listen_addresses = ''" in conf and "unix_socket_permissions = 0700" in conf
    with psycopg.connect(connect.EmbeddedServer(home).dsn()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SHOW unix_socket_permissions").fetchone()[0] == "0700"
        hba = conn.execute("SELECT type, auth_method FROM pg_hba_file_rules WHERE type <> 'local'").fetchall()
        assert hba and all(method == "reject" for _, method in hba)


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("kind", sorted(HOMES))
def test_another_local_user_cannot_connect(private_base: Path, other_user: str, kind: str) -> None:
    home = private_base / HOMES[kind]
    _, socket_dir = start(home)
    out = psql_as(other_user, socket_dir)
    assert out.returncode != 0
    assert "Permission denied" in out.stderr, out.stderr
    # while the server's own OS user and root may
    assert psql_as(connect.SERVER_OS_USER, socket_dir).returncode == 0


@pytest.mark.slow
def test_a_start_by_hand_is_socket_only_and_private(private_base: Path, request: pytest.FixtureRequest) -> None:
    home = private_base / HOMES["short"]
    start(home)
    server = connect.EmbeddedServer(home)
    assert cli(home, "db", "server", "stop").returncode == 0
    # pg_ctl with no options at all, as an operator would run it (as the server's OS user when root)
    pg_ctl = [str(server.bin_dir / "pg_ctl"), "-D", str(server.pgdata), "-l", str(server.pgdata / "log"), "-w", "start"]
    subprocess.run(["runuser", "-u", connect.SERVER_OS_USER, "--", *pg_ctl] if ROOT else pg_ctl, check=True,
                   capture_output=True, cwd="/", timeout=90)
    info = server.running_info()
    assert info is not None and Path(info.socket_dir) == home / "pgdata"
    assert_private_socket(Path(info.socket_dir))
    with psycopg.connect(server.dsn()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
    if ROOT:
        other = request.getfixturevalue("other_user")
        out = psql_as(other, Path(info.socket_dir))
        assert out.returncode != 0 and "Permission denied" in out.stderr, out.stderr
