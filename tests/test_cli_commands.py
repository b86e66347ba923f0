"""Every user command through the installed `midicenter` (and `make demo`), as a person runs it: the demo,
the benchmarks at small sizes, rollback with and without its confirmation, import --prune, analyze
--reanalyze, and the progress display under a real pseudo-terminal (drawn there, silent with --quiet and
when stderr is not a terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from runner import connect, importer, schema
from runner.bench import library
from runner.bench.cache import libs_dir
from tests import corpus

MIDICENTER = str(Path(sys.executable).with_name("midicenter"))
REPO = Path(__file__).resolve().parent.parent
NO_TARGET = ("MIDICENTER_DSN", "DATABASE_URL", "PGHOST", "PGDATABASE", "PGPORT", "PGUSER")


def midicenter(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MIDICENTER, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def on_terminal(cmd: list[str], answer: str = "", *, tty_stdin: bool = False, timeout: float = 300,
                env: dict | None = None) -> tuple[int, str, str]:
    """Run cmd with stderr (and stdin, if asked) on a pseudo-terminal, stdout on a pipe; type ``answer``.
    Returns (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave if tty_stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    if answer:
        os.write(master, answer.encode())
    out_fd = proc.stdout.fileno()
    got = {master: b"", out_fd: b""}
    open_fds = set(got)
    deadline = time.monotonic() + timeout
    try:
        while open_fds:  # drain both while the command runs, so it never blocks on a full buffer
            assert time.monotonic() < deadline, f"{cmd} did not finish in {timeout} s"
            for fd in select.select(list(open_fds), [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal has no holder left
                    chunk = b""
                if chunk:
                    got[fd] += chunk
                else:
                    open_fds.discard(fd)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        os.close(master)
    return proc.returncode, got[out_fd].decode(), got[master].decode(errors="replace")


def draws(shown: str) -> list[str]:
    """The successive states of a one-line display (tqdm redraws with a carriage return)."""
    return [d.strip() for d in re.split(r"[\r\n]+", shown) if d.strip()]


def fetch(dsn: str, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


def bench_databases(dsn: str) -> list[str]:
    return [r[0] for r in fetch(dsn, "SELECT datname FROM pg_database WHERE datname LIKE 'midicenter_bench_%'")]


@pytest.fixture(scope="session")
def real() -> Path:
    return corpus.real_corpus()


@pytest.fixture(scope="session")
def generated() -> Path:
    """The 12,000-file generated library the import and analysis tests share (built once, cached)."""
    return library.generate(libs_dir(), 12_000, seed=3)


# ------------------------------------------------------------------------------------------ db rollback


def applied(dsn: str) -> list[bool]:
    return [s.applied for s in schema.status(dsn)]


def test_rollback_without_a_terminal_needs_yes(server_dsn) -> None:
    dsn = server_dsn()
    schema.migrate(dsn)
    n = len(applied(dsn))
    out = midicenter("--dsn", dsn, "db", "rollback")
    assert out.returncode == 1, out
    assert "confirm with --yes" in out.stderr and out.stdout == ""
    assert applied(dsn) == [True] * n  # nothing was rolled back
    out = midicenter("--dsn", dsn, "db", "rollback", "--yes", "--json")
    assert out.returncode == 0, out.stderr
    last = schema.status(dsn)[-1].id
    assert json.loads(out.stdout) == {"rolled_back": [last], "user_data_dropped": {}}
    assert applied(dsn) == [True] * (n - 1) + [False]


def test_rollback_on_a_terminal_asks_first(server_dsn) -> None:
    dsn = server_dsn()
    schema.migrate(dsn)
    n = len(applied(dsn))
    cmd = [MIDICENTER, "--dsn", dsn, "db", "rollback", "--count", "2", "--json"]
    code, out, shown = on_terminal(cmd, "n\n", tty_stdin=True)
    assert code == 1 and "Roll back the last 2 migration(s)?" in shown and "Aborted" in shown, shown
    assert out == "" and applied(dsn) == [True] * n
    code, out, shown = on_terminal(cmd, "y\n", tty_stdin=True)
    assert code == 0, shown
    assert len(json.loads(out)["rolled_back"]) == 2
    assert applied(dsn) == [True] * (n - 2) + [False, False]
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "db", "rollback", "--all", "--json"], "y\n",
                                   tty_stdin=True)
    assert code == 0 and "Roll back ALL migrations?" in shown, shown
    assert applied(dsn) == [False] * n
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regnamespace('midi')").fetchone()[0] is None


# --------------------------------------------------------------------------- import --prune, --reanalyze


def test_import_prune_through_the_cli(dsn: str, real: Path, tmp_path: Path) -> None:
    songs = sorted(p for p in real.rglob("*.mid") if p.stat().st_size > 2000)[:3]
    root = tmp_path / "lib"
    for i, song in enumerate(songs):
        (root / "Vendor" / "Old").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(song, root / "Vendor" / "Old" / f"song{i}.mid")
    first = midicenter("--dsn", dsn, "import", "--json", str(root))
    assert first.returncode == 0 and json.loads(first.stdout)["files_new"] == 3, first.stderr
    (root / "Vendor" / "Sorted").mkdir()  # sorts after Old: the canonical path moves only with --prune
    (root / "Vendor" / "Old" / "song0.mid").rename(root / "Vendor" / "Sorted" / "song0.mid")
    old, new = str(root / "Vendor" / "Old" / "song0.mid"), str(root / "Vendor" / "Sorted" / "song0.mid")

    plain = midicenter("--dsn", dsn, "import", "--json", str(root))  # without --prune nothing goes missing
    assert plain.returncode == 0, plain.stderr
    assert fetch(dsn, "SELECT count(*) FROM midi.file_paths WHERE missing_since IS NOT NULL") == [(0,)]
    assert fetch(dsn, "SELECT filepath FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id"
                      " WHERE p.path = %s", [new]) == [(old,)]

    pruned = midicenter("--dsn", dsn, "import", "--prune", "--json", str(root))
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["files_new"] == 0
    paths = dict(fetch(dsn, "SELECT path, missing_since IS NOT NULL FROM midi.file_paths"))
    assert paths == {old: True, new: False, **{str(root / "Vendor" / "Old" / f"song{i}.mid"): False for i in (1, 2)}}
    assert fetch(dsn, "SELECT filepath, filename FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id"
                      " WHERE p.path = %s", [new]) == [(new, "song0.mid")]


def test_analyze_reanalyze_through_the_cli(dsn: str, real: Path) -> None:
    importer.run_import(dsn, [real])
    n = fetch(dsn, "SELECT count(*) FROM midi.files")[0][0]
    first = midicenter("--dsn", dsn, "analyze", "--json", "--workers", "1")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["analyzed"] + json.loads(first.stdout)["errors"] == n
    stamps = dict(fetch(dsn, "SELECT id, analyzed_at FROM midi.files"))
    facts = fetch(dsn, "SELECT file_id, bpm, key_signature::text, total_notes FROM midi.musical_metadata ORDER BY 1")

    again = midicenter("--dsn", dsn, "analyze", "--json", "--workers", "1")
    assert (json.loads(again.stdout)["analyzed"], json.loads(again.stdout)["errors"]) == (0, 0)
    assert dict(fetch(dsn, "SELECT id, analyzed_at FROM midi.files")) == stamps

    redo = midicenter("--dsn", dsn, "analyze", "--reanalyze", "--json", "--workers", "1")
    assert redo.returncode == 0, redo.stderr
    assert json.loads(redo.stdout)["analyzed"] + json.loads(redo.stdout)["errors"] == n
    restamped = dict(fetch(dsn, "SELECT id, analyzed_at FROM midi.files"))
    assert all(restamped[i] > stamps[i] for i in stamps)  # every file was taken again
    assert fetch(dsn, "SELECT file_id, bpm, key_signature::text, total_notes FROM midi.musical_metadata"
                      " ORDER BY 1") == facts  # ... and came out the same


# ------------------------------------------------------------------------------------------------- demo


@pytest.mark.slow
@pytest.mark.server("embedded")
def test_make_demo_runs_at_a_small_size(tmp_path: Path) -> None:
    """The README's `make demo`, with the library size from MIDICENTER_DEMO_FILES, in a fresh home: it starts
    its own embedded server, generates, imports, analyzes and answers the demo question."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in NO_TARGET}
    env |= {"MIDICENTER_HOME": str(home), "MIDICENTER_DEMO_FILES": "200"}
    try:
        out = subprocess.run(["make", "-s", "demo"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)
    finally:
        connect.EmbeddedServer(home).stop()
    assert out.returncode == 0, out.stderr
    assert "database: embedded" in out.stderr and "generating a 200-file sample-pack library" in out.stderr
    lib = Path(re.search(r"importing (\S+) \.\.\.", out.stderr).group(1))
    truth = [t for t in library.truth(lib) if t.kind == "midi"]
    fields = dict(re.findall(r"^(files_seen|files_new|analyzed|errors)\s+(\d+)$", out.stdout, re.M))
    assert int(fields["files_seen"]) == len(truth)
    assert int(fields["files_new"]) == sum(t.duplicate_of is None for t in truth)
    assert int(fields["analyzed"]) + int(fields["errors"]) == int(fields["files_new"])
    for title in ("== import", "== analyze", "== manufacturers", "== a question"):
        assert title in out.stderr
    question = out.stdout.split("filename ")[-1].splitlines()[1:]  # the last table: the demo question's rows
    assert question, out.stdout
    for row in question:
        cols = row.split()
        if cols == ["(none)"]:
            continue
        bpm, key = float(cols[-3]), cols[-2]
        assert key == "Cm" and 120 <= bpm <= 128, row


# ------------------------------------------------------------------------------------------- progress


def test_import_progress_on_a_terminal(dsn: str, real: Path) -> None:
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "import", "--json", str(real)])
    assert code == 0, shown
    assert json.loads(out)["files_seen"] > 0
    last = draws(shown)[-1]
    m = re.fullmatch(r"import: ([\d,]+) files, ([\d.]+ [kMG]?B) read, ([\d,]+) files/s, ([\d,]+) errors, in (.+)", last)
    assert m, last
    assert int(m.group(1).replace(",", "")) == json.loads(out)["files_seen"]
    folder = m.group(5)  # the folder being read, its start cut to fit when long
    folders = {str(d) for d in real.rglob("*") if d.is_dir()}
    assert folder in folders or (folder.startswith("...") and any(f.endswith(folder[3:]) for f in folders)), folder
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "import", "--quiet", "--json", str(real)])
    assert code == 0 and json.loads(out)["files_new"] == 0 and shown == ""


def test_analyze_progress_on_a_terminal_shows_total_percent_and_time_left(dsn: str, generated: Path) -> None:
    importer.run_import(dsn, [generated])
    cmd = [MIDICENTER, "--dsn", dsn, "analyze", "--limit", "3000", "--batch-size", "100", "--workers", "1", "--json"]
    code, out, shown = on_terminal(cmd)
    assert code == 0, shown
    result = json.loads(out)
    assert result["analyzed"] + result["errors"] == 3000
    states = [re.fullmatch(r"analyze: ([\d,]+)/([\d,]+) files +(\d+)% \|.*\| ([\d,]+) files/s, (\S+) left, (\d+) errors", d)
              for d in draws(shown)]
    assert states and all(states), draws(shown)
    assert {s.group(2) for s in states} == {"3,000"}  # the total: the run's share of midi.analysis_pending
    done = [int(s.group(1).replace(",", "")) for s in states]
    assert done == sorted(done) and done[-1] == 3000 and states[-1].group(3) == "100"
    middle = [s for s in states if 0 < int(s.group(3)) < 100]
    assert middle, draws(shown)  # drawn while running, not only at the end
    assert all(re.fullmatch(r"\d\d:\d\d", s.group(5)) for s in middle)  # time left, mm:ss
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "analyze", "--json", "--quiet", "--limit", "10"])
    assert code == 0 and shown == ""
    nothing = midicenter("--dsn", dsn, "analyze", "--json", "--limit", "10")  # stderr is a pipe: nothing drawn
    assert nothing.returncode == 0 and nothing.stderr == ""
