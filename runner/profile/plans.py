"""Reading what a profiled call did, for runner.profile.calls: which relations its transaction scanned
(this transaction's own scan counters, ``pg_stat_get_xact_numscans``, before and after a call, which also
see the statements run inside API functions), which indexes a JSON plan names, a compact text tree of a
JSON plan, and the plans auto_explain sent as notices for the statements run inside API functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import psycopg

from runner.profile.readonly import rows
from runner.queries import queries


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
