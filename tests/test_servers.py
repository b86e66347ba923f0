"""The suite runs on the server it says it runs on (tests/servers.py), pgTAP is copied into the embedded
server only when its files differ, and what the embedded server promises beyond Debian's (pgvector)."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests import servers


def test_the_test_server_is_the_chosen_one(dsn: str) -> None:
    """The running server's version is the one `postgres --version` of the chosen bin directory prints, so
    the embedded run cannot quietly fall back to Debian's binaries (or the other way round)."""
    printed = subprocess.run([str(servers.bin_dir() / "postgres"), "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[2]  # "postgres (PostgreSQL) 18.6 ..."
    with psycopg.connect(dsn) as conn:
        running = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    assert running == printed
    assert servers.classify() == servers.kind()


def test_install_pgtap_copies_only_what_differs(tmp_path: Path) -> None:
    sources = sorted(Path(p).name for p in glob.glob(servers.DEBIAN_PGTAP))
    assert "pgtap.control" in sources
    assert sorted(servers.install_pgtap(tmp_path)) == sources
    assert servers.install_pgtap(tmp_path) == []  # idempotent: a second run copies nothing
    (tmp_path / "pgtap.control").write_text("changed")
    assert servers.install_pgtap(tmp_path) == ["pgtap.control"]
    assert (tmp_path / "pgtap.control").read_bytes() == next(
        Path(p) for p in glob.glob(servers.DEBIAN_PGTAP) if p.endswith("/pgtap.control")).read_bytes()


@pytest.mark.server("embedded")
def test_the_embedded_server_ships_pgvector(dsn: str) -> None:
    """The design contract: pgvector is optional, and the embedded server (what users get) has it."""
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE EXTENSION vector")
        assert conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector").fetchone()[0] == 2.0
        conn.rollback()
