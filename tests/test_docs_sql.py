"""Every SQL example in README.md and docs/ runs, through psql, against the fixture library
(db/tests/fixtures/search_library.sql) and prints what the doc shows, so the manual cannot drift.

An example is a top-level ```sql block. What it prints is written under its statements as comment lines
starting at the first column (`-- ` followed by psql's output line); blank lines are not compared. A block
whose output cannot be stable (a query plan, a timing) says so in its first line, visibly:
`-- not executed: <why>`; the test lists those and counts them.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from runner import clients, schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIXTURE = schema.pgtap_dir() / "fixtures" / "search_library.sql"
NOT_EXECUTED = "-- not executed:"
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^`\s]*)")
TOTALS: dict = {"run": 0}  # blocks run and matched, for the summary line of `make test`


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def sql_blocks(path: Path) -> list[Block]:
    """The top-level ```sql blocks of a Markdown file (a fence inside a longer fence is content)."""
    out = []
    fence, info, start, body = None, "", 0, []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fence is None:
            m = FENCE.match(line)
            if m:
                fence, info, start, body = m.group(1), m.group(2).lower(), n, []
        elif line.strip().startswith(fence[0] * len(fence)) and set(line.strip()) == {fence[0]}:
            if info == "sql":
                out.append(Block(str(path.relative_to(ROOT)), start, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{path}: a code fence opened at line {start} never closes"
    return out


BLOCKS = [b for doc in DOCS for b in sql_blocks(doc)]
RUN = [b for b in BLOCKS if not b.text.lstrip().startswith(NOT_EXECUTED)]
SKIPPED = [b for b in BLOCKS if b not in RUN]


def shown(block: Block) -> list[str]:
    """The output a block shows: its first-column comment lines, without the `-- ` (blank ones dropped)."""
    lines = [ln[3:] if ln.startswith("-- ") else ln[2:] for ln in block.text.splitlines() if ln.startswith("--")]
    return [ln.rstrip() for ln in lines if ln.strip()]


def printed(dsn: str, block: Block) -> list[str]:
    """What psql prints for the block (footers off, UTC), blank lines dropped."""
    params = conninfo.conninfo_to_dict(dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"PGTZ": "UTC", "PGDATESTYLE": "ISO"}
    if params.get("password"):
        env["PGPASSWORD"] = str(params.pop("password"))
    out = subprocess.run([clients.find("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-P", "footer=off",
                          "-d", conninfo.make_conninfo(**params)],
                         input=block.text, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, f"{block.id}: psql failed:\n{out.stderr}"
    return [ln.rstrip() for ln in out.stdout.splitlines() if ln.strip()]


def test_the_docs_have_sql_examples_and_say_which_are_not_run() -> None:
    with_examples = {b.doc for b in RUN}
    assert {"README.md", "docs/sql-api.md", "docs/import.md", "docs/analysis.md"} <= with_examples, with_examples
    assert len(RUN) >= 9, [b.id for b in RUN]
    for b in SKIPPED:
        reason = b.text.lstrip().splitlines()[0][len(NOT_EXECUTED):].strip()
        assert len(reason) > 10, f"{b.id}: say why the block is not executed"
    assert len(SKIPPED) <= 2, [b.id for b in SKIPPED]
    TOTALS["not_executed"] = [b.id for b in SKIPPED]


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_sql_example_prints_what_the_doc_shows(block: Block, dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(FIXTURE.read_text(encoding="utf-8"))
        conn.execute("SELECT midi.refresh_views()")
    expected = shown(block)
    assert expected, f"{block.id}: the block shows no output to compare"
    got = printed(dsn, block)
    if got != expected:
        diff = "\n".join(f"-- {ln}" for ln in got)
        pytest.fail(f"{block.id} drifted from what psql prints now; psql prints:\n{diff}", pytrace=False)
    TOTALS["run"] += 1


