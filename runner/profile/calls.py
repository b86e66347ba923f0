"""The canonical API calls of the profile report: timed like their targets are stated, explained, and
judged against what the search engine meant to do for that input.

The calls are the canonical calls of runner/canonical.py (the shapes `midicenter bench search` times),
with parameters drawn from the library being profiled. Each call runs a few times to warm up (the first
calls of a session load catalogs and plan the functions' inner queries), then ``runs`` times with its
parameter sets in turn; its p95 is judged against its target (with fewer than ``MIN_P95_RUNS`` runs the
median is shown instead, labelled a spot check and weighed as one). Then one run under EXPLAIN (ANALYZE,
BUFFERS).

Which indexes a call read comes from this transaction's own scan counters (``pg_stat_get_xact_numscans``,
before and after), which also see the statements run inside API functions. Which indexes it was meant to
read comes from the engine itself: ``midi.search_strategy`` says, per segment of a search (or for the
filter set of a count or facets), which indexes serve it, or that none does and the table is read as
it is (a broad word's text test is a filter on the newest-first walk, by design). A call "does not use its
index" only when it read files whole while its strategy meant an index.

The seed documents' search query is shown beside the API calls for comparison, and never scored.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from runner import canonical
from runner.profile import readonly
from runner.profile.checks import CRITICAL, OK, Thresholds
from runner.profile.loadtest import percentile
from runner.profile.plans import _moved, _scans, nested_plans, plan_indexes, plan_text
from runner.profile.readonly import first_line, rows
from runner.queries import queries

RUNS = 20  # timed runs per call and round: each round's p95 ...
ROUNDS = 3  # ... and the median of the rounds' p95s is judged against the target (as the benchmarks state it)
MIN_P95_RUNS = 20  # below this, the median of the runs is a spot check
WARMUP_RUNS = 2  # untimed runs per call before the timed ones
SEED_RUNS = 5  # the seed query is shown for comparison only (and costs hundreds of ms at a million files)
SMALL_TABLE_ROWS = 50_000  # below this a sequential scan can honestly beat the index
LOAD_VARIANTS = 20  # parameter sets per canonical shape, taken in turn by the timed runs and the load test
FACET_VIEWS = ("manufacturer_counts", "collection_counts", "key_counts", "category_counts",
               "bpm_bucket_counts", "tag_counts", "library_stats")
SEED_NAME = "seed search (as printed)"
SEED_COMPARE = "text, broad word 'bass'"
# planner settings that, switched off for a database or role, keep the engine's indexes from being used
PLANNER_SWITCHES = ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan")


@dataclass(frozen=True)
class Canonical:
    """One canonical API call: its SQL, parameter sets (the first is explained; timed runs and the load
    test take them in turn), its target time, what kind of call it is (how its strategy is read), and
    whether it counts towards the health score (the seed query does not)."""

    name: str
    sql: str
    about: str
    target_ms: float | None
    params: tuple[dict, ...] = ({},)
    kind: str = "other"  # search | count | facets | views | by_id | seed | other
    needs: tuple[str, ...] = ()
    in_mix: bool = False
    writes: bool = False
    scored: bool = True
    expects: tuple[str, ...] = ()  # relations meant to serve a call whose plan no strategy describes


_ARGUMENT = re.compile(r"\b(\w+)\s*=>")
_FUNCTION = re.compile(r"\bmidi\.(\w+)\s*\(")
_FILTERS = {"bpm_min", "bpm_max", "keys", "manufacturer"}
_STRATEGY_OF = re.compile(r"\bmidi\.(search|search_count|facets)\s*\(")


def classify(call_sql: str) -> tuple[float | None, str, tuple[str, ...], bool]:
    """Target ms, kind, midi functions needed, and load-mix membership of an API call, read from its SQL.
    The targets are midicenter's own, p95 at 1,000,000 files: 20 ms a search page, 50 ms a count, 100 ms
    facets under filters (20 ms without: the views answer), 20 ms a file's details, 2 ms load_tracks of
    10. A fuzzy (trigram) search has none: its work is bounded (the best of the first 2,000 candidates),
    not fast, and its time is shown unjudged. The load-test mix is word and tempo/key/manufacturer
    searches."""
    fns = tuple(dict.fromkeys(_FUNCTION.findall(call_sql)))
    args = set(_ARGUMENT.findall(call_sql))
    if "fuzzy" in args and "search" in fns:
        return None, "search", fns, False
    if "load_tracks" in fns:
        return 2.0, "by_id", fns, False
    if "file_details" in fns:
        return 20.0, "by_id", fns, False
    if "facets" in fns:
        return (100.0, "facets", fns, False) if args else (20.0, "views", fns, False)
    if "search_count" in fns:
        return 50.0, "count", fns, False
    if "search" in fns:
        in_mix = fns == ("search",) and bool(args) and (args == {"q"} or args <= _FILTERS)
        return 20.0, "search", fns, in_mix
    return 20.0, "other", fns, False


def call(name: str, call_sql: str, about: str, params: Sequence[dict]) -> Canonical:
    """A canonical call whose target and kind come from ``classify``."""
    target, kind, needs, in_mix = classify(call_sql)
    expects = ("files_pkey",) if kind == "by_id" else FACET_VIEWS if kind == "views" else ()
    return Canonical(name, call_sql, about, target, tuple(params), kind, needs, in_mix, expects=expects)


def seed_call(q: str = canonical.BROAD) -> Canonical:
    """The seed documents' search query as printed (tables schema-qualified): shown for comparison with
    the API call that answers the same question, never scored (500 ms is the seed's own alert line)."""
    params = {"p1": q, "p2": None, "p3": None, "p4": None, "p5": None, "p6": None, "p7": 50, "p8": 0}
    return Canonical(SEED_NAME, canonical.qualified(canonical.dollar_to_named(canonical.SEED_SEARCH)),
                     f"the seed documents' search query on the same data, beside {SEED_COMPARE}", 500.0, (params,),
                     "seed", scored=False)


def calls(lib: canonical.Sample, variants: int = LOAD_VARIANTS) -> list[Canonical]:
    """The canonical calls with ``variants`` parameter sets each, drawn from ``lib``."""
    out = []
    for shape in canonical.shapes(lib):
        rng = random.Random(shape.name)
        params = [shape.params(rng) for _ in range(variants)]
        about = shape.name
        if "after" in params[0] and params[0]["after"] is None:
            about += " (the library has fewer pages: page 1 ran)"
        out.append(call(shape.name, shape.ours, about, params))
    return out


def library_sample(conn: psycopg.Connection, values: dict) -> canonical.Sample:
    """The canonical calls' sample from the values read from the library (defaults where it cannot say)."""
    lib = canonical.Sample()
    tags = list(values.get("tags") or [])
    lib.tags = tags + [t for t in canonical.TAG_FILL if t not in tags][: max(0, 40 - len(tags))]
    lib.rare_words = list(values.get("rare") or lib.rare_words)
    lib.common_words = list(values.get("common") or lib.common_words)
    lib.makers = list(values.get("makers") or lib.makers)
    lib.max_id = max(1, int(values.get("max_id") or 1))
    try:
        with conn.transaction():
            lib.page99_cursors = canonical.page99_cursors(conn) or [None]
    except psycopg.Error:
        lib.page99_cursors = [None]
    return lib


def sample(conn: psycopg.Connection) -> dict:
    """Parameter values from the library itself (empty lists where it cannot say)."""
    out: dict[str, Any] = {"ids": [], "max_id": 0, "makers": [], "tags": [], "rare": [], "common": []}
    for name in ("profile_sample", "profile_words"):
        try:
            with conn.transaction():
                out.update(rows(conn, queries[name])[0])
        except psycopg.Error:
            pass
    return out


def canonical_calls(conn: psycopg.Connection, *, seed: bool = True) -> tuple[list[Canonical], str]:
    """The calls to explain and where they came from; the seed query is added for comparison."""
    lib = library_sample(conn, sample(conn))
    return [*calls(lib), *([seed_call()] if seed else [])], \
        "the canonical calls (runner/canonical.py), parameters from this library"


# ----------------------------------------------------------------------------------------- explain


@dataclass
class Context:
    """What judging the calls needs from the rest of the report."""

    files_rows: int
    relations: set[str]
    thresholds: Thresholds
    runs: int = RUNS
    rounds: int = ROUNDS
    warmup: int = WARMUP_RUNS
    local: bool = False  # the server runs on this machine (its load is ours to see)
    role: str = ""  # the role the report runs as
    files_stats_stale: bool = False
    planner_switches: tuple[dict, ...] = ()  # pg_settings rows of PLANNER_SWITCHES that are off


def explain_section(conn: psycopg.Connection, dsn: str, calls: Sequence[Canonical], ctx: Context,
                    application: str) -> tuple[dict, list[dict]]:
    """Time, explain and judge each call on the report's read-only connection. Returns the section and its
    findings (keyword arguments of runner.profile.report.Finding)."""
    needs = sorted({n for c in calls for n in c.needs} | {"search_strategy"})
    present = {r[0] for r in conn.execute(queries["profile_functions_present"], [needs]).fetchall()}
    notices: list[str] = []

    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        notices.append(diag.message_primary or "")

    notes: list[str] = []
    auto_explain = False
    try:
        with conn.transaction():
            conn.execute(queries["profile_auto_explain_load"])
        auto_explain = True
    except psycopg.Error as exc:
        notes.append(f"plans inside API functions are not shown: auto_explain could not be loaded "
                     f"({first_line(exc)}); index use is read from this transaction's scan counters instead")
    if "search_strategy" not in present:
        notes.append("midi.search_strategy is not in this database (run `midicenter db migrate`): the searches' "
                     "index use is not judged")
    timings = _time_all(conn, [c for c in calls if not c.writes and all(n in present for n in c.needs)], ctx)
    busy = machine_busy() if ctx.local else None
    if busy:
        notes.append(f"the machine was busy while the calls were timed ({busy}): other work competed with the "
                     "server for the CPUs, so the times are weighed as a spot check")
    conn.add_notice_handler(on_notice)
    items = []
    try:
        for c in calls:
            items.append(_explain_one(conn, dsn, c, present, ctx, notices if auto_explain else None, application,
                                      timings.get(c.name)))
    finally:
        conn.remove_notice_handler(on_notice)
    seed = next((i for i in items if i["name"] == SEED_NAME), None)
    ours = next((i for i in items if i["name"] == SEED_COMPARE), None)
    if seed and seed["time_ms"] is not None:
        seed["verdict"] = f"{seed['time_ms']:.2f} ms ({seed['statistic']}), for comparison only: not scored"
        if ours and ours["time_ms"]:
            seed["verdict"] += f"; {seed['time_ms'] / ours['time_ms']:.1f}x the time of {SEED_COMPARE}"
    if not any(c.writes for c in calls):
        notes.append("no canonical call writes; one that did would be explained on its own connection, "
                     "in a transaction that is rolled back")
    spot = ctx.runs < MIN_P95_RUNS
    section = {"source": "", "files": ctx.files_rows, "timed_runs": ctx.runs, "rounds": ctx.rounds,
               "warmup_runs": ctx.warmup, "statistic": "median (spot check)" if spot else "p95",
               "machine_busy": busy, "auto_explain": auto_explain, "items": items, "notes": notes}
    return section, _findings(items, ctx, busy)


def machine_busy() -> str | None:
    """Whether this machine ran more than the profile itself while it timed the calls: the 1-minute load
    average above the CPUs plus the one the timing loop keeps busy. None when not (or not known)."""
    import os

    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
    cpus = os.cpu_count() or 1
    return f"load average {load:.1f} on {cpus} CPUs" if load > cpus + 1 else None


def _time_all(conn: psycopg.Connection, calls: Sequence[Canonical], ctx: Context) -> dict[str, list[list[float]]]:
    """Client-side times (ms, one round trip each) of every call: ``warmup`` untimed runs first, then
    ``rounds`` rounds over all the calls in turn (so a burst of load elsewhere on the machine lands in one
    round of several calls, not in every round of one), ``runs`` runs a round with the parameter sets in
    turn. The seed query runs at most SEED_RUNS times, once. A call that fails is left out (its error shows
    when it is explained)."""
    out: dict[str, list[list[float]]] = {}
    failed: set[str] = set()
    for rnd in range(max(1, ctx.rounds)):
        for c in calls:
            if c.name in failed or (not c.scored and rnd > 0):
                continue
            sets = list(c.params) or [{}]
            runs = ctx.runs if c.scored else min(ctx.runs, SEED_RUNS)
            try:
                with conn.transaction():
                    if rnd == 0:
                        for _ in range(ctx.warmup):
                            conn.execute(c.sql, sets[0], prepare=True).fetchall()
                    times = []
                    for n in range(runs):
                        t0 = time.perf_counter()
                        conn.execute(c.sql, sets[n % len(sets)], prepare=True).fetchall()
                        times.append((time.perf_counter() - t0) * 1000)
            except psycopg.Error:
                failed.add(c.name)
                out.pop(c.name, None)
                continue
            out.setdefault(c.name, []).append(times)
    return out


def _timing(item: dict, rounds: list[list[float]]) -> None:
    """The judged time of a call from its rounds: the median of the rounds' p95s, or with too few runs
    for a p95 the median of every run (a spot check)."""
    every = sorted(x for r in rounds for x in r)
    item["runs"] = len(every)
    item["median_ms"] = round(statistics.median(every), 3)
    p95s = [percentile(sorted(r), 95) for r in rounds]
    item["p95_ms"] = round(statistics.median(p95s), 3)
    if len(rounds[0]) < MIN_P95_RUNS:
        item["time_ms"] = item["median_ms"]
        item["statistic"] = f"median of {len(every)} runs (spot check)"
    else:
        item["time_ms"] = item["p95_ms"]
        item["statistic"] = (f"median of {len(rounds)} rounds' p95, {len(rounds[0])} runs each" if len(rounds) > 1
                             else f"p95 of {len(rounds[0])} runs")


def _strategy(conn: psycopg.Connection, c: Canonical, params: dict) -> list[dict] | None:
    """midi.search_strategy's rows for a search, count or facets call (same arguments), or None."""
    if c.kind not in ("search", "count", "facets") or not _STRATEGY_OF.search(c.sql):
        return None
    strategy_sql = _STRATEGY_OF.sub("midi.search_strategy(", c.sql, count=1)
    with conn.transaction():
        out = rows(conn, strategy_sql, params)
    return [r for r in out if (r["segment"] == 0) == (c.kind != "search")]


def _explain_one(conn: psycopg.Connection, dsn: str, c: Canonical, present: set[str], ctx: Context,
                 notices: list[str] | None, application: str, timing: list[list[float]] | None) -> dict:
    params = dict(c.params[0]) if c.params else {}
    item: dict[str, Any] = {
        "name": c.name, "about": c.about, "sql": " ".join(c.sql.split()), "params": params, "kind": c.kind,
        "scored": c.scored, "target_ms": c.target_ms, "writes": c.writes, "in_mix": c.in_mix, "status": "ok",
        "time_ms": None, "statistic": None, "runs": 0, "p95_ms": None, "median_ms": None, "explain_ms": None,
        "planning_ms": None, "rows": None, "shared_hit": None, "shared_read": None, "strategy": [], "meant": [],
        "indexes_used": [], "seq_scans": [], "index_verdict": "n/a", "cause": None, "verdict": "", "plan": None,
        "nested_plans": [], "error": None,
    }
    missing = [f"midi.{n}" for n in c.needs if n not in present]
    if missing:
        item["status"], item["verdict"] = "missing", f"{', '.join(missing)} not in the database"
        return item
    if "search_strategy" in present:
        try:
            strategy = _strategy(conn, c, params)
        except psycopg.Error as exc:
            strategy = None
            item["verdict"] = f"midi.search_strategy failed: {first_line(exc)}"
        if strategy is not None:
            item["strategy"] = strategy
            item["meant"] = sorted({r["index_name"] for r in strategy if r["index_name"]})
            if any(r["index_name"] is None for r in strategy):
                item["meant"].append(None)
    if c.kind in ("by_id", "views"):
        item["meant"] = list(c.expects)
    if timing:
        _timing(item, timing)
    _run(conn, dsn, c, params, item, notices, application, ctx)
    if item["status"] in ("ok", "slow") and c.scored:
        _judge(conn, c, params, item, ctx)
    return item


def _judge(conn: psycopg.Connection, c: Canonical, params: dict, item: dict, ctx: Context) -> None:
    """The index verdict: used (a meant index was read), table (no index serves it: the table is read, as
    meant), not_used (files read whole while an index was meant), small_table (the same, below the size
    where that is a fault), n/a (nothing to judge)."""
    meant = set(item["meant"])
    if not meant:
        return
    read = set(item["indexes_used"]) | set(item["seq_scans"])
    if read & (meant - {None}):
        item["index_verdict"] = "used"
        return
    if None in meant:
        item["index_verdict"] = "table"
        return
    if c.kind == "views" or "files" not in item["seq_scans"]:
        return  # read through something else (a page sample, other tables): nothing to judge
    serving = meant - {None}
    forced = not c.writes and _serves_when_forced(conn, c, params, serving)
    if ctx.files_rows < SMALL_TABLE_ROWS:
        item["index_verdict"] = "small_table"
        item["verdict"] += f"; files read whole: below {SMALL_TABLE_ROWS:,} files a sequential read can be cheaper"
        return
    item["index_verdict"] = "not_used"
    if not forced:
        item["cause"] = "shape"
        item["verdict"] += "; files read whole, and its indexes cannot serve it even when forced"
    elif ctx.planner_switches:
        item["cause"] = "switches"
        item["verdict"] += "; files read whole: index scans are switched off for this session"
    elif ctx.files_stats_stale:
        item["cause"] = "statistics"
        item["verdict"] += "; files read whole: the planner's statistics of files are stale"
    else:
        item["cause"] = "costs"
        item["verdict"] += "; files read whole: the planner costs the table read lower for this input"


def _run(conn: psycopg.Connection, dsn: str, c: Canonical, params: dict, item: dict, notices: list[str] | None,
         application: str, ctx: Context) -> None:
    explain = sql.SQL(queries["profile_explain"]).format(query=sql.SQL(c.sql))
    before: dict = {}
    after: dict = {}
    try:
        if c.writes:
            # its own connection (the report's cannot write), in a transaction that is always rolled back
            with psycopg.connect(readonly.guarded_conninfo(dsn, application, read_only=False)) as wconn, \
                    wconn.transaction(force_rollback=True):
                doc = wconn.execute(explain, params).fetchone()[0][0]
        else:
            with conn.transaction():
                before = _scans(conn)
                if notices is not None:
                    conn.execute(queries["profile_auto_explain_on"])
                    notices.clear()
                doc = conn.execute(explain, params).fetchone()[0][0]
                if notices is not None:
                    conn.execute(queries["profile_auto_explain_off"])
                    item["nested_plans"] = nested_plans(list(notices))
                after = _scans(conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        item.update(status="denied", error=first_line(exc), verdict="permission denied")
        return
    except psycopg.errors.QueryCanceled as exc:
        item.update(status="error", error=first_line(exc), verdict="cancelled by statement_timeout")
        return
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        item.update(status="error", error=first_line(exc), verdict="the call tried to write in a read-only transaction")
        return
    except psycopg.Error as exc:
        item.update(status="error", error=first_line(exc), verdict="failed")
        return
    plan = doc["Plan"]
    item["explain_ms"] = round(float(doc.get("Execution Time", 0.0)), 3)
    item["planning_ms"] = round(float(doc.get("Planning Time", 0.0)), 3)
    if item["time_ms"] is None:
        item["time_ms"] = round(item["explain_ms"] + item["planning_ms"], 3)
        item["statistic"] = "one run under EXPLAIN ANALYZE"
    rows_out = plan.get("Actual Rows")  # a float since PostgreSQL 18 (an average over loops)
    item["rows"] = int(rows_out) if isinstance(rows_out, float) and rows_out.is_integer() else rows_out
    item["shared_hit"], item["shared_read"] = plan.get("Shared Hit Blocks", 0), plan.get("Shared Read Blocks", 0)
    idx, seq = _moved(before, after)
    item["indexes_used"] = sorted(set(idx) | plan_indexes(plan))
    item["seq_scans"] = seq
    item["plan"] = "\n".join(plan_text(plan))
    if not c.scored:
        return
    if c.target_ms is None:
        item["verdict"] = f"{item['time_ms']:.2f} ms ({item['statistic']}); no target: bounded work, shown unjudged"
        return
    level = ctx.thresholds.status("p95", item["time_ms"] / c.target_ms)
    item["status"] = "ok" if level == OK else "slow"
    item["verdict"] = (f"{item['time_ms']:.2f} ms ({item['statistic']}), "
                       f"{'within' if level == OK else 'over'} the {c.target_ms:g} ms target"
                       + (" by 2x or more" if level == CRITICAL else ""))


def _serves_when_forced(conn: psycopg.Connection, c: Canonical, params: dict, serving: set[str]) -> bool:
    """Does a meant index serve the call when sequential scans look expensive and index scans are allowed?
    (A rolled-back savepoint.)"""
    explain = sql.SQL(queries["profile_explain"]).format(query=sql.SQL(c.sql))
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(queries["profile_prefer_indexes"])
            before = _scans(conn)
            doc = conn.execute(explain, params).fetchone()[0][0]
            idx, seq = _moved(before, _scans(conn))
    except psycopg.Error:
        return False
    return bool((set(idx) | set(seq) | plan_indexes(doc["Plan"])) & serving)


_UNTESTED_SLOW = ("a slow call has many causes, none of which one statement removes: its plan below shows where "
                  "the time goes")


def _findings(items: list[dict], ctx: Context, busy: str | None = None) -> list[dict]:
    out: list[dict] = []
    scored = [i for i in items if i["scored"]]
    missing = [i for i in scored if i["status"] == "missing"]
    denied = [i for i in scored if i["status"] == "denied"]
    failed = [i for i in scored if i["status"] == "error"]
    slow = [i for i in scored if i["status"] == "slow"]
    not_used = [i for i in scored if i["index_verdict"] == "not_used"]
    if missing:
        fns = sorted({f.strip() for i in missing for f in i["verdict"].split(" not in")[0].split(",")})
        out.append(dict(kind="api_missing", section="queries", severity="warning", penalty=min(20, 4 * len(missing)),
                        title=f"{len(missing)} API call(s) cannot run: {', '.join(fns)} missing",
                        action="run `midicenter db migrate` with this midicenter: it creates the API functions",
                        command="midicenter db migrate"))
    if denied:
        out.append(dict(kind="api_denied", section="queries", severity="critical", penalty=min(30, 8 * len(denied)),
                        title=f"{len(denied)} API call(s) refused to this role: "
                              + "; ".join(f"{i['name']}: {i['error']}" for i in denied),
                        action=f"let {ctx.role or 'this role'} read the library through the API: grant it "
                               "midi_reader (as the schema's owner or a superuser)",
                        sql=f"GRANT midi_reader TO {_quote_ident(ctx.role)};" if ctx.role else None))
    if failed:
        out.append(dict(kind="api_failed", section="queries", severity="critical", penalty=min(30, 8 * len(failed)),
                        title=f"{len(failed)} API call(s) failed: " + "; ".join(f"{i['name']}: {i['error']}" for i in failed),
                        action="read each error in the API queries section",
                        untested="each error names its own cause; no one statement answers them all"))
    if slow:
        spot = ctx.runs < MIN_P95_RUNS or bool(busy)
        crit = [i for i in slow if ctx.thresholds.status("p95", i["time_ms"] / i["target_ms"]) == CRITICAL]
        what = slow[0]["statistic"] + (f", while the machine was busy: {busy}" if busy else "")
        out.append(dict(kind="api_slow", section="queries",
                        severity="info" if spot else "critical" if crit else "warning",
                        penalty=min(6, 2 * len(slow)) if spot else min(30, 8 * len(slow) + 4 * len(crit)),
                        title=f"{len(slow)} API call(s) over target at {ctx.files_rows:,} files ({what}): "
                              + ", ".join(f"{i['name']} {i['time_ms']:.1f} ms > {i['target_ms']:g} ms" for i in slow),
                        action=("measure again on a quiet machine with enough runs (--runs 20 or more) before "
                                "acting; " if spot else "")
                        + "read their plans; the other findings (statistics, indexes, settings) name the usual causes",
                        untested=_UNTESTED_SLOW))
    for cause, group in _by_cause(not_used).items():
        names = ", ".join(f"{i['name']} (meant: {' or '.join(x for x in i['meant'] if x)})" for i in group)
        base = dict(kind="index_not_used", section="queries", severity="warning", penalty=min(15, 5 * len(group)))
        if cause == "switches":
            resets = "\n".join(_reset_sql(s) for s in ctx.planner_switches)
            out.append(dict(base, title=f"{len(group)} API call(s) read files whole with index scans switched off: "
                                        f"{names}",
                            action="switch index scans back on where they were switched off", sql=resets))
        elif cause == "statistics":
            out.append(dict(base, title=f"{len(group)} API call(s) read files whole on stale statistics: {names}",
                            action="analyze files, so the planner sees its real size and values",
                            sql="ANALYZE midi.files;"))
        elif cause == "costs":
            out.append(dict(base, title=f"{len(group)} API call(s) read files whole although an index serves them: "
                                        f"{names}",
                            action="compare random_page_cost and effective_cache_size with the Settings section",
                            untested="the planner weighs costs this report cannot see; only a plan after the change tells"))
        else:
            out.append(dict(base, title=f"{len(group)} API call(s) read files whole and the indexes their strategy "
                                        f"names cannot serve them: {names}",
                            action="the search engine's strategy and the schema's indexes disagree: run "
                                   "`midicenter db migrate` with this midicenter, and report it if it stays",
                            untested="a disagreement between the engine and its indexes is fixed in midicenter"))
    return out


def _quote_ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _by_cause(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for i in items:
        out.setdefault(i["cause"] or "costs", []).append(i)
    return out


def _reset_sql(setting: dict) -> str:
    """The statement that undoes a planner switch where it was set (database, role, or the server)."""
    name, source = setting["name"], setting.get("source") or ""
    db, role = setting.get("database") or "", setting.get("role") or ""
    qi = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
    if source == "database":
        return f"ALTER DATABASE {qi(db)} RESET {name};"
    if source == "user":
        return f"ALTER ROLE {qi(role)} RESET {name};"
    if source == "database user":
        return f"ALTER ROLE {qi(role)} IN DATABASE {qi(db)} RESET {name};"
    if source in ("session", "client", "environment variable"):
        return f"-- {name} is switched off by this connection's options (PGOPTIONS?): remove it there"
    return f"ALTER SYSTEM SET {name} = on;  -- then SELECT pg_reload_conf();"
