"""One pytest test per pgTAP file in db/tests, run through pg_prove against a clone of the template."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from psycopg import conninfo

from runner.schema import pgtap_dir
from tests import servers

PGTAP_FILES = sorted(pgtap_dir().glob("*.sql"))
TOTALS = {"files": 0, "tests": 0}


def test_pgtap_files_exist() -> None:
    assert len(PGTAP_FILES) >= 6, PGTAP_FILES


@pytest.mark.parametrize("path", PGTAP_FILES, ids=[p.name for p in PGTAP_FILES])
def test_pgtap(path, dsn: str) -> None:
    pg_prove = shutil.which("pg_prove")
    assert pg_prove, "pg_prove missing: apt-get install libtap-parser-sourcehandler-pgtap-perl"
    p = conninfo.conninfo_to_dict(dsn)
    cmd = [pg_prove, "--verbose", "--psql-bin", servers.tool("psql"), "--host", str(p["host"]), "--port", str(p["port"]),
           "--username", str(p["user"]), "--dbname", str(p["dbname"]), str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "Result: PASS" in report, report
    m = re.search(r"Files=(\d+), Tests=(\d+)", report)
    assert m and int(m.group(2)) > 0, report
    TOTALS["files"] += int(m.group(1))
    TOTALS["tests"] += int(m.group(2))
