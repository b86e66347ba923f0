"""The SQL ships inside the wheel: build it, install it in a scratch venv, migrate from outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_installed_wheel_finds_its_sql(tmp_path: Path, server_dsn) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("midicenter-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "runner/db/migrations/0001_create_schema.sql" in names
    assert any(n.startswith("runner/db/functions/") for n in names)
    assert "runner/queries.sql" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    vpy = venv / "bin" / "python"
    site = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies come from the test venv; midicenter itself only from the wheel
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(vpy), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)

    where = subprocess.run([str(vpy), "-c", "import runner.schema as s; print(s.__file__); print(s.sql_root())"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert where[0].startswith(str(venv)) and where[1].startswith(str(venv)), where

    dsn = server_dsn()
    out = subprocess.run([str(venv / "bin" / "midicenter"), "--dsn", dsn, "db", "migrate", "--json"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('midi.file_paths') IS NOT NULL").fetchone()[0]
