"""What ships apart from what builds and measures it: the installed package downloads nothing, `bench
analyze` reads its real songs from a folder the test tooling builds (and says how to build it when it is
missing), and the benches share one throwaway-database helper."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from runner import schema
from runner.bench import analyzebench, cputime, library
from runner.bench.scratch import throwaway_database
from runner.cli import cli
from tests import corpus

RUNNER = Path(schema.__file__).resolve().parent
# a package manager or downloader named as the program of a command (an argv element), or a URL fetch
FETCHING = re.compile(r"""["'](apt-get|apt|dpkg|dpkg-deb|curl|wget)["']|["']pip["'],\s*["'](download|install)["']"""
                      r"|urllib\.request|urlopen")


def test_the_installed_package_runs_no_package_manager_and_downloads_nothing() -> None:
    assert FETCHING.search('["apt-get", "download", package]') and FETCHING.search('[sys.executable, "-m", "pip", "download"]')
    found = [f"{p.relative_to(RUNNER)}:{n}: {line.strip()}"
             for p in sorted(RUNNER.rglob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
             if FETCHING.search(line)]
    assert not found, found


def test_bench_analyze_without_songs_names_the_command_that_builds_them(dsn: str, tmp_path: Path) -> None:
    empty = tmp_path / "songs"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["--dsn", dsn, "bench", "analyze", "--songs", str(empty), "--files", "100"])
    assert result.exit_code == 1
    assert "no real songs in" in result.stderr and "make corpus" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `make corpus` builds (with 500 ABC songs instead of 3,000), from the cached corpora."""
    try:
        return corpus.songs_corpus(500, dest=tmp_path_factory.mktemp("corpus") / "songs")
    except corpus.CorpusError as exc:  # a missing corpus is a failure, never a silent skip
        pytest.fail(f"the real corpus could not be built: {exc}")


def test_the_songs_folder_is_what_bench_analyze_reads(songs: Path) -> None:
    assert (songs / "MANIFEST").is_file() and (songs / "debian").is_dir() and (songs / "abc").is_dir()
    files = analyzebench.song_files(songs)
    assert len(files) == sum(rel != "TRUTH.tsv" for rel, _size, _hash in corpus.read_manifest(songs)) > 500
    truth = analyzebench.read_truth(songs)
    assert len(truth) == 500 and all(Path(p).is_file() for p in truth)
    keys = [key for _bpm, key in truth.values() if key]
    assert len(keys) > 300 and set(keys) <= set(analyzebench._NAMES) | {k + "m" for k in analyzebench._NAMES}
    assert corpus.songs_corpus(500, dest=songs) == songs, "built once"


def test_bench_analyze_small_run(dsn: str, songs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIDICENTER_CACHE", str(tmp_path / "cache"))
    few = tmp_path / "few"
    truth = analyzebench.read_truth(songs)
    picked = sorted(truth)[:40]
    for path in picked:
        target = few / Path(path).relative_to(songs)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (few / "TRUTH.tsv").write_text("path\tkey\tbpm\n" + "".join(
        f"{Path(p).relative_to(songs).as_posix()}\t{truth[p][1] or ''}\t{truth[p][0] or ''}\n" for p in picked))
    before = databases(dsn)
    result = CliRunner().invoke(cli, ["--dsn", dsn, "bench", "analyze", "--files", "100", "--runs", "1",
                                      "--workers", "1", "--songs", str(few), "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    gen = out["generated"]
    midi = [t for t in library.truth(Path(gen["library"])) if t.kind == "midi"]
    assert gen["files"] == sum(t.duplicate_of is None for t in midi) and gen["analysis_errors"] == 0
    assert gen["bpm_exact"] == 1.0 and gen["bpm_files"] == sum(t.bpm is not None for t in midi)  # scored per path
    assert gen["key_mirex_chosen"] >= 0.9 and gen["category_correct"] >= 0.9
    assert gen["pretty_midi"]["files"] == gen["symusic_parse_only"]["files"] > 0
    # where the time went, per file: the (local) test server's CPU and the runner's processes
    assert gen["server_cpu_us_per_file"] > 0 and gen["runner_cpu_us_per_file"] > 0
    assert set(out["targets"]) and all(isinstance(v, bool) for v in out["targets"].values())
    real = out["real_songs"]
    distinct = len({Path(p).read_bytes() for p in picked})  # the bench analyzes contents, not paths
    assert real["corpus"] == str(few) and real["files"] == distinct and real["key_files"] == sum(1 for p in picked if truth[p][1])
    assert real["median_files_per_second"] > 0 and real["pretty_midi"]["files"] == 40
    assert databases(dsn) == before, "every bench database is dropped"


def test_bench_import_small_run(dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIDICENTER_CACHE", str(tmp_path / "cache"))
    before = databases(dsn)
    result = CliRunner().invoke(cli, ["--dsn", dsn, "bench", "import", "--files", "150", "--runs", "1",
                                      "--baseline-files", "100", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    truth = [t for t in library.truth(Path(out["library"])) if t.kind == "midi"]
    assert out["files"] == len(truth) == 150  # --files counts MIDI files (the library has other files besides)
    assert out["files_new"] == sum(t.duplicate_of is None for t in truth) and out["errors"] == 0
    assert out["files_new"] + out["duplicates"] == out["files"]
    assert out["import_files_per_second"] > 0 and out["seed_method_files"] == 100
    assert out["import_to_floor_ratio"] == round(out["import_files_per_second"] / out["floor_read_hash_files_per_second"], 3)
    assert databases(dsn) == before


def test_throwaway_database_migrates_copies_and_drops(dsn: str) -> None:
    with throwaway_database(dsn, "unit") as first:
        with psycopg.connect(first) as conn:
            conn.execute("INSERT INTO midi.tags (name) VALUES ('kept in the copy')")
        with throwaway_database(dsn, "unit", template=first, keep=True) as copy, psycopg.connect(copy) as conn:
            assert conn.execute("SELECT name FROM midi.tags").fetchall() == [("kept in the copy",)]
    kept = conninfo_dbname(copy)
    assert kept in databases(dsn) and conninfo_dbname(first) not in databases(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{kept}"')


def conninfo_dbname(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]


def databases(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'midicenter_bench_%'")}


def test_bench_import_cold_reports_cpu_per_file_and_the_read_ceiling(dsn: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIDICENTER_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["--dsn", dsn, "bench", "import", "--files", "150", "--runs", "1",
                                      "--baseline-files", "100", "--cold", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["cold"] is True
    assert out["server_cpu_us_per_file"] > 0 and out["runner_cpu_us_per_file"] > 0
    ceiling = out["cold_read_ceiling"]
    assert ceiling["files"] == 150 and set(ceiling["files_per_second_by_reads_in_flight"]) == {"1", "4", "16", "32", "64"}
    assert ceiling["ceiling_files_per_second"] == max(ceiling["files_per_second_by_reads_in_flight"].values()) > 0
    assert out["import_to_cold_ceiling_ratio"] == round(out["import_files_per_second"] / ceiling["ceiling_files_per_second"], 3)


def test_server_cpu_counts_the_work_of_sessions_that_ended(dsn: str) -> None:
    """The server's CPU includes its live backends and, once one has exited and been reaped, its time too."""
    import psutil

    server = cputime.ServerCPU(dsn)
    before = server.seconds()
    assert before is not None, "the test server runs on this machine"
    with psycopg.connect(dsn) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        started = time.process_time()
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000) g WHERE g % 7 = 3").fetchone()
        assert time.process_time() - started < 0.1  # the work is the server's
        during = server.seconds()
    assert during - before > 0.05
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:  # exited and reaped by the postmaster
        time.sleep(0.01)
    assert server.seconds() >= during - 0.01  # its time moved to the postmaster's reaped children


def test_runner_cpu_counts_every_process_of_the_tree() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn!r}])\nexec({burn!r})"
    proc = subprocess.Popen([sys.executable, "-c", code])
    sampler = cputime.TreeSampler(proc.pid)
    sampler.start()
    rc, usage = cputime.wait_child(proc)
    sampler.done.set()
    sampler.join()
    assert rc == 0
    assert sampler.cpu_seconds(usage) >= 0.55  # the command's 0.3 s and its child's 0.3 s
    assert cputime.per_file(0.5, 1000) == 500.0 and cputime.per_file(None, 10) is None
