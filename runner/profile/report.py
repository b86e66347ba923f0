"""The read-only health report behind ``midicenter profile``.

The seed system's profiling tool ran INSERTs and UPDATEs against the live database while "profiling".
This one cannot: it reads on a connection whose every transaction is READ ONLY (runner.readonly), checks
that the server agrees before it reads anything, and runs each section in a savepoint, so a section the
role may not read is marked with the reason while the rest of the report goes on.

``run()`` returns the report as a JSON-ready dict (its schema: ``schema.json`` next to this file);
``runner.profile.markdown.render()`` turns it into Markdown. Each problem found is a ``Finding`` with a
penalty; the health score is 100 minus the penalties, and the three biggest give the summary's actions.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from runner import __version__, canonical, schema
from runner.profile import calls as profile_calls
from runner.profile import readonly, tuning
from runner.profile.calls import Canonical
from runner.profile.readonly import first_line, rows
from runner.queries import queries

SCHEMA_VERSION = 1
APPLICATION_NAME = "midicenter-profile"
LONG_RUNNING_SECONDS = 5 * 60
EXACT_COUNT_ROWS = 200_000  # tables estimated below this get an exact count(*)
LOAD_LEVELS = (10, 50, 100)
STATEMENTS_TOP = 10
IMPORTANT_SETTINGS = (
    "shared_buffers", "work_mem", "effective_cache_size", "max_connections", "maintenance_work_mem",
    "random_page_cost",
)
SCHEMA_PATH = Path(__file__).with_name("schema.json")


@dataclass
class Finding:
    """One problem: the score drops by ``penalty``; ``action`` (and ``sql``) say what to do about it."""

    kind: str
    section: str
    severity: str  # critical | warning | info
    penalty: int
    title: str
    action: str
    sql: str | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "section": self.section, "severity": self.severity, "penalty": self.penalty,
                "title": self.title, "action": self.action, "sql": self.sql}


@dataclass
class _State:
    """What the sections learn about the database, and each other, while the report is collected."""

    conn: psycopg.Connection
    dsn: str
    session: dict = field(default_factory=dict)
    tables: dict[str, dict] = field(default_factory=dict)  # "schema.name" -> row
    indexes: list[dict] = field(default_factory=list)
    foreign_keys: list[dict] = field(default_factory=list)
    calls: list[Canonical] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.findings.append(Finding(*args, **kwargs))

    def expected(self) -> dict[str, list[str]]:
        """midi relation -> the canonical calls meant to use it."""
        out: dict[str, list[str]] = {}
        for c in self.calls:
            for e in c.expects:
                out.setdefault(e, []).append(c.name)
        return out


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


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _qual(schema_name: str, name: str) -> str:
    return f"{_ident(schema_name)}.{_ident(name)}"


# ------------------------------------------------------------------------------------------ database


def _database(state: _State) -> dict:
    conn = state.conn
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
    if ratio is not None and hit + read >= 10_000 and ratio < 0.99:
        state.add("cache_hit", "database", "warning" if ratio >= 0.95 else "critical",
                  3 if ratio >= 0.95 else 10, f"cache hit ratio {ratio:.1%}: reads go to disk or the OS cache",
                  "raise shared_buffers towards the recommendation in Settings, or add memory")
    _table_findings(state)
    since = db.get("stats_reset") or db.get("server_started")
    keys_t = ("schema", "name", "kind", "rows", "rows_exact", "dead_rows", "dead_ratio", "table_bytes", "index_bytes",
              "total_bytes", "seq_scan", "idx_scan", "table_hit_ratio", "last_vacuum", "last_autovacuum",
              "last_analyze", "last_autoanalyze", "modified_since_analyze", "populated")
    keys_i = ("schema", "table_name", "name", "method", "size_bytes", "scans", "is_unique", "is_primary", "is_valid",
              "constraint_name", "definition")
    return {
        "database": state.session.get("database"), "size_bytes": db.get("size_bytes"),
        "cache_hit_ratio": round(ratio, 4) if ratio is not None else None, "blocks_hit": hit, "blocks_read": read,
        "deadlocks": db.get("deadlocks"), "temp_bytes": db.get("temp_bytes"), "stats_since": since,
        "tables": [{k: t.get(k) for k in keys_t} for t in tables],
        "indexes": [{k: i.get(k) for k in keys_i} for i in state.indexes],
        "status": "partial" if notes else "ok", "notes": notes,
    }


def _table_findings(state: _State) -> None:
    dead, stale, unpopulated = [], [], []
    for key, t in state.tables.items():
        live = int(t["live_rows"] or 0)
        if int(t["dead_rows"] or 0) > 1000 and t["dead_ratio"] > 0.2:
            dead.append(t)
        if t["kind"] != "m" and live > 1000 and (
                not (t["last_analyze"] or t["last_autoanalyze"]) or int(t["modified_since_analyze"] or 0) > 0.2 * live):
            stale.append(t)
        if t["kind"] == "m" and t["populated"] is False:
            unpopulated.append(t)
        del key
    if dead:
        state.add("dead_tuples", "database", "warning", min(15, 5 * len(dead)),
                  f"{len(dead)} table(s) over 20% dead rows: {', '.join(t['name'] for t in dead)}",
                  "vacuum them (autovacuum is behind: check its settings)",
                  "\n".join(f"VACUUM (ANALYZE) {_qual(t['schema'], t['name'])};" for t in dead))
    if stale:
        state.add("stale_statistics", "database", "warning", min(10, 4 * len(stale)),
                  f"{len(stale)} table(s) with missing or stale planner statistics: {', '.join(t['name'] for t in stale)}",
                  "analyze them, so the planner knows the real row counts",
                  "\n".join(f"ANALYZE {_qual(t['schema'], t['name'])};" for t in stale))
    if unpopulated:
        state.add("view_unpopulated", "database", "warning", min(10, 3 * len(unpopulated)),
                  f"{len(unpopulated)} materialized view(s) never refreshed: {', '.join(t['name'] for t in unpopulated)}",
                  "refresh them (SELECT midi.refresh_views(); where it exists)",
                  "\n".join(f"REFRESH MATERIALIZED VIEW {_qual(t['schema'], t['name'])};" for t in unpopulated))


# ------------------------------------------------------------------------------------------- indexes


_INDEX_DDL = re.compile(
    r"CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>\w+)\s+"
    r"(?P<rest>ON\s+[^;]+);", re.IGNORECASE)


def index_definitions(folder: Path | None = None) -> dict[str, str]:
    """Index name -> the CREATE INDEX CONCURRENTLY that builds it, read from the migrations."""
    out: dict[str, str] = {}
    for path in sorted((folder or schema.migrations_dir()).glob("*.sql")):
        if path.name.endswith(".rollback.sql"):
            continue
        text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        for m in _INDEX_DDL.finditer(text):
            rest = " ".join(m.group("rest").split())
            out[m.group("name")] = f"CREATE {'UNIQUE ' if m.group('unique') else ''}INDEX CONCURRENTLY {m.group('name')} {rest};"
    return out


def _key(i: dict) -> list[tuple[str, ...]]:
    n = int(i["key_count"])
    parts = [(i[k] or "").split()[:n] for k in ("key_columns", "key_opclasses", "key_collations", "key_options")]
    return list(zip(*parts, strict=False))


def _leading_columns(i: dict, n: int) -> set[int]:
    return {int(x) for x in (i["key_columns"] or "").split()[:n]}


def _serves_fk(i: dict, fks: Sequence[dict]) -> str | None:
    """The foreign key whose lookups this index serves (its leading columns are the key's), if any."""
    for fk in fks:
        n = len(fk["attnums"])
        if fk["table_oid"] == i["table_oid"] and _leading_columns(i, n) == set(fk["attnums"]) and i["is_valid"]:
            return fk["constraint_name"]
    return None


def duplicates(indexes: Sequence[dict]) -> list[dict]:
    """Exact duplicates (same table, method, keys, opclasses, collations, options, expressions, predicate),
    and btree indexes whose keys lead another's with the same predicate (redundant)."""
    out: list[dict] = []
    valid = [i for i in indexes if i["is_valid"]]

    def keep_first(i: dict) -> tuple:
        return (not (i["constraint_name"] or i["is_unique"]), not declared_for(i), -(i["scans"] or 0), i["name"])

    taken: set[str] = set()
    for a in valid:
        for b in valid:
            if a is b or a["table_oid"] != b["table_oid"] or a["method"] != b["method"]:
                continue
            if (a["predicate"] or "") != (b["predicate"] or "") or (a["key_expressions"] or "") != (b["key_expressions"] or ""):
                continue
            ka, kb = _key(a), _key(b)
            if ka == kb:
                keep, drop = sorted((a, b), key=keep_first)
                if drop["name"] in taken or keep["name"] in taken or drop["constraint_name"] or drop["is_primary"]:
                    continue
                taken.add(drop["name"])
                out.append(_dup(drop, keep, "duplicate"))
            elif (a["method"] == "btree" and not (a["is_unique"] or a["constraint_name"] or a["key_expressions"])
                  and len(ka) < len(kb) and kb[: len(ka)] == ka and a["name"] not in taken
                  and not declared_for(a)):  # ours, kept for the calls its comment names (a smaller index)
                taken.add(a["name"])
                out.append(_dup(a, b, "redundant"))
    return out


def declared_for(i: dict) -> list[str]:
    """What a midi index is declared for: its comment's list between "serves: " and " -- " (the convention
    of db/migrations, checked by db/tests/003_index_purpose.sql and proven by tests/test_index_purpose.py)."""
    comment = i.get("comment") or ""
    if i.get("schema") != "midi" or not comment.startswith("serves: "):
        return []
    return [e.strip() for e in comment[len("serves: "):].split(" -- ", 1)[0].split(";") if e.strip()]


def _dup(drop: dict, keep: dict, kind: str) -> dict:
    return {"kind": kind, "schema": drop["schema"], "table": drop["table_name"], "name": drop["name"],
            "same_as": keep["name"], "size_bytes": drop["size_bytes"], "scans": drop["scans"],
            "fix": f"DROP INDEX CONCURRENTLY {_qual(drop['schema'], drop['name'])};"}


def _alike(indexes: Sequence[dict]) -> dict[str, set[str]]:
    """midi index -> the valid midi indexes of the same table and method that lead with the same column
    (itself included): any of them serves a filter on that column."""
    groups: dict[tuple, set[str]] = {}
    for i in indexes:
        if i["schema"] == "midi" and i["is_valid"]:
            groups.setdefault((i["table_oid"], i["method"], i["leading_column"]), set()).add(i["name"])
    return {name: group for group in groups.values() for name in group}


def _indexes(state: _State) -> dict:
    if not state.indexes:
        raise SectionUnavailable("no index statistics (see the database section)")
    expected = state.expected()
    alike = _alike(state.indexes)
    defs = index_definitions()
    by_name = {(i["schema"], i["name"]): i for i in state.indexes}
    invalid = []
    for i in state.indexes:
        if not i["is_valid"]:
            rebuild = re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX CONCURRENTLY ", i["definition"])
            invalid.append({"schema": i["schema"], "table": i["table_name"], "name": i["name"],
                            "size_bytes": i["size_bytes"], "definition": i["definition"],
                            "fix": f"DROP INDEX CONCURRENTLY {_qual(i['schema'], i['name'])};\n"
                                   f"-- then, once the cause is fixed (duplicates, a lock, a full disk):\n{rebuild};"})
    dups = duplicates(state.indexes)
    unused = []
    for i in state.indexes:
        if (i["scans"] or 0) > 0 or not i["is_valid"] or i["is_unique"] or i["is_primary"] or i["constraint_name"]:
            continue
        if int(state.tables.get(f"{i['schema']}.{i['table_name']}", {}).get("rows") or 0) == 0:
            continue  # an empty table has not been queried: no evidence either way
        reserved = list(expected.get(i["name"], [])) if i["schema"] == "midi" else []
        sibling = next((a for a in sorted(alike.get(i["name"], ())) if a in expected), None)
        fk = _serves_fk(i, state.foreign_keys)
        declared = declared_for(i)
        keep = (f"meant for {', '.join(reserved)}" if reserved
                else f"declared for {'; '.join(declared)}" if declared
                else f"serves the API's filter on {i['leading_column']}, like {sibling}" if sibling
                else f"serves foreign key {fk}" if fk else None)
        unused.append({"schema": i["schema"], "table": i["table_name"], "name": i["name"],
                       "size_bytes": i["size_bytes"], "kept_because": keep,
                       "fix": None if keep else f"DROP INDEX CONCURRENTLY {_qual(i['schema'], i['name'])};"})
    missing = []
    for name, users in sorted(expected.items()):
        if name in profile_calls.FACET_VIEWS or name == "files_pkey":
            continue
        idx = by_name.get(("midi", name))
        if idx is None or not idx["is_valid"]:
            missing.append({"name": name, "used_by": users, "state": "absent" if idx is None else "invalid",
                            "fix": defs.get(name) or f"-- {name}: its CREATE INDEX is in db/migrations"})
    unindexed = []
    for fk in state.foreign_keys:
        if not any(_serves_fk(i, [fk]) for i in state.indexes):
            cols = ", ".join(_ident(c) for c in fk["columns"])
            unindexed.append({"table": fk["table_name"], "constraint": fk["constraint_name"],
                              "columns": fk["columns"], "references": fk["references"],
                              "fix": f"CREATE INDEX CONCURRENTLY ON {fk['table_name']} ({cols});"})
    _index_findings(state, invalid, missing, dups, unused, unindexed)
    return {"invalid": invalid, "missing": missing, "duplicates": dups, "unused": unused,
            "unindexed_foreign_keys": unindexed,
            "notes": ["scans are counted since the statistics began (see Database); the profile's own calls count "
                      "too, once their statistics are flushed"]}


def _index_findings(state: _State, invalid: list, missing: list, dups: list, unused: list, unindexed: list) -> None:
    if invalid:
        state.add("invalid_index", "indexes", "critical", min(30, 15 * len(invalid)),
                  f"{len(invalid)} invalid index(es), left by a failed concurrent build: "
                  + ", ".join(x["name"] for x in invalid),
                  "drop each invalid index (every write still maintains it, no read uses it), fix the cause, rebuild",
                  "\n".join(x["fix"] for x in invalid))
    if missing:
        state.add("missing_index", "indexes", "critical", min(30, 10 * len(missing)),
                  f"{len(missing)} index(es) the API relies on are missing: "
                  + ", ".join(f"{m['name']} ({m['state']}; for {', '.join(m['used_by'])})" for m in missing),
                  "create them (concurrently, so the table stays writable)", "\n".join(m["fix"] for m in missing))
    exact = [d for d in dups if d["kind"] == "duplicate"]
    prefix = [d for d in dups if d["kind"] == "redundant"]
    if exact:
        state.add("duplicate_index", "indexes", "warning", min(15, 5 * len(exact)),
                  f"{len(exact)} duplicate index(es): " + ", ".join(f"{d['name']} = {d['same_as']}" for d in exact),
                  "drop the duplicates: each doubles the write cost and serves nothing new",
                  "\n".join(d["fix"] for d in exact))
    if prefix:
        state.add("redundant_index", "indexes", "info", min(6, 2 * len(prefix)),
                  f"{len(prefix)} index(es) lead another index with the same keys: "
                  + ", ".join(f"{d['name']} (by {d['same_as']})" for d in prefix),
                  "drop them unless a query needs the smaller index", "\n".join(d["fix"] for d in prefix))
    droppable = [u for u in unused if u["fix"]]
    if droppable:
        size = sum(int(u["size_bytes"] or 0) for u in droppable)
        state.add("unused_index", "indexes", "info", min(8, len(droppable)),
                  f"{len(droppable)} index(es) never scanned since the statistics began ({tuning.size_text(size)}): "
                  + ", ".join(u["name"] for u in droppable),
                  "drop the ones no query of yours needs: each costs every insert and update",
                  "\n".join(u["fix"] for u in droppable))
    if unindexed:
        state.add("fk_unindexed", "indexes", "info", min(6, 2 * len(unindexed)),
                  f"{len(unindexed)} foreign key(s) without an index on their columns: "
                  + ", ".join(f"{f['table']}({', '.join(f['columns'])})" for f in unindexed),
                  "index them, or each delete of a referenced row scans the whole table",
                  "\n".join(f["fix"] for f in unindexed))


# ------------------------------------------------------------------------------- pg_stat_statements


ENABLE_STATEMENTS_HINT = ("enable it: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; "
                          "restart the server; then CREATE EXTENSION pg_stat_statements; in this database")


def _statements(state: _State) -> dict:
    conn = state.conn
    ext = rows(conn, queries["profile_statements_extension"])[0]
    preload = ext["preload"]  # None when this role may not see shared_preload_libraries
    preloaded = None if preload is None else "pg_stat_statements" in preload
    out: dict[str, Any] = {"available": False, "hint": None, "top_total": [], "top_mean": []}
    if not ext["available"]:
        out["hint"] = "pg_stat_statements is not installed with this server (it ships in PostgreSQL's contrib)"
    elif ext["schema"] is None:
        out["hint"] = ("it is preloaded; enable it here: CREATE EXTENSION pg_stat_statements;" if preloaded
                       else ENABLE_STATEMENTS_HINT)
    else:
        try:
            with conn.transaction():
                for key, order in (("top_total", "total_exec_time"), ("top_mean", "mean_exec_time")):
                    q = sql.SQL(queries["profile_statements_top"]).format(
                        schema=sql.Identifier(ext["schema"]), order=sql.SQL("s.") + sql.Identifier(order))
                    out[key] = rows(conn, q, {"width": 300, "top": STATEMENTS_TOP})
            out.update(available=True, extension_schema=ext["schema"])
        except psycopg.errors.ObjectNotInPrerequisiteState:  # "must be loaded via shared_preload_libraries"
            out["hint"] = ("the extension exists but is not preloaded: ALTER SYSTEM SET shared_preload_libraries = "
                           "'pg_stat_statements'; then restart the server")
    if not out["available"]:
        state.add("no_statements", "statements", "info", 2,
                  "pg_stat_statements is not enabled: no record of which queries cost the most", out["hint"])
        return {**out, "status": "unavailable", "reason": "pg_stat_statements is not enabled"}
    hidden = sum(r["query"] == "<insufficient privilege>" for r in out["top_total"] + out["top_mean"])
    if hidden:
        out["status"] = "partial"
        out["notes"] = [f"{hidden} statement text(s) of other roles are hidden from this role "
                        "(needs pg_read_all_stats)"]
    return out


# ------------------------------------------------------------------------------ connections, settings


def _connections(state: _State) -> dict:
    conn = state.conn
    limits = rows(conn, queries["profile_connection_limits"])[0]
    by_state = rows(conn, queries["profile_activity"])
    long_running = rows(conn, queries["profile_long_running"], {"seconds": LONG_RUNNING_SECONDS})
    hidden = sum(r["connections"] for r in by_state if r["state"] == "hidden")
    usable = limits["max_connections"] - limits["superuser_reserved"] - limits["reserved"]
    usage = limits["in_use"] / usable if usable > 0 else 1.0
    out: dict[str, Any] = {**limits, "usage": round(usage, 4), "by_state": by_state, "long_running": long_running,
                           "long_running_seconds": LONG_RUNNING_SECONDS, "hidden": hidden}
    if hidden:
        out["status"] = "partial"
        out["notes"] = [f"{hidden} connection(s) of other roles: their state and query are hidden from this role "
                        "(needs pg_read_all_stats)"]
    if usage > 0.8:
        state.add("connections_full", "connections", "critical", 10,
                  f"{limits['in_use']} of {usable} usable connections in use",
                  "put a pooler (pgbouncer) in front, or raise max_connections")
    idle_tx = [r for r in long_running if (r["state"] or "").startswith("idle in transaction")]
    active = [r for r in long_running if r["state"] == "active"]
    minutes = LONG_RUNNING_SECONDS // 60
    if idle_tx:
        state.add("idle_in_transaction", "connections", "warning", 5,
                  f"{len(idle_tx)} session(s) idle in a transaction for over {minutes} minutes (they hold back vacuum)",
                  "end them, or set idle_in_transaction_session_timeout",
                  "\n".join(f"SELECT pg_terminate_backend({r['pid']});" for r in idle_tx))
    if active:
        state.add("long_running", "connections", "warning", 5,
                  f"{len(active)} statement(s) running for over {minutes} minutes",
                  "look at them; cancel the ones nobody waits for",
                  "\n".join(f"SELECT pg_cancel_backend({r['pid']});" for r in active))
    return out


def _settings(state: _State) -> dict:
    current = {r["name"]: r for r in rows(state.conn, queries["profile_settings"], [list(IMPORTANT_SETTINGS)])}
    memory, source = tuning.machine_memory()
    cpus = os.cpu_count() or 1
    local = bool(state.session.get("local"))
    items = tuning.recommend(memory, cpus, current)
    notes = [] if local else [f"the server is not on this machine: the recommendations assume it has this machine's "
                              f"memory ({tuning.size_text(memory)}); check its real size"]
    off = [i for i in items if i["verdict"] in ("raise", "lower")]
    if off:
        state.add("settings", "settings", "info", min(6, 2 * len(off)),
                  f"{len(off)} setting(s) far from the mark for {tuning.size_text(memory)} of memory: "
                  + ", ".join(f"{i['name']} {i['value']} -> {i['recommended']}" for i in off),
                  "change them (shared_buffers needs a restart)", "\n".join(i["fix"] for i in off))
    return {"memory_bytes": memory, "memory_source": source, "cpus": cpus, "server_is_local": local,
            "items": items, "notes": notes}


# ------------------------------------------------------------------------------------- API queries


def _queries(state: _State) -> dict:
    relations = {t["name"] for t in state.tables.values() if t["schema"] == "midi"}
    valid = {i["name"] for i in state.indexes if i["schema"] == "midi" and i["is_valid"]}
    files_rows = int(state.tables.get("midi.files", {}).get("rows") or 0)
    section, found = profile_calls.explain_section(state.conn, state.dsn, state.calls, valid_indexes=valid,
                                                   relations=relations, files_rows=files_rows,
                                                   alike=_alike(state.indexes), application=APPLICATION_NAME)
    for f in found:
        state.add(**f)
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
        calls: Sequence[Canonical] | None = None, target: str | None = None,
        log: Callable[[str], None] | None = None) -> dict:
    """Collect the whole report from the database at ``dsn`` (nothing is written to it). ``calls``
    replaces the canonical API calls (tests use it)."""
    from runner.profile import loadtest

    say = log or (lambda _s: None)
    started = time.perf_counter()
    with readonly.connect(dsn, APPLICATION_NAME) as conn:
        state = _State(conn, dsn)
        state.session = _session(state)
        source = "given by the caller"
        if calls is not None:
            state.calls = list(calls)
        elif state.session["has_midi_schema"]:
            try:
                with conn.transaction():
                    state.calls, source = profile_calls.canonical_calls(conn)
            except psycopg.Error as exc:
                state.calls = [*profile_calls.calls(canonical.Sample()), profile_calls.seed_call()]
                source = f"the canonical calls with default parameters (reading the library failed: {first_line(exc)})"
        sections: dict[str, dict] = {}
        say("profile: database and index statistics")
        sections["database"] = _section(state, _database)
        sections["indexes"] = _section(state, _indexes)
        sections["statements"] = _section(state, _statements)
        sections["connections"] = _section(state, _connections)
        sections["settings"] = _section(state, _settings)
        if not state.session["has_midi_schema"]:
            sections["queries"] = {"status": "skipped", "notes": [], "items": [],
                                   "reason": "no midi schema in this database (run: midicenter db migrate)"}
            state.add("no_schema", "queries", "critical", 50, "this database has no midi schema",
                      "run `midicenter db migrate` against it")
        else:
            say(f"profile: timing and explaining {len(state.calls)} API calls")
            sections["queries"] = _section(state, _queries)
            sections["queries"]["source"] = source
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
    return jsonable({
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "midicenter_version": __version__,
        "seconds": round(time.perf_counter() - started, 3),
        "target": {"description": target, "database": s.get("database"), "role": s.get("role"),
                   "server_version": s.get("server_version"), "superuser": s.get("superuser"),
                   "read_all_stats": s.get("read_all_stats"), "local": s.get("local"),
                   "read_only": s.get("read_only") == "on", "has_midi_schema": s.get("has_midi_schema")},
        "summary": {"health_score": score(findings),
                    "actions": [{"title": f.title, "action": f.action, "sql": f.sql, "penalty": f.penalty}
                                for f in findings[:3]],
                    "findings": [f.as_dict() for f in findings]},
        "sections": sections,
    })
