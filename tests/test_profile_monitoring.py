"""Watching a library over time: `midicenter profile --check` (each threshold crossed in a test database
gives its documented exit status and one line on stderr), `--record` and the report's "since last time",
`--history`, pruning by age, `--prometheus` (parsed by prometheus_client's own parser), and import batches
left running by a killed process. --check and --prometheus write nothing; --record writes its own table
only, as the writer role."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import conninfo

from runner import importer, scan
from runner.bench import library
from runner.profile import checks, prometheus
from runner.profile import report as profile
from tests import corpus
from tests.test_profile import VALIDATOR, contents, small_cache_library, small_cache_proc, write_counters  # noqa: F401
from tests.test_profile_advice import kill_an_import

QUICK = ["--runs", "3", "--rounds", "1"]
NO_TIMES = ["--warning", "p95=off", "--critical", "p95=off", "--warning", "cache_hit=off", "--critical", "cache_hit=off"]


def cli(dsn: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", dsn, *args], capture_output=True, text=True,
                          timeout=timeout)


def check(dsn: str, *args: str) -> subprocess.CompletedProcess:
    return cli(dsn, "profile", "--check", *QUICK, *args)


@pytest.fixture(scope="module")
def small_library() -> Path:
    return library.generate(corpus.default_cache_dir() / "libs", 500, seed=7)


@pytest.fixture
def filled(dsn: str, small_library: Path) -> str:
    importer.run_import(dsn, [small_library])
    return dsn


# ------------------------------------------------------------------------------------------- --check


def test_check_passes_on_a_healthy_library_and_reads_a_config_file(filled: str, tmp_path: Path) -> None:
    config = tmp_path / "profile.toml"
    config.write_text('# times are this machine\'s, not the library\'s\n[warning]\np95 = "off"\ncache_hit = "off"\n'
                      '[critical]\np95 = "off"\ncache_hit = "off"\n', encoding="utf-8")
    run = check(filled, "--config", str(config))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert run.stdout.startswith("MIDICENTER OK - 0 critical, 0 warning, 0 unknown of 8 checks; health ")
    as_json = json.loads(check(filled, "--config", str(config), "--json").stdout)
    assert as_json["status"] == "ok" and as_json["exit_status"] == 0
    assert [c["name"] for c in as_json["checks"]] == list(checks.CHECKS)


def _dead_rows(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE midi.tags SET (autovacuum_enabled = off)")
        conn.execute("INSERT INTO midi.tags (name) SELECT 'row ' || i FROM generate_series(1, 6000) i")
        conn.execute("DELETE FROM midi.tags WHERE name LIKE 'row %' AND right(name, 1) <> '0'")  # 90% dead
    deadline = time.monotonic() + 30
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET stats_fetch_consistency = none")
        while not conn.execute("SELECT n_dead_tup >= 5400 FROM pg_stat_user_tables "
                               "WHERE relid = 'midi.tags'::regclass").fetchone()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _invalid_index(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY planted_invalid ON midi.files (manufacturer)")


def _stale_views(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT midi.tag((SELECT min(id) FROM midi.files), 'after the refresh')")


# check, how to make its value cross, the flags that set a level it crosses (None: the defaults do)
CROSSINGS = {
    "p95": (None, "p95=0.000001"),
    "cache_hit": ("small_cache", "cache_hit=1.01"),  # judged only where reads outgrow the cache
    "dead_share": (_dead_rows, "dead_share=0.8"),
    "invalid_indexes": (_invalid_index, "invalid_indexes=1"),
    "long_transaction": ("idle", "long_transaction=1"),
    "connections": ("crowd", None),  # the level: halfway between the sessions before and with the crowd
    "views_age": (_stale_views, "views_age=0.000001"),
    "stale_imports": ("killed", "stale_imports=1"),
}


def test_every_check_has_a_crossing_test() -> None:
    assert set(CROSSINGS) == set(checks.CHECKS)


@pytest.mark.parametrize("level", ["warning", "critical"])
@pytest.mark.parametrize("name", list(CROSSINGS))
def test_each_threshold_crossed_gives_its_exit_status(name: str, level: str, filled: str, request) -> None:
    """Each check's warning level gives exit 1 and its critical level exit 2, with one stderr line per
    thing that crossed (and nothing else on stderr: the other checks are at their defaults, times off)."""
    setup, flag = CROSSINGS[name]
    idle = None
    crowd: list[psycopg.Connection] = []
    if setup == "crowd":  # 8 more sessions: crossed only when the check counts them
        with psycopg.connect(filled) as conn:
            in_use, usable = conn.execute(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
                "current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
                " - coalesce(current_setting('reserved_connections', true), '0')::int").fetchone()
        crowd = [psycopg.connect(filled) for _ in range(8)]
        flag = f"connections={(in_use + 4) / usable:.6f}"
    elif setup == "small_cache":  # another server: a cache of 1 MB, a library read through it
        filled = small_cache_library(request.getfixturevalue("small_cache_proc"))
    elif setup == "idle":
        idle = psycopg.connect(filled)
        idle.execute("SELECT 1").fetchone()
        time.sleep(1.2)
    elif setup == "killed":
        kill_an_import(filled, library.generate(corpus.default_cache_dir() / "libs", 5000, seed=42))
    elif setup is not None:
        setup(filled)
    try:
        others = [a for pair in zip(NO_TIMES[::2], NO_TIMES[1::2], strict=True)
                  if not pair[1].startswith(name + "=") for a in pair]
        other_level = "critical" if level == "warning" else "warning"
        run = check(filled, *others, f"--{level}", flag, f"--{other_level}", f"{name}=off")
    finally:
        if idle is not None:
            idle.close()
        for conn in crowd:
            conn.close()
    assert run.returncode == {"warning": 1, "critical": 2}[level], run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert lines and all(line.startswith(f"{level.upper()} {name}: ") for line in lines), run.stderr
    assert run.stdout.startswith(f"MIDICENTER {level.upper()} - "), run.stdout


def test_check_could_not_check_exits_3(filled: str, tmp_path: Path) -> None:
    closed = conninfo.make_conninfo(filled, port=1, connect_timeout=3)
    run = check(closed)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stderr.startswith("UNKNOWN profile: ") and run.stdout.startswith("MIDICENTER UNKNOWN - could not check")
    bad = tmp_path / "bad.toml"
    bad.write_text("[warning]\nno_such_check = 1\n", encoding="utf-8")
    run = check(filled, "--config", str(bad))
    assert run.returncode == 3 and "unknown check 'no_such_check'" in run.stderr
    run = check(filled, "--warning", "p95=fast")
    assert run.returncode == 3 and "a number or off" in run.stderr


def test_check_ranks_critical_over_warning_over_unknown() -> None:
    r = checks.Result
    assert checks.exit_status([r("a", "ok", 0), r("b", "unknown", None), r("c", "warning", 1)]) == 1
    assert checks.exit_status([r("a", "critical", 0), r("b", "unknown", None)]) == 2
    assert checks.exit_status([r("a", "ok", 0), r("b", "unknown", None)]) == 3
    assert checks.exit_status([]) == 0


def test_the_report_and_the_check_share_thresholds(filled: str) -> None:
    """A level given to the report moves its findings as it moves --check's status."""
    _dead_rows(filled)
    th = checks.Thresholds()
    assert "dead_tuples" in {f["kind"] for f in profile.run(filled, runs=3, rounds=1, thresholds=th)["summary"]["findings"]}
    th.set("warning", "dead_share", "off")
    th.set("critical", "dead_share", "off")
    r = profile.run(filled, runs=3, rounds=1, thresholds=th)
    assert "dead_tuples" not in {f["kind"] for f in r["summary"]["findings"]}
    assert next(c for c in r["checks"] if c["name"] == "dead_share")["status"] == "ok"


# ------------------------------------------------------------------------------ writes: check, metrics


def test_check_and_prometheus_write_nothing_and_record_writes_its_table_only(filled: str, postgresql, tmp_path) -> None:
    keep = postgresql.info.backend_pid
    before_rows = contents(filled)
    before = write_counters(filled, keep)
    assert check(filled, *NO_TIMES).returncode == 0
    assert cli(filled, "profile", "--prometheus", *QUICK, "--output", str(tmp_path / "m.prom")).returncode == 0
    after = write_counters(filled, keep)
    assert after["scans"] > before["scans"], "the reads must show: else the statistics were not flushed"
    assert after["writes"] == before["writes"] and contents(filled) == before_rows
    run = cli(filled, "profile", *QUICK, "--record", "--output", str(tmp_path / "r.md"))
    assert run.returncode == 0 and "figures recorded as run 1" in run.stderr, run.stderr
    recorded = write_counters(filled, keep)
    changed = {t for t in recorded["writes"] if recorded["writes"][t] != after["writes"][t]}
    assert changed == {"profile_runs"} and recorded["writes"]["profile_runs"][0] == after["writes"]["profile_runs"][0] + 1
    rows = contents(filled)["rows"]
    assert rows.pop("profile_runs") == 1 and rows == {k: v for k, v in before_rows["rows"].items() if k != "profile_runs"}


# -------------------------------------------------------------------------------- history, --record


def test_record_twice_then_the_report_shows_the_difference(filled: str, tmp_path: Path) -> None:
    # the calls' times are not judged here (a busy machine would move the score between the runs): the
    # score changes by the planted index alone
    first = cli(filled, "profile", *QUICK, *NO_TIMES, "--record", "--json", "--output", str(tmp_path / "1.json"))
    assert first.returncode == 0, first.stderr
    report1 = json.loads((tmp_path / "1.json").read_text())
    assert report1["history"]["previous"] is None and report1["summary"]["since_last"] is None
    with psycopg.connect(filled, autocommit=True) as conn:  # something changes between the runs
        conn.execute("CREATE INDEX planted_unused ON midi.files (original_filename)")
    second = cli(filled, "profile", *QUICK, *NO_TIMES, "--record", "--json", "--output", str(tmp_path / "2.json"))
    assert second.returncode == 0, second.stderr
    report2 = json.loads((tmp_path / "2.json").read_text())
    assert not list(VALIDATOR.iter_errors(report2))
    prev = report2["history"]["previous"]
    assert prev["health_score"] == report1["summary"]["health_score"]
    assert report2["summary"]["since_last"] == report2["summary"]["health_score"] - report1["summary"]["health_score"] < 0
    assert "unused_index" in {f["kind"] for f in report2["summary"]["findings"]} - {
        f["kind"] for f in report1["summary"]["findings"]}
    items = {i["name"]: i for i in report2["sections"]["queries"]["items"]}
    old = {i["name"]: i for i in report1["sections"]["queries"]["items"]}
    rare = items["text, rare word"]
    assert rare["since_last"]["time_ms"] == old["text, rare word"]["time_ms"]
    assert rare["since_last"]["delta_ms"] == pytest.approx(rare["time_ms"] - old["text, rare word"]["time_ms"], abs=1e-3)
    assert [s["health_score"] for s in report2["history"]["scores"]] == [report1["summary"]["health_score"],
                                                                          report2["summary"]["health_score"]]
    assert report2["history"]["calls"]["text, rare word"] == [old["text, rare word"]["time_ms"], rare["time_ms"]]
    # a third report (not recorded): compared with the second run now; in Markdown the column and the trend
    third = json.loads(cli(filled, "profile", *QUICK, "--json").stdout)
    assert third["history"]["previous"]["id"] == 2 and len(third["history"]["scores"]) == 3
    md = cli(filled, "profile", *QUICK).stdout
    assert "| since last time |" in md and "## Trend" in md
    assert ("Trend (recorded runs, oldest first, then this report): "
            + " → ".join(map(str, [report1["summary"]["health_score"], report2["summary"]["health_score"]]))) in md
    # --history prints the trend of what was recorded
    hist = cli(filled, "profile", "--history")
    assert hist.returncode == 0 and hist.stdout.startswith("# midicenter profile history")
    assert hist.stdout.count("\n| 20") >= 2 and "| text, rare word |" in hist.stdout
    data = json.loads(cli(filled, "profile", "--history", "--json").stdout)
    assert [r["health_score"] for r in data["runs"]] == [report2["summary"]["health_score"],
                                                          report1["summary"]["health_score"]]


def test_record_prunes_by_age_and_needs_the_writer_role(filled: str, tmp_path: Path) -> None:
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("INSERT INTO midi.profile_runs (taken_at, midicenter_version, health_score, files, figures) "
                     "OVERRIDING SYSTEM VALUE VALUES (now() - interval '40 days', 'old', 50, 1, '{}'), "
                     "(now() - interval '10 days', 'recent', 60, 1, '{}')")
    run = cli(filled, "profile", *QUICK, "--record", "--keep-days", "30", "--output", str(tmp_path / "r.md"))
    assert run.returncode == 0, run.stderr
    with psycopg.connect(filled) as conn:
        assert [r[0] for r in conn.execute("SELECT midicenter_version FROM midi.profile_runs ORDER BY id")] == [
            "recent", "0.1.0"]
    role = f"profile_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(filled, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN IN ROLE midi_reader")
    try:
        run = cli(conninfo.make_conninfo(filled, user=role), "profile", *QUICK, "--record", "--output",
                  str(tmp_path / "x.md"))
        assert run.returncode == 1 and "permission denied for function profile_record" in run.stderr, run.stderr
        writer = f"profile_writer_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(filled, autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {writer} LOGIN IN ROLE midi_writer")
        run = cli(conninfo.make_conninfo(filled, user=writer), "profile", *QUICK, "--record", "--output",
                  str(tmp_path / "w.md"))
        assert run.returncode == 0, run.stderr
    finally:
        with psycopg.connect(filled, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")
            admin.execute(f"DROP ROLE IF EXISTS {writer}")


# --------------------------------------------------------------------------------------- --prometheus


def test_prometheus_metrics_parse_and_each_has_help_and_type(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "midicenter.prom"
    run = cli(filled, "profile", "--prometheus", *QUICK, "--output", str(out))
    assert run.returncode == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {n for n in prometheus.METRICS}, set(prometheus.METRICS) ^ set(families)
    for name, f in families.items():
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
        assert f.documentation == prometheus.METRICS[name][1] and f.type == "gauge" and f.samples
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("midicenter_profile_up", ())] == 1
    with psycopg.connect(filled) as conn:
        assert samples[("midicenter_files", ())] == conn.execute("SELECT count(*) FROM midi.files").fetchone()[0]
    calls = {dict(k[1])["call"] for k in samples if k[0] == "midicenter_call_seconds"}
    assert "text, broad word 'bass'" in calls and "seed search (as printed)" not in calls
    assert samples[("midicenter_call_target_seconds", (("call", "load_tracks of 10"),))] == 0.002
    statuses = {dict(k[1])["check"]: v for k, v in samples.items() if k[0] == "midicenter_profile_check_status"}
    assert set(statuses) == set(checks.CHECKS) and set(statuses.values()) <= {0, 1, 2, 3}
    # a label value with a quote, a backslash and a line break survives the format
    odd = prometheus._document([("midicenter_call_seconds", {"call": 'a "b" \\ c\nd', "statistic": "p95"}, 0.5)])
    (fam,) = text_string_to_metric_families(odd)
    assert fam.samples[0].labels["call"] == 'a "b" \\ c\nd'


def test_prometheus_says_down_when_it_cannot_collect(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "down.prom"
    run = cli(conninfo.make_conninfo(filled, port=1, connect_timeout=3), "profile", "--prometheus", "--output", str(out))
    assert run.returncode == 1 and run.stderr.splitlines()[-1].startswith(
        "midicenter: error: profile: no report, metrics say down: "), run.stderr
    (fam,) = text_string_to_metric_families(out.read_text(encoding="utf-8"))
    assert fam.name == "midicenter_profile_up" and fam.samples[0].value == 0


# ------------------------------------------------------------------------------------------ stale runs


@pytest.fixture(scope="module")
def slow_library() -> Path:
    return library.generate(corpus.default_cache_dir() / "libs", 5000, seed=42)


def test_a_killed_import_shows_as_stale_and_the_next_import_marks_it_interrupted(dsn: str, slow_library: Path,
                                                                                   small_library: Path) -> None:
    batch = kill_an_import(dsn, slow_library)
    r = profile.run(dsn, runs=3, rounds=1)
    stale = r["sections"]["imports"]["stale"]
    assert [b["id"] for b in stale] == [batch] and stale[0]["status"] == "running" and stale[0]["alive"] is False
    assert "stale_import" in {f["kind"] for f in r["summary"]["findings"]}
    run = check(dsn, *NO_TIMES)
    assert run.returncode == 1 and run.stderr.startswith("WARNING stale_imports: "), run.stderr
    # another import (of another folder) marks it as it starts; the stopped import is then "unfinished"
    importer.run_import(dsn, [small_library])
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT status FROM midi.import_batches WHERE id = %s", [batch]).fetchone()[0] == "interrupted"
    r = profile.run(dsn, runs=3, rounds=1)
    assert not r["sections"]["imports"]["stale"]
    assert [b["id"] for b in r["sections"]["imports"]["unfinished"]] == [batch]


def test_a_running_import_holds_its_batch_and_is_never_marked(dsn: str, small_library: Path, monkeypatch) -> None:
    """The importer itself, with its scan held back: while it runs, its batch is alive (its lock is held)
    and another session's import_mark_interrupted leaves it alone; when it ends, the lock goes with its
    connection."""
    go = threading.Event()
    real = scan.iter_candidates

    def held_back(*args, **kwargs):
        go.wait(60)
        yield from real(*args, **kwargs)

    monkeypatch.setattr(scan, "iter_candidates", held_back)
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(r=importer.run_import(dsn, [small_library])), daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not (row := conn.execute("SELECT id, midi.import_alive(id) FROM midi.import_batches "
                                           "WHERE status = 'running'").fetchone()):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            batch, alive = row
            assert alive
            assert conn.execute("SELECT * FROM midi.import_mark_interrupted()").fetchall() == []
            assert conn.execute("SELECT status FROM midi.import_batches WHERE id = %s", [batch]).fetchone()[0] == "running"
            r = profile.run(dsn, runs=3, rounds=1)
            assert [b["id"] for b in r["sections"]["imports"]["running"]] == [batch]
            assert not r["sections"]["imports"]["stale"]
    finally:
        go.set()
        t.join(timeout=120)
    assert result["r"].batch_id == batch
    # the server lets go of the lock when the import's backend has ended, a moment after the client closed
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        while (row := conn.execute("SELECT status, midi.import_alive(id) FROM midi.import_batches WHERE id = %s",
                                   [batch]).fetchone()) != ("done", False) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert row == ("done", False)


def test_the_monitoring_docs_name_every_check_and_metric_and_their_examples_work(tmp_path: Path) -> None:
    """docs/profile.md documents each check and metric by name, its thresholds file loads, and the cron and
    timer lines call options the command has."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "profile.md").read_text(encoding="utf-8")
    for name in checks.CHECKS:
        assert f"| `{name}` |" in doc, f"check {name} is not documented"
    for name in prometheus.METRICS:
        assert f"| `{name}` |" in doc, f"metric {name} is not documented"
    toml = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "profile.toml").write_text(toml, encoding="utf-8")
    th = checks.Thresholds()
    th.load(tmp_path / "profile.toml")
    assert th.warning["p95"] == 1.5 and th.critical["stale_imports"] == 1
    assert "[Timer]" in doc and "OnCalendar=" in doc
    help_text = subprocess.run([sys.executable, "-m", "runner.cli", "profile", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    for line in doc.splitlines():
        if " profile --" in line and ("*/15" in line or "17 3" in line or line.startswith("ExecStart")):
            for option in (w for w in line.split() if w.startswith("--") and w != "--dsn"):
                assert option in help_text, (option, line)
