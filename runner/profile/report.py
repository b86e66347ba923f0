"""The read-only health report behind ``midicenter profile``.

The seed system's profiling tool ran INSERTs and UPDATEs against the live database while "profiling".
This one cannot: it reads on a connection whose every transaction is READ ONLY (runner.readonly), checks
that the server agrees before it reads anything, and runs each section in a savepoint, so a section the
role may not read is marked with the reason while the rest of the report goes on. (``--record`` stores the
report's figures afterwards, in a transaction of its own: runner.profile.history.)

``run()`` returns the report as a JSON-ready dict (its schema: ``schema.json`` next to this file);
``runner.profile.markdown.render()`` turns it into Markdown. Each problem found is a ``Finding`` with a
penalty and advice that, applied, removes it (or says why that cannot be shown on a scratch database);
the health score is 100 minus the penalties, and the three biggest give the summary's actions. The
thresholds findings cross are the ones ``--check`` uses (runner.profile.checks).

The sections about the server itself (top statements, connections, settings) are in runner.profile.server;
the API calls are timed and judged in runner.profile.calls.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from runner import __version__, canonical
from runner.profile import calls as profile_calls
from runner.profile import checks, history, readonly
from runner.profile import indexes as profile_indexes
from runner.profile.calls import Canonical
from runner.profile.checks import CRITICAL, OK, Thresholds, _level_penalty
from runner.profile.readonly import first_line, rows
from runner.profile.server import _connections, _settings, _statements
from runner.queries import queries

SCHEMA_VERSION = 2
APPLICATION_NAME = "midicenter-profile"
EXACT_COUNT_ROWS = 200_000  # tables estimated below this get an exact count(*)
LOAD_LEVELS = (10, 50, 100)
SCHEMA_PATH = Path(__file__).with_name("schema.json")
SECTIONS = ("database", "imports", "indexes", "statements", "connections", "settings", "queries", "load_test")


FINDING_KINDS = frozenset({
    # database
    "cache_hit", "dead_tuples", "stale_statistics", "view_unpopulated", "migrations_pending", "no_schema",
    # imports and views
    "stale_import", "import_interrupted", "views_stale",
    # indexes
    "invalid_index", "missing_index", "duplicate_index", "redundant_index", "unused_index", "fk_unindexed",
    # statements, connections, settings
    "no_statements", "connections_full", "idle_in_transaction", "long_running", "settings",
    # API queries, load test
    "api_missing", "api_denied", "api_failed", "api_slow", "index_not_used", "load_errors", "load_slow",
})
"""Every kind of finding the report can make (tests/test_profile_advice.py applies each one's advice)."""


@dataclass
class Finding:
    """One problem: the score drops by ``penalty``; ``action`` (with ``sql`` to run, or a ``command``) says
    what to do about it. ``untested`` says why applying the advice cannot be shown to remove the finding
    on a scratch database (None: a test shows it does)."""

    kind: str
    section: str
    severity: str  # critical | warning | info
    penalty: int
    title: str
    action: str
    sql: str | None = None
    command: str | None = None
    untested: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"finding kind {self.kind!r} is not in FINDING_KINDS")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "section": self.section, "severity": self.severity, "penalty": self.penalty,
                "title": self.title, "action": self.action, "sql": self.sql, "command": self.command,
                "untested": self.untested}


@dataclass
class _State:
    """What the sections learn about the database, and each other, while the report is collected."""

    conn: psycopg.Connection
    dsn: str
    thresholds: Thresholds
    server_memory: int | None = None
    session: dict = field(default_factory=dict)
    tables: dict[str, dict] = field(default_factory=dict)  # "schema.name" -> row
    indexes: list[dict] = field(default_factory=list)
    foreign_keys: list[dict] = field(default_factory=list)
    stats_since: Any = None
    calls: list[Canonical] = field(default_factory=list)
    used_now: set[str] = field(default_factory=set)
    applied: set[str] | None = None
    runs: int = profile_calls.RUNS
    rounds: int = profile_calls.ROUNDS
    warmup: int = profile_calls.WARMUP_RUNS
    findings: list[Finding] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.findings.append(Finding(*args, **kwargs))


class SectionUnavailable(Exception):
    """A section decided on its own that it cannot report (the message says why)."""


def _section(state: _State, fn: Callable[[_State], dict]) -> dict:
    """Run one section in a savepoint; a failure marks the section instead of ending the report."""
    try:
        with state.conn.transaction():
            data = fn(state)
    except psycopg.errors.InsufficientPrivilege as exc:
        return {"status": "unavailable", "reason": f"permission denied: {first_line(exc)}", "notes": []}
    except (psycopg.Error, SectionUnavailable) as exc:
        return {"status": "unavailable", "reason": first_line(exc), "notes": []}
    data.setdefault("status", "ok")
    data.setdefault("notes", [])
    return data


def _session(state: _State) -> dict:
    row = rows(state.conn, queries["profile_session"])[0]
    if row["read_only"] != "on":
        raise RuntimeError("profile: the server did not open a read-only transaction; refusing to go on")
    row["local"] = readonly.is_local(state.conn)
    return row


def _qual(schema_name: str, name: str) -> str:
    return profile_indexes.qual(schema_name, name)


# ------------------------------------------------------------------------------------------ database


def _database(state: _State) -> dict:
    conn = state.conn
    th = state.thresholds
    db = (rows(conn, queries["profile_database"]) or [{}])[0]
    hit, read = int(db.get("blks_hit") or 0), int(db.get("blks_read") or 0)
    ratio = hit / (hit + read) if hit + read else None
    notes: list[str] = []
    tables = rows(conn, queries["profile_tables"])
    for t in tables:
        estimate = max(int(t["live_rows"] or 0), int(max(t["planner_rows"] or 0, 0)))
        t["rows"], t["rows_exact"] = estimate, False
        if estimate < EXACT_COUNT_ROWS:
            try:
                with conn.transaction():
                    q = sql.SQL(queries["profile_row_count"]).format(table=sql.Identifier(t["schema"], t["name"]))
                    t["rows"], t["rows_exact"] = conn.execute(q).fetchone()[0], True
            except psycopg.errors.InsufficientPrivilege:
                notes.append(f"{t['schema']}.{t['name']}: no SELECT privilege; rows are the statistics' estimate")
            except psycopg.errors.ObjectNotInPrerequisiteState:
                t["rows"] = 0  # a materialized view never refreshed
        live, dead = int(t["live_rows"] or 0), int(t["dead_rows"] or 0)
        t["dead_ratio"] = round(dead / (live + dead), 4) if live + dead else 0.0
        blocks = int(t["heap_blks_hit"] or 0) + int(t["heap_blks_read"] or 0)
        t["table_hit_ratio"] = round(int(t["heap_blks_hit"] or 0) / blocks, 4) if blocks else None
        state.tables[f"{t['schema']}.{t['name']}"] = t
    state.indexes = rows(conn, queries["profile_indexes"])
    state.foreign_keys = rows(conn, queries["profile_foreign_keys"])
    since = db.get("stats_reset")  # None: never reset (they outlive a clean restart)
    state.stats_since = since
    figures = {"size_bytes": db.get("size_bytes"), "block_size": db.get("block_size"),
               "shared_buffers_blocks": db.get("shared_buffers_blocks"), "blocks_hit": hit, "blocks_read": read}
    judged = ratio is not None and checks.cache_hit_judged(figures)
    cache_note = None
    if ratio is not None and hit + read >= checks.MIN_CACHE_BLOCKS and not judged:
        cache_note = (f"not judged: the {read:,} blocks read from outside shared_buffers since the "
                     "statistics began are no more than fit in it or than the database has, so each can be a "
                     "first read since the server started, which no larger cache avoids")
    level = th.status("cache_hit", ratio) if judged else OK
    if level != OK:
        state.add("cache_hit", "database", level, _level_penalty(level, 3, 10),
                  f"cache hit ratio {ratio:.1%}: reads go to disk or the OS cache",
                  "raise shared_buffers towards the recommendation in Settings (a restart), or add memory; "
                  "then reset the database's statistics (SELECT pg_stat_reset();) so the ratio is measured afresh",
                  untested="the ratio counts every read since the statistics began: only a day's work on a "
                           "larger cache shows the change")
    _table_findings(state)
    keys_t = ("schema", "name", "kind", "rows", "rows_exact", "dead_rows", "dead_ratio", "table_bytes", "index_bytes",
              "total_bytes", "seq_scan", "idx_scan", "table_hit_ratio", "last_vacuum", "last_autovacuum",
              "last_analyze", "last_autoanalyze", "modified_since_analyze", "populated")
    keys_i = ("schema", "table_name", "name", "method", "size_bytes", "scans", "is_unique", "is_primary", "is_valid",
              "constraint_name", "definition", "comment")
    return {
        "database": state.session.get("database"), "size_bytes": db.get("size_bytes"),
        "cache_hit_ratio": round(ratio, 4) if ratio is not None else None, "blocks_hit": hit, "blocks_read": read,
        "block_size": db.get("block_size"), "shared_buffers_blocks": db.get("shared_buffers_blocks"),
        "cache_hit_judged": judged, "cache_hit_note": cache_note,
        "deadlocks": db.get("deadlocks"), "temp_bytes": db.get("temp_bytes"), "stats_since": since,
        "tables": [{k: t.get(k) for k in keys_t} for t in tables],
        "indexes": [{k: i.get(k) for k in keys_i} for i in state.indexes],
        "status": "partial" if notes else "ok", "notes": notes,
    }


def stale_statistics(t: dict) -> bool:
    """A table of over 1,000 rows never analyzed, or changed by more than a fifth since."""
    live = int(t["live_rows"] or 0)
    return t["kind"] != "m" and live > 1000 and (
        not (t["last_analyze"] or t["last_autoanalyze"]) or int(t["modified_since_analyze"] or 0) > 0.2 * live)


def _table_findings(state: _State) -> None:
    th = state.thresholds
    dead: dict[str, list[dict]] = {}
    stale, unpopulated = [], []
    for t in state.tables.values():
        # a table with no live rows (a staging table between loads) has nothing its dead rows slow down; the
        # next vacuum or load recycles them
        if int(t["dead_rows"] or 0) > checks.MIN_DEAD_ROWS and t["dead_ratio"] < 1:
            level = th.status("dead_share", t["dead_ratio"])
            if level != OK:
                dead.setdefault(level, []).append(t)
        if stale_statistics(t):
            stale.append(t)
        if t["kind"] == "m" and t["populated"] is False:
            unpopulated.append(t)
    if dead:
        ts = [t for group in dead.values() for t in group]
        level = CRITICAL if CRITICAL in dead else checks.WARNING
        state.add("dead_tuples", "database", level, min(15, 5 * len(ts)),
                  f"{len(ts)} table(s) with a large share of dead rows: "
                  + ", ".join(f"{t['name']} ({t['dead_ratio']:.0%})" for t in ts),
                  "vacuum them (autovacuum is behind: check its settings)",
                  "\n".join(f"VACUUM (ANALYZE) {_qual(t['schema'], t['name'])};" for t in ts))
    if stale:
        state.add("stale_statistics", "database", "warning", min(10, 4 * len(stale)),
                  f"{len(stale)} table(s) with missing or stale planner statistics: {', '.join(t['name'] for t in stale)}",
                  "analyze them, so the planner knows the real row counts",
                  "\n".join(f"ANALYZE {_qual(t['schema'], t['name'])};" for t in stale))
    if unpopulated:
        state.add("view_unpopulated", "database", "warning", min(10, 3 * len(unpopulated)),
                  f"{len(unpopulated)} materialized view(s) never refreshed: {', '.join(t['name'] for t in unpopulated)}",
                  "refresh them once as their owner (after that, midi.refresh_views() keeps them current)",
                  "\n".join(f"REFRESH MATERIALIZED VIEW {_qual(t['schema'], t['name'])};" for t in unpopulated))


# ------------------------------------------------------------------------------------------- imports


def _imports(state: _State) -> dict:
    """Import batches: running (and alive), left running by a gone process (stale), stopped early and not
    completed since; and how far the facet views are behind the catalog."""
    conn = state.conn
    th = state.thresholds
    batches = rows(conn, queries["profile_imports"])
    running = [b for b in batches if b["status"] == "running" and b["alive"]]
    stale = [b for b in batches if b["status"] == "running" and not b["alive"]]
    unfinished = [b for b in batches if b["unfinished"]]
    last_done = next((b for b in batches if b["status"] == "done"), None)
    views: dict[str, Any] = {"refreshed_at": None, "changed_at": None, "age_hours": None, "behind_hours": None}
    notes: list[str] = []
    try:
        with conn.transaction():
            v = rows(conn, queries["profile_views"])[0]
        views.update(refreshed_at=v["refreshed_at"], changed_at=v["changed_at"])
        if v["refreshed_at"] is not None:
            age = (v["now"] - v["refreshed_at"]).total_seconds() / 3600
            behind = v["changed_at"] is not None and v["changed_at"] > v["refreshed_at"] and not running
            views.update(age_hours=round(age, 6), behind_hours=round(age, 6) if behind else 0.0)
            if running and v["changed_at"] is not None and v["changed_at"] > v["refreshed_at"]:
                notes.append("an import is running: the views are refreshed when it ends")
    except psycopg.errors.ObjectNotInPrerequisiteState:
        notes.append("midi.library_stats was never refreshed (see the database section)")
    if stale:
        roots = sorted({r for b in stale for r in b["roots"]})
        state.add("stale_import", "imports", "warning", 3,
                  f"{len(stale)} import batch(es) left running by a process that is gone: "
                  + ", ".join(f"{b['id']} (started {str(b['started_at'])[:16]})" for b in stale),
                  "import their roots again: the new import marks them interrupted and takes the files they did "
                  "not reach (SELECT midi.import_mark_interrupted(); only marks them)",
                  command="midicenter import " + " ".join(_shell(r) for r in roots))
    if unfinished:
        roots = sorted({r for b in unfinished for r in b["roots"]})
        state.add("import_interrupted", "imports", "info", 2,
                  f"{len(unfinished)} import batch(es) stopped before the end and not completed since: "
                  + ", ".join(f"{b['id']} ({b['status']})" for b in unfinished),
                  "import their roots again: it takes the files the stopped run did not reach",
                  command="midicenter import " + " ".join(_shell(r) for r in roots))
    level = th.status("views_age", views["behind_hours"])
    if level != OK:
        state.add("views_stale", "imports", level, _level_penalty(level, 3, 6),
                  f"the facet views and library statistics are {views['behind_hours']:.1f} hours behind the catalog "
                  f"(refreshed {str(views['refreshed_at'])[:16]}, files changed {str(views['changed_at'])[:16]})",
                  "refresh them (import and analysis do it when they end; a run that stopped early did not)",
                  "SELECT midi.refresh_views();")
    keys = ("id", "roots", "status", "started_at", "finished_at", "files_seen", "files_new", "errors", "runner_version",
            "alive")
    return {"running": [{k: b[k] for k in keys} for b in running], "stale": [{k: b[k] for k in keys} for b in stale],
            "unfinished": [{k: b[k] for k in keys} for b in unfinished],
            "last_done": {k: last_done[k] for k in keys} if last_done else None, "views": views, "notes": notes}


def _shell(path: str) -> str:
    return shlex.quote(path)


# ------------------------------------------------------------------------------------------- indexes


def _applied_migrations(state: _State) -> set[str] | None:
    try:
        with state.conn.transaction():
            table = state.conn.execute(queries["profile_migrations_table"]).fetchone()[0]
            if table is None:
                return None
            q = sql.SQL(queries["profile_migrations_applied"]).format(table=sql.SQL(table))
            return {r[0] for r in state.conn.execute(q).fetchall()}
    except psycopg.Error:
        return None


def _indexes(state: _State) -> dict:
    if not state.indexes:
        raise SectionUnavailable("no index statistics (see the database section)")
    trgm = state.conn.execute(queries["profile_trgm_schema"]).fetchone()
    shipped = profile_indexes.shipped_indexes(applied=state.applied) if state.session.get("has_midi_schema") else {}
    rows_by_table = {k: int(t.get("rows") or 0) for k, t in state.tables.items()}
    out, found = profile_indexes.section(state.indexes, state.foreign_keys, rows_by_table, state.used_now, shipped,
                                         trgm[0] if trgm else None,
                                         state.stats_since.isoformat() if state.stats_since else None)
    for f in found:
        state.add(**f)
    if state.applied is None and state.session.get("has_midi_schema"):
        out["notes"].append("which migrations this database has is hidden from this role: every shipped index "
                            "is expected")
    return out


def _migrations(state: _State) -> None:
    """A finding when the database lacks migrations this midicenter ships."""
    from runner import schema

    if state.applied is None or not state.session.get("has_midi_schema"):
        return
    shipped = sorted(p.stem for p in schema.migrations_dir().glob("*.sql") if not p.name.endswith(".rollback.sql"))
    pending = [m for m in shipped if m not in state.applied]
    if pending:
        state.add("migrations_pending", "database", "warning", min(20, 5 * len(pending)),
                  f"{len(pending)} migration(s) of this midicenter are not applied: {', '.join(pending)}",
                  "apply them", command="midicenter db migrate")


# ------------------------------------------------------------------------------------- API queries


def _queries(state: _State) -> dict:
    relations = {t["name"] for t in state.tables.values() if t["schema"] == "midi"}
    files = state.tables.get("midi.files", {})
    switches = tuple(rows(state.conn, queries["profile_planner_switches"], [list(profile_calls.PLANNER_SWITCHES)]))
    ctx = profile_calls.Context(files_rows=int(files.get("rows") or 0), relations=relations,
                                thresholds=state.thresholds, runs=state.runs, rounds=state.rounds,
                                warmup=state.warmup,
                                local=bool(state.session.get("local")), role=state.session.get("role") or "",
                                files_stats_stale=bool(files) and stale_statistics(files), planner_switches=switches)
    section, found = profile_calls.explain_section(state.conn, state.dsn, state.calls, ctx, APPLICATION_NAME)
    for f in found:
        state.add(**f)
    state.used_now = {x for i in section["items"] for x in i["indexes_used"]}
    return section


# ---------------------------------------------------------------------------------------- the report


def jsonable(v: Any) -> Any:
    """Plain JSON values: timestamps as ISO strings, numerics as floats, intervals as seconds."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set):
        return [jsonable(x) for x in v]
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, bytes | memoryview):
        return bytes(v).hex()
    return v


def score(findings: Sequence[Finding]) -> int:
    """The health score: 100 minus every finding's penalty, at least 0."""
    return max(0, 100 - sum(f.penalty for f in findings))


def run(dsn: str, *, load_test: bool = False, load_seconds: float = 5.0, load_clients: Sequence[int] = LOAD_LEVELS,
        calls: Sequence[Canonical] | None = None, target: str | None = None, runs: int = profile_calls.RUNS,
        rounds: int = profile_calls.ROUNDS, warmup: int = profile_calls.WARMUP_RUNS, seed: bool = True, thresholds: Thresholds | None = None,
        server_memory: int | None = None, history_runs: int = history.TREND_RUNS,
        log: Callable[[str], None] | None = None) -> dict:
    """Collect the whole report from the database at ``dsn`` (nothing is written to it). ``calls``
    replaces the canonical API calls (tests use it); ``seed`` adds the seed query for comparison;
    ``rounds`` of ``runs`` timed runs per call after ``warmup`` untimed ones; ``thresholds`` as for --check."""
    from runner.profile import loadtest

    say = log or (lambda _s: None)
    started = time.perf_counter()
    with readonly.connect(dsn, APPLICATION_NAME) as conn:
        state = _State(conn, dsn, thresholds or Thresholds(), server_memory, runs=runs, rounds=rounds, warmup=warmup)
        state.session = _session(state)
        source = "given by the caller"
        if calls is not None:
            state.calls = list(calls)
        elif state.session["has_midi_schema"]:
            try:
                with conn.transaction():
                    state.calls, source = profile_calls.canonical_calls(conn, seed=seed)
            except psycopg.Error as exc:
                state.calls = [*profile_calls.calls(canonical.Sample()), *([profile_calls.seed_call()] if seed else [])]
                source = f"the canonical calls with default parameters (reading the library failed: {first_line(exc)})"
        state.applied = _applied_migrations(state)
        sections: dict[str, dict] = {}
        say("profile: database statistics")
        sections["database"] = _section(state, _database)
        if state.session["has_midi_schema"]:
            sections["imports"] = _section(state, _imports)
            say(f"profile: timing ({rounds} x {runs} runs each) and explaining {len(state.calls)} API calls")
            sections["queries"] = _section(state, _queries)
            sections["queries"]["source"] = source
        else:
            skipped = {"status": "skipped", "notes": [], "reason": "no midi schema in this database "
                                                                   "(run: midicenter db migrate)"}
            sections["imports"] = dict(skipped)
            sections["queries"] = {**skipped, "items": []}
            state.add("no_schema", "queries", "critical", 50, "this database has no midi schema",
                      "run `midicenter db migrate` against it", command="midicenter db migrate")
        sections["indexes"] = _section(state, _indexes)
        _migrations(state)
        sections["statements"] = _section(state, _statements)
        sections["connections"] = _section(state, _connections)
        sections["settings"] = _section(state, _settings)
        past = history.read(conn, history_runs) if state.session["has_midi_schema"] else history.unavailable(
            "no midi schema")
        conn.rollback()  # read-only: there is nothing to keep
    if load_test:
        say(f"profile: load test, {', '.join(map(str, load_clients))} clients, {load_seconds:g} s each")
        lt, found = loadtest.section(dsn, sections["queries"], state.calls, load_clients, load_seconds,
                                     bool(state.session.get("local")))
        sections["load_test"] = lt
        for f in found:
            state.add(**f)
    else:
        sections["load_test"] = {"status": "skipped", "reason": "not asked for (--load-test)", "notes": [],
                                 "levels": [], "mix": []}
    findings = sorted(state.findings, key=lambda f: -f.penalty)
    s = state.session
    report = jsonable({
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "midicenter_version": __version__,
        "seconds": round(time.perf_counter() - started, 3),
        "target": {"description": target, "database": s.get("database"), "role": s.get("role"),
                   "server_version": s.get("server_version"), "superuser": s.get("superuser"),
                   "read_all_stats": s.get("read_all_stats"), "local": s.get("local"),
                   "read_only": s.get("read_only") == "on", "has_midi_schema": s.get("has_midi_schema")},
        "summary": {"health_score": score(findings),
                    "actions": [{"title": f.title, "action": f.action, "sql": f.sql, "command": f.command,
                                 "penalty": f.penalty} for f in findings[:3]],
                    "findings": [f.as_dict() for f in findings]},
        "thresholds": (thresholds or Thresholds()).as_dict(),
        "sections": {k: sections[k] for k in SECTIONS},
    })
    report["history"] = history.compare(report, past)
    report["checks"] = [r.as_dict() for r in checks.evaluate(report, thresholds or Thresholds())]
    return report
