"""The report's figures in the Prometheus text exposition format (version 0.0.4), for node_exporter's
textfile collector: ``midicenter profile --prometheus --output /var/lib/node_exporter/textfile/midicenter.prom``.

Metric names are stable (a changed meaning gets a new name); every metric has its HELP and TYPE lines;
times are in seconds and ratios between 0 and 1, as Prometheus conventions ask. ``down`` is what a run
that could not collect the report writes instead, so an alert can tell "no data" from "healthy".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from runner.profile.checks import EXIT

# name -> (type, help); the order of this table is the order of the output
METRICS: dict[str, tuple[str, str]] = {
    "midicenter_profile_up": ("gauge", "1 when the profile could collect its report, 0 when it could not"),
    "midicenter_profile_timestamp_seconds": ("gauge", "When the report was generated (Unix time)"),
    "midicenter_profile_duration_seconds": ("gauge", "How long collecting the report took"),
    "midicenter_profile_health_score": ("gauge", "Health score of the report, 0 to 100"),
    "midicenter_profile_findings": ("gauge", "Findings of the report by severity"),
    "midicenter_profile_check_status": ("gauge", "Status of each --check check: 0 ok, 1 warning, 2 critical, 3 unknown"),
    "midicenter_files": ("gauge", "Files (distinct contents) in the catalog"),
    "midicenter_database_size_bytes": ("gauge", "Size of the database"),
    "midicenter_cache_hit_ratio": ("gauge", "Share of block reads served by shared_buffers since the statistics began"),
    "midicenter_table_rows": ("gauge", "Rows of each midi table and materialized view"),
    "midicenter_table_dead_ratio": ("gauge", "Share of dead rows of each midi table"),
    "midicenter_invalid_indexes": ("gauge", "Indexes left invalid by a failed concurrent build"),
    "midicenter_connections_in_use": ("gauge", "Client connections in use on the server"),
    "midicenter_connections_usable": ("gauge", "Client connections the server allows (max_connections less reserved)"),
    "midicenter_long_transaction_seconds": ("gauge", "Longest running statement or idle open transaction (0: none over the threshold)"),
    "midicenter_views_age_seconds": ("gauge", "Time since the facet views and library statistics were refreshed"),
    "midicenter_views_behind_seconds": ("gauge", "Time the facet views are behind the catalog (0: refreshed since it changed)"),
    "midicenter_import_batches": ("gauge", "Import batches by state: running, stale (process gone), unfinished"),
    "midicenter_call_seconds": ("gauge", "Time of each canonical API call: its p95 (statistic=p95) or a spot check's median"),
    "midicenter_call_target_seconds": ("gauge", "Target of each canonical API call (p95 at 1,000,000 files)"),
}


def _label(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def _document(samples: Iterable[tuple[str, dict[str, Any], float]]) -> str:
    by_name: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for name, labels, value in samples:
        if name not in METRICS:
            raise KeyError(f"metric {name} has no HELP and TYPE")
        if value is not None:
            by_name.setdefault(name, []).append((labels, value))
    lines: list[str] = []
    for name, (kind, help_text) in METRICS.items():
        if name not in by_name:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in by_name[name]:
            label = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{label}}} {_value(value)}" if label else f"{name} {_value(value)}")
    return "\n".join(lines) + "\n"


def exposition(report: dict) -> str:
    """The metrics of a report (with its checks) as exposition text."""
    import datetime as dt

    secs = report["sections"]
    out: list[tuple[str, dict, float]] = [
        ("midicenter_profile_up", {}, 1),
        ("midicenter_profile_timestamp_seconds", {}, dt.datetime.fromisoformat(report["generated_at"]).timestamp()),
        ("midicenter_profile_duration_seconds", {}, report["seconds"]),
        ("midicenter_profile_health_score", {}, report["summary"]["health_score"]),
    ]
    counts = {"critical": 0, "warning": 0, "info": 0}
    for f in report["summary"]["findings"]:
        counts[f["severity"]] += 1
    out += [("midicenter_profile_findings", {"severity": k}, v) for k, v in counts.items()]
    out += [("midicenter_profile_check_status", {"check": c["name"]}, EXIT[c["status"]]) for c in report.get("checks", [])]
    q = secs.get("queries", {})
    if q.get("status") in ("ok", "partial"):
        out.append(("midicenter_files", {}, q.get("files")))
    db = secs.get("database", {})
    if db.get("status") in ("ok", "partial"):
        out.append(("midicenter_database_size_bytes", {}, db.get("size_bytes")))
        out.append(("midicenter_cache_hit_ratio", {}, db.get("cache_hit_ratio")))
        for t in db.get("tables", []):
            if t["schema"] == "midi":
                out.append(("midicenter_table_rows", {"table": t["name"]}, t["rows"]))
                if t["kind"] != "m":
                    out.append(("midicenter_table_dead_ratio", {"table": t["name"]}, t["dead_ratio"]))
        out.append(("midicenter_invalid_indexes", {}, sum(not i["is_valid"] for i in db.get("indexes", []))))
    c = secs.get("connections", {})
    if c.get("status") in ("ok", "partial"):
        out.append(("midicenter_connections_in_use", {}, c["in_use"]))
        out.append(("midicenter_connections_usable", {}, c["usable"]))
        out.append(("midicenter_long_transaction_seconds", {},
                    max([r["seconds"] for r in c.get("long_running", [])], default=0)))
    im = secs.get("imports", {})
    if im.get("status") in ("ok", "partial"):
        views = im.get("views") or {}
        if views.get("age_hours") is not None:
            out.append(("midicenter_views_age_seconds", {}, views["age_hours"] * 3600))
            out.append(("midicenter_views_behind_seconds", {}, views["behind_hours"] * 3600))
        for state, key in (("running", "running"), ("stale", "stale"), ("unfinished", "unfinished")):
            out.append(("midicenter_import_batches", {"state": state}, len(im.get(key, []))))
    for i in q.get("items", []):
        if not i.get("scored") or i.get("time_ms") is None:
            continue
        statistic = "p95" if (i.get("statistic") or "").startswith("p95") else "median"
        out.append(("midicenter_call_seconds", {"call": i["name"], "statistic": statistic}, i["time_ms"] / 1000))
        if i.get("target_ms"):
            out.append(("midicenter_call_target_seconds", {"call": i["name"]}, i["target_ms"] / 1000))
    return _document(out)


def down() -> str:
    """The document of a run that could not collect the report."""
    return _document([("midicenter_profile_up", {}, 0)])
