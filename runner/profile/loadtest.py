"""Concurrent clients running the search mix for a bounded time: queries per second and latency percentiles.

Each client is a thread with its own connection, read-only like the report's own (the server refuses any
write), with a statement timeout, never preparing statements server-side (so it works through a transaction
pooler), so a level ends by itself: clients stop starting queries at the
deadline, and a query still running then is cut off by the timeout. Only a server on this machine (unix
socket or loopback) is load-tested; the report says so and skips otherwise.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runner.profile import readonly
from runner.queries import queries

LOAD_APPLICATION = "midicenter-profile-load"
CONNECT_WAIT_SECONDS = 30.0  # all clients of a level must be connected by then, or the level starts without them
MARGIN_CONNECTIONS = 3  # connections left free for everyone else while the load test runs
P95_TARGET_MS = 20.0  # midicenter's p95 target for the searches in the mix


@dataclass
class _Client:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    connected: bool = False
    last_finish: float = 0.0


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _client(conninfo: str, calls: Sequence[tuple[str, str, dict]], offset: int, ready: threading.Semaphore,
            go: threading.Event, state: dict, me: _Client) -> None:
    try:
        # prepare_threshold=None: never prepare server-side, so a pooler in transaction mode (PgBouncer
        # before 1.21) can hand each call to any server session (docs/scale.md)
        conn = psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)
    except psycopg.Error as exc:
        me.errors, me.first_error = 1, str(exc).strip().splitlines()[0] if str(exc).strip() else "connect failed"
        ready.release()
        return
    with conn:
        me.connected = True
        ready.release()
        if not go.wait(CONNECT_WAIT_SECONDS + 5):
            return
        i = offset
        deadline = state["deadline"]
        while time.perf_counter() < deadline:
            _name, sql_text, params = calls[i % len(calls)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.execute(sql_text, params).fetchall()
            except psycopg.Error as exc:
                me.errors += 1
                if me.first_error is None:
                    me.first_error = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
                if conn.closed or conn.broken:
                    return
                continue
            finally:
                me.last_finish = time.perf_counter()
            me.latencies.append((me.last_finish - t0) * 1000)


def run_level(conninfo: str, calls: Sequence[tuple[str, str, dict]], clients: int, seconds: float,
              grace: float = 10.0) -> dict:
    """``clients`` threads run ``calls`` round-robin for ``seconds``; returns QPS and latency percentiles.
    A client still busy ``grace`` seconds after the deadline is counted in ``did_not_stop`` and left behind
    (its statement timeout ends it)."""
    ready = threading.Semaphore(0)
    go = threading.Event()
    state: dict[str, Any] = {"deadline": math.inf}
    results = [_Client() for _ in range(clients)]
    threads = [threading.Thread(target=_client, name=f"midicenter-load-{i}", daemon=True,
                                args=(conninfo, calls, i, ready, go, state, results[i])) for i in range(clients)]
    for t in threads:
        t.start()
    waited_until = time.perf_counter() + CONNECT_WAIT_SECONDS
    for _ in threads:
        if not ready.acquire(timeout=max(0.0, waited_until - time.perf_counter())):
            break
    start = time.perf_counter()
    state["deadline"] = start + seconds
    go.set()
    join_until = state["deadline"] + grace
    for t in threads:
        t.join(timeout=max(0.0, join_until - time.perf_counter()))
    stragglers = sum(t.is_alive() for t in threads)
    lat = sorted(x for r in results for x in r.latencies)
    end = max([r.last_finish for r in results if r.latencies] or [start + seconds])
    elapsed = max(end - start, 1e-9)
    errors = [r.first_error for r in results if r.first_error]
    return {
        "clients": sum(r.connected for r in results), "requested_clients": clients, "seconds": round(elapsed, 3),
        "queries": len(lat), "errors": sum(r.errors for r in results), "qps": round(len(lat) / elapsed, 1),
        "p50_ms": _ms(percentile(lat, 50)), "p95_ms": _ms(percentile(lat, 95)), "p99_ms": _ms(percentile(lat, 99)),
        "mean_ms": _ms(sum(lat) / len(lat) if lat else None), "first_error": errors[0] if errors else None,
        "did_not_stop": stragglers,
    }


def _ms(v: float | None) -> float | None:
    return round(v, 3) if v is not None else None


def free_connections(dsn: str) -> int:
    """Client connections still free on the server, keeping a margin for everyone else."""
    with readonly.connect(dsn, LOAD_APPLICATION) as conn:
        row = conn.execute(queries["profile_connection_limits"]).fetchone()
        conn.rollback()
    max_connections, superuser_reserved, reserved, in_use = row
    return max(0, max_connections - superuser_reserved - reserved - in_use - MARGIN_CONNECTIONS)


def section(dsn: str, queries_section: dict, calls: Sequence[Any], levels: Sequence[int], seconds: float,
            local: bool) -> tuple[dict, list[dict]]:
    """The load-test section of the report, and its findings (keyword arguments of runner.profile.report.Finding).
    The mix is the calls marked ``in_mix`` that ran in the API queries section; the seed documents' query
    stands in when none did."""
    out: dict[str, Any] = {"status": "ok", "notes": [], "levels": [], "mix": [], "seconds_per_level": seconds}
    if not local:
        return {**out, "status": "skipped", "reason": "the server is not on this machine (unix socket or loopback): "
                "the load test only runs against a local server"}, []
    ran = {i["name"] for i in queries_section.get("items", []) if i.get("status") in ("ok", "slow")}
    runnable = [c for c in calls if not c.writes and c.name in ran]
    mix = [c for c in runnable if c.in_mix] or [c for c in runnable if c.name.startswith("seed search")]
    if not mix:
        return {**out, "status": "skipped", "reason": "none of the search mix could run here (see API queries)"}, []
    if not any(c.in_mix for c in mix):
        out["notes"].append("midi.search could not run: the mix is the seed documents' query instead")
    out["mix"] = [c.name for c in mix]
    work = [(c.name, c.sql, p) for c in mix for p in c.params]
    random.Random(0).shuffle(work)
    statement_ms = max(1000, int(seconds * 1000) + 5000)
    conninfo = readonly.guarded_conninfo(dsn, LOAD_APPLICATION, statement_timeout_ms=statement_ms)
    for wanted in levels:
        n = min(wanted, free_connections(dsn))
        if n < 1:
            out["notes"].append(f"{wanted} clients: skipped, no free connections on the server")
            continue
        level = run_level(conninfo, work, n, seconds, grace=statement_ms / 1000 + 5)
        if n < wanted:
            out["notes"].append(f"{wanted} clients capped to {n} by the server's free connections")
        out["levels"].append(level)
    out["notes"].append("the clients are Python threads on this machine, sharing its CPUs with the server")
    found: list[dict] = []
    failing = [lv for lv in out["levels"] if lv["errors"]]
    slow = [lv for lv in out["levels"] if lv["p95_ms"] is not None and lv["p95_ms"] > P95_TARGET_MS]
    if failing:
        found.append(dict(kind="load_errors", section="load_test", severity="warning", penalty=5,
                          title=f"errors under load: {failing[0]['first_error']}",
                          action="check max_connections and the server log",
                          untested="the error under load names its own cause"))
    if slow:
        found.append(dict(kind="load_slow", section="load_test", severity="info", penalty=3,
                          title="p95 over 20 ms under load at "
                                + ", ".join(f"{lv['clients']} clients ({lv['p95_ms']:.0f} ms)" for lv in slow),
                          action="more clients than CPUs queue up: serve them through a pooler sized to the CPUs",
                          untested="a pooler sits between the clients and the server, outside the database"))
    return out, found
