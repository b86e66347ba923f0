"""The profile's history: ``--record`` stores a report's figures (not its text) in midi.profile_runs, the
report compares itself with the last recorded run ("since last time") and shows the trend of the health
score and of each canonical call's p95, and ``--history`` prints that trend.

Recording is the one write of ``midicenter profile``: after the read-only report is complete, a separate
connection opens one transaction, takes the midi_writer role's rights alone (SET LOCAL ROLE, when this
login may), and calls midi.profile_record, which inserts the row and prunes rows older than
``keep_days``. Nothing else is written.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from runner.profile import readonly
from runner.profile.readonly import first_line, rows
from runner.queries import queries

KEEP_DAYS = 90
TREND_RUNS = 10  # recorded runs the report's trend shows (besides itself)
RECORD_APPLICATION = "midicenter-profile-record"


def figures(report: dict) -> dict:
    """The numbers of a report worth comparing over time (what --record stores)."""
    secs = report["sections"]
    db = secs.get("database", {})
    counts = {"critical": 0, "warning": 0, "info": 0}
    for f in report["summary"]["findings"]:
        counts[f["severity"]] += 1
    calls = {i["name"]: {k: i.get(k) for k in ("time_ms", "statistic", "p95_ms", "median_ms", "runs", "target_ms",
                                                "scored", "status", "index_verdict")}
             for i in secs.get("queries", {}).get("items", []) if i.get("time_ms") is not None}
    files = secs.get("queries", {}).get("files")
    return {
        "health_score": report["summary"]["health_score"], "files": files,
        "database_bytes": db.get("size_bytes"), "cache_hit_ratio": db.get("cache_hit_ratio"),
        "findings": counts, "kinds": sorted({f["kind"] for f in report["summary"]["findings"]}),
        "calls": calls, "checks": {c["name"]: c["value"] for c in report.get("checks", [])},
        "generated_at": report["generated_at"], "midicenter_version": report["midicenter_version"],
    }


def unavailable(reason: str) -> dict:
    return {"status": "unavailable", "reason": reason, "runs": []}


def read(conn: psycopg.Connection, n: int = TREND_RUNS) -> dict:
    """The newest ``n`` recorded runs (newest first), read in a savepoint of the caller's transaction."""
    try:
        with conn.transaction():
            found = rows(conn, queries["profile_history"], [n])
    except psycopg.errors.UndefinedFunction:
        return unavailable("midi.profile_history is not in this database (run `midicenter db migrate`)")
    except psycopg.Error as exc:
        return unavailable(first_line(exc))
    return {"status": "ok", "runs": found}


def compare(report: dict, past: dict) -> dict:
    """The report's history section: the previous recorded run, the health score's trend and each call's
    (oldest first, this report last); each call item of the report gains ``since_last``."""
    items = report["sections"].get("queries", {}).get("items", [])
    for i in items:
        i["since_last"] = None
    out: dict[str, Any] = {"status": past["status"], "previous": None, "scores": [], "calls": {}}
    if past["status"] != "ok":
        out["reason"] = past.get("reason")
        report["summary"]["since_last"] = None
        return out
    runs = list(reversed(past["runs"]))  # oldest first
    now = {"taken_at": report["generated_at"], "health_score": report["summary"]["health_score"], "current": True}
    out["scores"] = [{"taken_at": _iso(r["taken_at"]), "health_score": r["health_score"], "current": False}
                     for r in runs] + [now]
    names = [i["name"] for i in items]
    for name in names:
        series = [((r["figures"] or {}).get("calls", {}).get(name) or {}).get("time_ms") for r in runs]
        current = next((i["time_ms"] for i in items if i["name"] == name), None)
        out["calls"][name] = [*series, current]
    if not runs:
        report["summary"]["since_last"] = None
        return out
    prev = runs[-1]
    out["previous"] = {"id": prev["id"], "taken_at": _iso(prev["taken_at"]), "health_score": prev["health_score"],
                       "files": prev["files"], "midicenter_version": prev["midicenter_version"]}
    report["summary"]["since_last"] = report["summary"]["health_score"] - prev["health_score"]
    before = (prev["figures"] or {}).get("calls", {})
    for i in items:
        old = before.get(i["name"]) or {}
        if i.get("time_ms") is not None and old.get("time_ms") is not None:
            i["since_last"] = {"time_ms": old["time_ms"], "statistic": old.get("statistic"),
                               "delta_ms": round(i["time_ms"] - old["time_ms"], 3),
                               "ratio": round(i["time_ms"] / old["time_ms"], 3) if old["time_ms"] else None}
    return out


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def record(dsn: str, report: dict, keep_days: int = KEEP_DAYS) -> int:
    """Store the report's figures (one transaction, as midi_writer when this login may act as it) and
    prune recorded runs older than ``keep_days``; returns the new row's id."""
    fig = figures(report)
    conninfo = readonly.guarded_conninfo(dsn, RECORD_APPLICATION, read_only=False)
    with psycopg.connect(conninfo) as conn, conn.transaction():
        if conn.execute(queries["profile_record_can_be_writer"]).fetchone()[0]:
            conn.execute(queries["profile_record_as_writer"])
        new_id = conn.execute(queries["profile_record"], {
            "figures": Jsonb(fig), "version": report["midicenter_version"], "score": fig["health_score"],
            "files": fig["files"], "keep_days": keep_days}).fetchone()[0]
    return new_id


def trend(dsn: str, n: int = 30) -> dict:
    """The newest ``n`` recorded runs (newest first), on a read-only connection (for --history)."""
    with readonly.connect(dsn, RECORD_APPLICATION) as conn:
        past = read(conn, n)
        conn.rollback()
    runs = [{"id": r["id"], "taken_at": _iso(r["taken_at"]), "midicenter_version": r["midicenter_version"],
             "health_score": r["health_score"], "files": r["files"], "figures": r["figures"]} for r in past["runs"]]
    return {"status": past["status"], "reason": past.get("reason"), "runs": runs}


def _ms(v: Any) -> str:
    return "" if v is None else f"{v:,.2f}"


def render(data: dict, columns: int = 8) -> str:
    """--history as Markdown: the recorded runs (newest first), then each call's time over the newest
    ``columns`` runs (oldest to newest, left to right)."""
    if data["status"] != "ok":
        return f"# midicenter profile history\n\n_unavailable: {data.get('reason')}_\n"
    runs = data["runs"]
    lines = ["# midicenter profile history", ""]
    if not runs:
        return "\n".join([*lines, "No recorded runs yet: `midicenter profile --record` records one.", ""])
    lines += ["| recorded | health | since previous | files | critical | warning | info | midicenter |",
              "|---|---|---|---|---|---|---|---|"]
    for n, r in enumerate(runs):
        prev = runs[n + 1]["health_score"] if n + 1 < len(runs) else None
        f = (r["figures"] or {}).get("findings", {})
        change = "" if prev is None else format(r["health_score"] - prev, "+d")
        files = "" if r["files"] is None else format(r["files"], ",")
        when = str(r["taken_at"])[:16].replace("T", " ")
        lines.append(f"| {when} | {r['health_score']} | {change} | {files} | {f.get('critical', '')} | "
                     f"{f.get('warning', '')} | {f.get('info', '')} | {r['midicenter_version']} |")
    recent = list(reversed(runs[:columns]))
    names = list(dict.fromkeys(n for r in recent for n in ((r["figures"] or {}).get("calls") or {})))
    if names:
        lines += ["", "Each call's time (p95, or a spot check's median), ms, oldest to newest:", "",
                  "| call | " + " | ".join(str(r["taken_at"])[5:16].replace("T", " ") for r in recent) + " |",
                  "|---|" + "---|" * len(recent)]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(
                _ms((((r["figures"] or {}).get("calls") or {}).get(name) or {}).get("time_ms")) for r in recent) + " |")
    return "\n".join(lines) + "\n"
