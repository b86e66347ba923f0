"""The profile report's sections about the PostgreSQL server itself rather than the midi schema: the
top statements of ``pg_stat_statements`` (or how to enable it), client connections and long-running or
idle-in-transaction sessions, and the memory settings measured against the machine (runner.profile.tuning).

Each section is a function of the report's state (runner.profile.report._State) that returns the
section's JSON-ready dict and adds its findings to the state; ``runner.profile.report.run()`` runs them
in savepoints like every other section.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from runner.profile import checks, tuning
from runner.profile.checks import OK, _level_penalty
from runner.profile.readonly import rows
from runner.queries import queries

if TYPE_CHECKING:
    from runner.profile.report import _State

STATEMENTS_TOP = 10
IMPORTANT_SETTINGS = (
    "shared_buffers", "work_mem", "effective_cache_size", "max_connections", "maintenance_work_mem",
    "random_page_cost",
)


# ------------------------------------------------------------------------------- pg_stat_statements


def _statements(state: _State) -> dict:
    conn = state.conn
    ext = rows(conn, queries["profile_statements_extension"])[0]
    preload = ext["preload"]  # None when this role may not see shared_preload_libraries
    preloaded = None if preload is None else "pg_stat_statements" in preload
    out: dict[str, Any] = {"available": False, "hint": None, "top_total": [], "top_mean": []}
    fix = None
    libraries = ", ".join(x for x in [*(x.strip() for x in (preload or "").split(",")), "pg_stat_statements"] if x)
    preload_sql = (f"ALTER SYSTEM SET shared_preload_libraries = '{libraries}';  -- then restart the server\n"
                   "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
    if not ext["available"]:
        out["hint"] = "pg_stat_statements is not installed with this server (it ships in PostgreSQL's contrib)"
    elif ext["schema"] is None:
        if preloaded:
            out["hint"] = "it is preloaded; enable it here: CREATE EXTENSION pg_stat_statements;"
            fix = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
        else:
            out["hint"] = ("enable it: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; "
                           "restart the server; then CREATE EXTENSION pg_stat_statements; in this database")
            fix = preload_sql
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
            fix = preload_sql
    if not out["available"]:
        state.add("no_statements", "statements", "info", 2,
                  "pg_stat_statements is not enabled: no record of which queries cost the most", out["hint"], fix,
                  untested=None if fix else "installing PostgreSQL's contrib package is outside the database")
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
    th = state.thresholds
    limits = rows(conn, queries["profile_connection_limits"])[0]
    by_state = rows(conn, queries["profile_activity"])
    levels = [x for x in (th.warning["long_transaction"], th.critical["long_transaction"]) if x is not None]
    long_seconds = min(levels) if levels else checks.CHECKS["long_transaction"].warning
    long_running = rows(conn, queries["profile_long_running"], {"seconds": long_seconds})
    for r in long_running:
        r["seconds"] = (r["query_seconds"] if r["state"] == "active" else r["transaction_seconds"]) or 0.0
    hidden = sum(r["connections"] for r in by_state if r["state"] == "hidden")
    usable = limits["max_connections"] - limits["superuser_reserved"] - limits["reserved"]
    usage = limits["in_use"] / usable if usable > 0 else 1.0
    out: dict[str, Any] = {**limits, "usable": usable, "usage": round(usage, 4), "by_state": by_state,
                           "long_running": long_running, "long_running_seconds": long_seconds, "hidden": hidden}
    if hidden:
        out["status"] = "partial"
        out["notes"] = [f"{hidden} connection(s) of other roles: their state and query are hidden from this role "
                        "(needs pg_read_all_stats)"]
    level = th.status("connections", usage)
    if level != OK:
        state.add("connections_full", "connections", level, _level_penalty(level, 5, 10),
                  f"{limits['in_use']} of {usable} usable connections in use",
                  "put a pooler (pgbouncer) in front, or raise max_connections",
                  untested="the clients that fill the connections are outside the database")
    idle_tx = [r for r in long_running if (r["state"] or "").startswith("idle in transaction")
               and th.status("long_transaction", r["seconds"]) != OK]
    active = [r for r in long_running if r["state"] == "active" and th.status("long_transaction", r["seconds"]) != OK]
    for kind, group, what, fn in (
            ("idle_in_transaction", idle_tx, "session(s) idle in an open transaction (they hold back vacuum)",
             "pg_terminate_backend"),
            ("long_running", active, "statement(s) running", "pg_cancel_backend")):
        if not group:
            continue
        level = checks.worst(th.status("long_transaction", r["seconds"]) for r in group)
        longest = max(r["seconds"] for r in group)
        state.add(kind, "connections", level, _level_penalty(level, 5, 10),
                  f"{len(group)} {what} for up to {longest:,.0f} s",
                  "end them, or set idle_in_transaction_session_timeout" if fn == "pg_terminate_backend"
                  else "look at them; cancel the ones nobody waits for",
                  "\n".join(f"SELECT {fn}({r['pid']});" for r in group))
    return out


def _settings(state: _State) -> dict:
    current = {r["name"]: r for r in rows(state.conn, queries["profile_settings"], [list(IMPORTANT_SETTINGS)])}
    if state.server_memory:
        memory, source = state.server_memory, "given (--server-memory)"
    else:
        memory, source = tuning.machine_memory()
    cpus = os.cpu_count() or 1
    local = bool(state.session.get("local"))
    items = tuning.recommend(memory, cpus, current, state.session.get("database"))
    notes = [] if local or state.server_memory else [
        f"the server is not on this machine: the recommendations assume it has this machine's memory "
        f"({tuning.size_text(memory)}); give its real size with --server-memory"]
    off = [i for i in items if i["verdict"] in ("raise", "lower")]
    if off:
        state.add("settings", "settings", "info", min(6, 2 * len(off)),
                  f"{len(off)} setting(s) far from the mark for {tuning.size_text(memory)} of memory: "
                  + ", ".join(f"{i['name']} {i['value']} -> {i['recommended']}" for i in off),
                  "change them" + (" (shared_buffers needs a restart)" if any(i["needs_restart"] for i in off) else ""),
                  "\n".join(i["fix"] for i in off))
    return {"memory_bytes": memory, "memory_source": source, "cpus": cpus, "server_is_local": local,
            "items": items, "notes": notes}
