"""The pooler measurement of docs/scale.md: the profile's search mix from 100 clients, through PgBouncer in
transaction mode against 100 direct connections, levels interleaved, medians of the runs.

    python -m tests.pooler_measure [--files 20000] [--clients 100] [--seconds 5] [--runs 3] [--pool 4]

Starts a throwaway server and PgBouncer (tests/cluster.py) under a temporary folder, fills the library in
SQL (runner.bench.search.fill), and prints JSON: every level, and per mode the median QPS and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg

from runner import schema
from runner.bench import search as search_bench
from runner.profile import calls as profile_calls
from runner.profile import loadtest, readonly
from tests import cluster


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pool", type=int, default=2 * (os.cpu_count() or 1))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="midicenter-pooler-") as tmp:
        base = Path(tmp)
        server = cluster.primary(base)
        pooler = None
        try:
            schema.migrate(server.dsn())
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute("CREATE ROLE pool_reader LOGIN IN ROLE midi_reader")
            lib = search_bench.fill(server.dsn(), args.files, log=lambda s: print(s, file=sys.stderr))
            pooler = cluster.Pooler(server, base, args.pool, ["pool_reader"])
            pooler.start()
            mix = [c for c in profile_calls.calls(lib) if c.in_mix and not c.writes]
            work = [(c.name, c.sql, p) for c in mix for p in c.params]
            modes = {"direct": server.dsn(user="pool_reader"), "pooled": pooler.dsn("pool_reader")}
            levels: dict[str, list[dict]] = {m: [] for m in modes}
            for run in range(args.runs):
                for mode, dsn in modes.items():  # interleaved: the machine's speed drifts
                    info = readonly.guarded_conninfo(dsn, loadtest.LOAD_APPLICATION, statement_timeout_ms=60_000)
                    level = loadtest.run_level(info, work, args.clients, args.seconds)
                    levels[mode].append(level)
                    print(f"run {run + 1} {mode}: {level['clients']} clients, {level['qps']} qps, "
                          f"p95 {level['p95_ms']} ms, errors {level['errors']}", file=sys.stderr)
            summary = {m: {"median_qps": statistics.median(lv["qps"] for lv in ls),
                           "median_p95_ms": statistics.median(lv["p95_ms"] for lv in ls),
                           "median_p50_ms": statistics.median(lv["p50_ms"] for lv in ls),
                           "errors": sum(lv["errors"] for lv in ls)} for m, ls in levels.items()}
            print(json.dumps({"files": args.files, "clients": args.clients, "seconds": args.seconds,
                              "runs": args.runs, "pool_size": args.pool, "cpus": os.cpu_count(),
                              "mix": [c.name for c in mix], "summary": summary, "levels": levels}, indent=2))
        finally:
            if pooler is not None:
                pooler.stop()
            server.stop()


if __name__ == "__main__":
    main()
