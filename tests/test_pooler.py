"""Search through PgBouncer (Debian's pgbouncer) in transaction pooling mode: 20 concurrent CLI searches
and the profile's search mix on 20 long-lived connections, with no errors and the same answers as direct
connections. tests/cluster.py starts a throwaway server and the pooler in front of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner import schema
from runner.bench import search as search_bench
from runner.profile import calls as profile_calls
from runner.profile import loadtest, readonly
from tests import cluster

POOL_SIZE = 4  # server connections per pool: about twice the cores of this machine (2)


@pytest.fixture(scope="module")
def pooled(tmp_path_factory) -> Iterator[dict]:
    """A server with a 3,000-file library (runner.bench.search.fill), a reader login, PgBouncer in front."""
    base = Path(tmp_path_factory.mktemp("pooler"))
    server = cluster.primary(base)
    pooler = None
    try:
        schema.migrate(server.dsn())
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE ROLE pool_reader LOGIN IN ROLE midi_reader")
        lib = search_bench.fill(server.dsn(), 3000, log=lambda _s: None)
        pooler = cluster.Pooler(server, base, POOL_SIZE, ["pool_reader", "postgres"])
        pooler.start()
        yield {"direct": server.dsn(user="pool_reader"), "pooled": pooler.dsn("pool_reader"), "lib": lib,
               "admin": server.dsn()}
    finally:
        if pooler is not None:
            pooler.stop()
        server.stop()


SEARCHES = [
    ["search", "--json"], ["search", "--count", "--json"], ["search", "bass", "--json"],
    ["search", "--key", "Am", "--sort", "bpm", "--json"], ["search", "--bpm-min", "100", "--bpm-max", "130", "--json"],
    ["facets", "--json"], ["search", "--category", "drums", "--limit", "20", "--json"],
]


def test_twenty_concurrent_cli_searches_through_pgbouncer_in_transaction_mode(pooled) -> None:
    expected = {}
    for args in SEARCHES:
        out = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", pooled["direct"], *args],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        expected[tuple(args)] = json.loads(out.stdout)
    jobs = [SEARCHES[i % len(SEARCHES)] for i in range(20)]
    procs = [subprocess.Popen([sys.executable, "-m", "runner.cli", "--dsn", pooled["pooled"], *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in jobs]
    outs = [p.communicate(timeout=300) for p in procs]
    for args, p, (out, err) in zip(jobs, procs, outs, strict=True):
        assert p.returncode == 0, (args, err)
        assert json.loads(out) == expected[tuple(args)], args


def _mix(lib) -> list[tuple[str, str, dict]]:
    mix = [c for c in profile_calls.calls(lib) if c.in_mix and not c.writes]
    assert len(mix) >= 3  # the profile's mix: the midi.search shapes of runner/canonical.py
    return [(c.name, c.sql, p) for c in mix for p in c.params]


def test_the_search_mix_on_twenty_long_lived_connections_through_pgbouncer_has_no_errors(pooled) -> None:
    """The profile's load test clients keep one connection each and run the same calls again and again:
    psycopg would prepare them after a few runs, which transaction pooling cannot keep."""
    work = _mix(pooled["lib"])
    conninfo = readonly.guarded_conninfo(pooled["pooled"], loadtest.LOAD_APPLICATION, statement_timeout_ms=30_000)
    level = loadtest.run_level(conninfo, work, 20, 4.0)
    assert level["clients"] == 20 and level["errors"] == 0, (level["first_error"], level)
    assert level["queries"] > 20 * 10, level  # every client ran its calls many times over (prepare threshold: 5)
    with psycopg.connect(pooled["admin"], autocommit=True) as conn:
        # the pooler held the server side to its pool: 20 clients on at most POOL_SIZE server sessions
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'pool_reader'").fetchone()[0] \
            <= POOL_SIZE
