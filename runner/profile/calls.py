"""The canonical API calls of the profile report, and what EXPLAIN (ANALYZE, BUFFERS) says of each.

The calls are the canonical calls of runner/canonical.py (the shapes `midicenter bench search` times),
with parameters drawn from the library being profiled. The seed documents' search query is always added,
for comparison.

Whether a call used the index meant for it is read from this transaction's own scan counters
(``pg_stat_get_xact_numscans``, before and after), which also see the statements run inside API
functions; when the role may load auto_explain, the plans of those inner statements are shown too.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from runner import canonical
from runner.profile import readonly
from runner.profile.readonly import first_line, rows
from runner.queries import queries

TIMED_RUNS = 3  # plain runs per call; their median is judged against the target
SMALL_TABLE_ROWS = 50_000  # below this a sequential scan can honestly beat the index
LOAD_VARIANTS = 20  # parameter sets per bench shape, rotated through by the load test
FACET_VIEWS = ("manufacturer_counts", "collection_counts", "key_counts", "category_counts",
               "bpm_bucket_counts", "tag_counts", "library_stats")


@dataclass(frozen=True)
class Canonical:
    """One canonical API call: its SQL, parameter sets (the first is explained; the load test rotates
    through all), its target time, and the relations (any of ``expects``) meant to serve it."""

    name: str
    sql: str
    about: str
    target_ms: float
    params: tuple[dict, ...] = ({},)
    expects: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    in_mix: bool = False
    writes: bool = False


_ARGUMENT = re.compile(r"\b(\w+)\s*=>")
_FUNCTION = re.compile(r"\bmidi\.(\w+)\s*\(")
_FILTERS = {"bpm_min", "bpm_max", "keys", "manufacturer"}


def classify(call_sql: str) -> tuple[float, tuple[str, ...], tuple[str, ...], bool]:
    """Target ms, intended relations, midi functions needed, and load-mix membership of an API call, read
    from its SQL. Targets are issue 5's p95 at 1,000,000 files (20 ms a search, 50 ms a count, 100 ms facets
    under filters, 2 ms load_tracks of 10); the relations are the indexes db/migrations made for each
    filter, and the facet views for unfiltered facets. The mix is issue 5's: word and BPM-filter searches."""
    fns = tuple(dict.fromkeys(_FUNCTION.findall(call_sql)))
    args = set(_ARGUMENT.findall(call_sql))
    if "load_tracks" in fns:
        return 2.0, ("files_pkey",), fns, False
    if "file_details" in fns:
        return 20.0, ("files_pkey",), fns, False
    expects: list[str] = []
    if "fuzzy" in args:
        expects.append("idx_files_filename_trgm")
    if "q" in args:
        expects.append("idx_files_search")
    if args & {"bpm_min", "bpm_max", "keys"}:
        expects += ["idx_files_key_bpm", "idx_files_bpm"]
    if "manufacturer" in args:
        expects += ["idx_files_manufacturer_newest", "idx_files_manufacturer"]
    if args & {"tags_all", "tags_any"}:
        expects.append("idx_files_tag_ids")
    if "facets" in fns:
        return (20.0, FACET_VIEWS, fns, False) if not args else (100.0, tuple(expects), fns, False)
    if not args:
        expects = ["idx_files_newest"]
    in_mix = fns == ("search",) and bool(args) and (args == {"q"} or args <= _FILTERS)
    return (50.0 if "search_count" in fns else 20.0), tuple(expects), fns, in_mix


def call(name: str, call_sql: str, about: str, params: Sequence[dict]) -> Canonical:
    """A canonical call whose target and intended indexes come from ``classify``."""
    target, expects, needs, in_mix = classify(call_sql)
    return Canonical(name, call_sql, about, target, tuple(params), expects, needs, in_mix)


def seed_call(q: str = "bass") -> Canonical:
    """The seed documents' search query as printed (tables schema-qualified), judged by its own 500 ms target."""
    params = {"p1": q, "p2": None, "p3": None, "p4": None, "p5": None, "p6": None, "p7": 50, "p8": 0}
    return Canonical("seed search (as printed)", canonical.qualified(canonical.dollar_to_named(canonical.SEED_SEARCH)),
                     "the seed documents' search query on the same data, for comparison", 500.0, (params,),
                     ("idx_files_search",))


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


def canonical_calls(conn: psycopg.Connection) -> tuple[list[Canonical], str]:
    """The calls to explain and where they came from; the seed query is always added for comparison."""
    lib = library_sample(conn, sample(conn))
    return [*calls(lib), seed_call()], "the canonical calls (runner/canonical.py), parameters from this library"


# ------------------------------------------------------------------------------------------- plans


def _scans(conn: psycopg.Connection) -> dict[str, tuple[str, int]]:
    return {r["name"]: (r["kind"], int(r["scans"])) for r in rows(conn, queries["profile_xact_scans"])}


def _moved(before: dict, after: dict) -> tuple[list[str], list[str]]:
    """Relations whose scan counters moved: (indexes scanned, tables and views read sequentially)."""
    idx, seq = [], []
    for name, (kind, n) in after.items():
        if n > before.get(name, (kind, 0))[1]:
            (idx if kind == "i" else seq).append(name)
    return sorted(idx), sorted(seq)


def plan_indexes(node: dict) -> set[str]:
    """Every index a JSON plan names."""
    out = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        out |= plan_indexes(child)
    return out


def plan_text(node: dict, depth: int = 0) -> list[str]:
    """A compact text tree of a JSON plan: node, relation or index, actual time and rows, buffers."""
    what = node.get("Operation") if node.get("Node Type") == "ModifyTable" else node.get("Node Type", "?")
    if node.get("Index Name"):
        what += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        what += f" on {node['Relation Name']}"
    elif node.get("Function Name"):
        what += f" on {node['Function Name']}"
    parts = []
    if "Actual Total Time" in node:
        parts.append(f"{node['Actual Total Time']:.3f} ms, rows={node.get('Actual Rows', 0):g} loops={node.get('Actual Loops')}")
    hit, read = node.get("Shared Hit Blocks"), node.get("Shared Read Blocks")
    if hit or read:
        parts.append(f"buffers hit={hit or 0} read={read or 0}")
    for key in ("Index Cond", "Recheck Cond", "Filter", "Sort Key"):
        if node.get(key):
            value = node[key] if isinstance(node[key], str) else ", ".join(node[key])
            parts.append(f"{key.lower()}: {value[:160]}")
    lines = ["  " * depth + ("-> " if depth else "") + what + (f"  ({'; '.join(parts)})" if parts else "")]
    for child in node.get("Plans", []):
        lines += plan_text(child, depth + 1)
    return lines


_NOTICE_PLAN = re.compile(r"plan:\s*(\{.*\})\s*$", re.DOTALL)


def nested_plans(notices: Iterable[str]) -> list[str]:
    """Plans auto_explain sent for the statements run inside API functions (the EXPLAIN itself left out)."""
    out = []
    for msg in notices:
        m = _NOTICE_PLAN.search(msg)
        if not m:
            continue
        try:
            doc = json.loads(m.group(1))
        except ValueError:
            continue
        text = " ".join(str(doc.get("Query Text", "")).split())
        if text.upper().startswith("EXPLAIN"):
            continue
        out.append("\n".join([f"-- inside: {text[:300]}", *plan_text(doc.get("Plan", {}))]))
    return out


# ----------------------------------------------------------------------------------------- explain


def explain_section(conn: psycopg.Connection, dsn: str, calls: Sequence[Canonical], *, valid_indexes: set[str],
                    relations: set[str], files_rows: int, application: str,
                    alike: dict[str, set[str]] | None = None) -> tuple[dict, list[dict]]:
    """Time and explain each call on the report's read-only connection. ``alike`` maps an index to the
    indexes that lead with the same column (any of them serves the call's filter). Returns the section
    and its findings (as keyword arguments of runner.profile.report.Finding)."""
    needs = sorted({n for c in calls for n in c.needs})
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
    conn.add_notice_handler(on_notice)
    items = []
    try:
        for c in calls:
            items.append(_explain_one(conn, dsn, c, present, valid_indexes | relations, files_rows,
                                      notices if auto_explain else None, application, alike or {}))
    finally:
        conn.remove_notice_handler(on_notice)
    if not any(c.writes for c in calls):
        notes.append("no canonical call writes; one that did would be explained on its own connection, "
                      "in a transaction that is rolled back")
    section = {"source": "", "files": files_rows, "timed_runs": TIMED_RUNS, "auto_explain": auto_explain,
               "items": items, "notes": notes}
    return section, _findings(items, files_rows)


def _explain_one(conn: psycopg.Connection, dsn: str, c: Canonical, present: set[str], relations: set[str],
                 files_rows: int, notices: list[str] | None, application: str, alike: dict[str, set[str]]) -> dict:
    params = dict(c.params[0]) if c.params else {}
    item: dict[str, Any] = {
        "name": c.name, "about": c.about, "sql": " ".join(c.sql.split()), "params": params,
        "target_ms": c.target_ms, "expects": list(c.expects), "writes": c.writes, "in_mix": c.in_mix,
        "status": "ok", "time_ms": None, "explain_ms": None, "planning_ms": None, "rows": None,
        "shared_hit": None, "shared_read": None, "indexes_used": [], "seq_scans": [], "index_verdict": "n/a",
        "verdict": "", "plan": None, "nested_plans": [], "error": None,
    }
    missing = [f"midi.{n}" for n in c.needs if n not in present]
    if missing:
        item["status"], item["verdict"] = "missing", f"{', '.join(missing)} not in the database"
    else:
        _run(conn, dsn, c, params, item, notices, application)
    if c.expects and not any(e in relations for e in c.expects):
        item["index_verdict"] = "missing_index"
        item["verdict"] += ("; " if item["verdict"] else "") + f"its index is missing: {' or '.join(c.expects)}"
    elif item["status"] in ("ok", "slow") and c.expects:
        serving = set(c.expects).union(*(alike.get(e, set()) for e in c.expects))
        if (set(item["indexes_used"]) | set(item["seq_scans"])) & serving:
            item["index_verdict"] = "used"
        else:
            forced = not c.writes and _serves_when_forced(conn, c, params, serving)
            if files_rows < SMALL_TABLE_ROWS:
                # at this size a sequential scan or another index can honestly be cheaper
                item["index_verdict"] = "usable" if forced else "small_table"
            else:
                item["index_verdict"] = "not_used"
                item["verdict"] += ("; the planner avoids its index (statistics or costs are off)" if forced else
                                    "; its index cannot serve this call's shape")
    return item


def _run(conn: psycopg.Connection, dsn: str, c: Canonical, params: dict, item: dict, notices: list[str] | None,
         application: str) -> None:
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
                times = []
                for _ in range(TIMED_RUNS):
                    t0 = time.perf_counter()
                    conn.execute(c.sql, params).fetchall()
                    times.append((time.perf_counter() - t0) * 1000)
                item["time_ms"] = round(statistics.median(times), 3)
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
    rows_out = plan.get("Actual Rows")  # a float since PostgreSQL 18 (an average over loops)
    item["rows"] = int(rows_out) if isinstance(rows_out, float) and rows_out.is_integer() else rows_out
    item["shared_hit"], item["shared_read"] = plan.get("Shared Hit Blocks", 0), plan.get("Shared Read Blocks", 0)
    idx, seq = _moved(before, after)
    item["indexes_used"] = sorted(set(idx) | plan_indexes(plan))
    item["seq_scans"] = seq
    item["plan"] = "\n".join(plan_text(plan))
    over = item["time_ms"] > c.target_ms
    item["status"] = "slow" if over else "ok"
    item["verdict"] = f"{item['time_ms']:.2f} ms, {'over' if over else 'within'} the {c.target_ms:g} ms target"


def _serves_when_forced(conn: psycopg.Connection, c: Canonical, params: dict, serving: set[str]) -> bool:
    """Does the meant index serve the call when sequential scans look expensive? (A rolled-back savepoint.)"""
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


def _findings(items: list[dict], files_rows: int) -> list[dict]:
    out: list[dict] = []
    missing = [i for i in items if i["status"] == "missing"]
    failed = [i for i in items if i["status"] in ("error", "denied")]
    slow = [i for i in items if i["status"] == "slow"]
    not_used = [i for i in items if i["index_verdict"] == "not_used"]
    if missing:
        fns = sorted({f.strip() for i in missing for f in i["verdict"].split(" not in")[0].split(",")})
        out.append(dict(kind="api_missing", section="queries", severity="warning", penalty=min(20, 4 * len(missing)),
                        title=f"{len(missing)} API call(s) cannot run: {', '.join(fns)} missing",
                        action="run `midicenter db migrate` with a midicenter that has the search API"))
    if failed:
        out.append(dict(kind="api_failed", section="queries", severity="critical", penalty=min(30, 8 * len(failed)),
                        title=f"{len(failed)} API call(s) failed: "
                              + "; ".join(f"{i['name']}: {i['error']}" for i in failed),
                        action="read each error in the API queries section"))
    if slow:
        out.append(dict(kind="api_slow", section="queries", severity="warning", penalty=min(30, 8 * len(slow)),
                        title=f"{len(slow)} API call(s) over target at {files_rows:,} files: "
                              + ", ".join(f"{i['name']} {i['time_ms']:.1f} ms > {i['target_ms']:g} ms" for i in slow),
                        action="read their plans; check planner statistics (ANALYZE) and the indexes they should use"))
    if not_used:
        out.append(dict(kind="index_not_used", section="queries", severity="warning", penalty=min(15, 5 * len(not_used)),
                        title=f"{len(not_used)} API call(s) do not use the index meant for them: "
                              + ", ".join(f"{i['name']} ({' or '.join(i['expects'])})" for i in not_used),
                        action="run ANALYZE on midi.files; if the plan stays, the call no longer matches its index",
                        sql="ANALYZE midi.files;"))
    return out
