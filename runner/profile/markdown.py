"""The profile report (a dict from ``runner.profile.report.run``) as Markdown: summary first, then one section
each, tables for the numbers and fenced SQL for every fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_TITLES = {
    "database": "Database", "imports": "Imports and views", "queries": "API queries", "indexes": "Indexes",
    "statements": "Top statements", "connections": "Connections", "settings": "Settings", "load_test": "Load test",
}
_ORDER = ("database", "imports", "queries", "indexes", "statements", "connections", "settings", "load_test")


def _size(n: Any) -> str:
    if n is None:
        return ""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _num(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _pct(v: Any) -> str:
    return "" if v is None else f"{float(v):.1%}"


def _when(v: Any) -> str:
    return "never" if not v else str(v)[:16].replace("T", " ")


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Sequence[Any]], head: Sequence[str]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return [*out, ""]


def _code(text: str, lang: str = "sql") -> list[str]:
    return [f"```{lang}", text.rstrip(), "```", ""]


def _status(sec: dict) -> list[str]:
    out = []
    if sec.get("status") in ("unavailable", "skipped"):
        out += [f"_{sec['status']}: {sec.get('reason', '')}_", ""]
        if sec.get("hint"):
            out += [f"To {sec['hint'][0].lower()}{sec['hint'][1:]}" if sec["hint"].startswith("enable") else sec["hint"], ""]
    elif sec.get("status") == "partial":
        out += ["_partial: some of this is hidden from this role_", ""]
    out += [f"- {n}" for n in sec.get("notes", [])]
    return [*out, ""] if sec.get("notes") else out


def _signed(v: Any, digits: int = 2, unit: str = "") -> str:
    if v is None:
        return ""
    return f"{v:+,.{digits}f}{unit}" if isinstance(v, float) else f"{v:+,d}{unit}"


def _advice(f: dict) -> list[str]:
    out = []
    if f.get("sql"):
        out += _code(f["sql"])
    if f.get("command"):
        out += _code(f["command"], "sh")
    if f.get("untested"):
        out += [f"_Not verifiable on a scratch database: {f['untested']}._", ""]
    return out


def render(report: dict) -> str:
    t, s, secs = report["target"], report["summary"], report["sections"]
    lines = [f"# midicenter profile: {t.get('database')}", ""]
    lines += [f"PostgreSQL {t.get('server_version')}, role `{t.get('role')}`"
              + (" (superuser)" if t.get("superuser") else "")
              + f", {t.get('description') or 'DSN given'}; generated {report['generated_at']} in {report['seconds']:.1f} s "
              f"by midicenter {report['midicenter_version']}. Read only: "
              + ("every statement ran in a READ ONLY transaction." if t.get("read_only") else "NO"), ""]
    hist = report.get("history") or {}
    since = s.get("since_last")
    prev = hist.get("previous")
    lines += ["## Summary", "", f"**Health score: {s['health_score']}/100**"
              + (f" ({_signed(since)} since {_when(prev['taken_at'])})" if prev and since is not None else ""), ""]
    if len(hist.get("scores") or []) > 1:
        lines += ["Trend (recorded runs, oldest first, then this report): "
                  + " → ".join(str(x["health_score"]) for x in hist["scores"]), ""]
    if s["actions"]:
        lines += ["The three most useful actions:", ""]
        for n, a in enumerate(s["actions"], 1):
            lines.append(f"{n}. **{a['action'][0].upper()}{a['action'][1:]}**: {a['title']} (-{a['penalty']})")
        lines.append("")
    else:
        lines += ["Nothing to do.", ""]
    if s["findings"]:
        lines += table([(f["severity"], _TITLES.get(f["section"], f["section"]), f["title"], f"-{f['penalty']}")
                        for f in s["findings"]], ["severity", "section", "finding", "score"])
        lines += ["### What to do", ""]
        for f in s["findings"]:
            lines += [f"- **{f['title']}**: {f['action']}", ""]
            lines += _advice(f)
    for key in _ORDER:
        sec = secs.get(key)
        if sec is None:
            continue
        lines += [f"## {_TITLES[key]}", "", *_status(sec)]
        if sec.get("status") not in ("unavailable", "skipped"):
            lines += _SECTIONS[key](sec)
    lines += _trend(hist)
    lines += _plans(secs.get("queries", {}))
    return "\n".join(lines).rstrip() + "\n"


def _trend(hist: dict) -> list[str]:
    if hist.get("status") != "ok" or len(hist.get("scores") or []) < 2:
        return []
    scores = hist["scores"]
    out = ["## Trend", "", f"The last {len(scores) - 1} recorded run(s) (`midicenter profile --record`), oldest first, "
           "and this report (now):", ""]
    head = ["call", *(("now" if x.get("current") else _when(x["taken_at"])[5:]) for x in scores)]
    body = [("health score", *(x["health_score"] for x in scores))]
    body += [(name, *(_num(v) for v in values)) for name, values in hist.get("calls", {}).items()]
    return out + table(body, head)


def _database(d: dict) -> list[str]:
    out = [f"Size {_size(d.get('size_bytes'))}; cache hit ratio {_pct(d.get('cache_hit_ratio'))} "
           f"({_num(d.get('blocks_hit'))} hits, {_num(d.get('blocks_read'))} reads); "
           + (f"statistics since {_when(d.get('stats_since'))}." if d.get("stats_since")
              else "statistics since they began (never reset).")
           + (f" Cache hit ratio {d['cache_hit_note']}." if d.get("cache_hit_note") else ""), ""]
    out += table([(f"{r['schema']}.{r['name']}" + (" (view)" if r["kind"] == "m" else ""),
                   _num(r["rows"]) + ("" if r["rows_exact"] else " ~"), _size(r["table_bytes"]), _size(r["index_bytes"]),
                   _size(r["total_bytes"]), _pct(r["dead_ratio"]), _num(r["seq_scan"]), _num(r["idx_scan"]),
                   _when(max(filter(None, [r["last_vacuum"], r["last_autovacuum"]]), default=None)),
                   _when(max(filter(None, [r["last_analyze"], r["last_autoanalyze"]]), default=None)))
                  for r in d.get("tables", [])],
                 ["table", "rows", "heap", "indexes", "total", "dead", "seq scans", "index scans", "last vacuum",
                  "last analyze"])
    out += ["Indexes:", ""]
    out += table([(f"{i['schema']}.{i['name']}", i["table_name"], i["method"], _size(i["size_bytes"]), _num(i["scans"]),
                   "yes" if i["is_valid"] else "INVALID") for i in d.get("indexes", [])],
                 ["index", "table", "method", "size", "scans", "valid"])
    return out


def _queries(q: dict) -> list[str]:
    spot = "spot" in (q.get("statistic") or "")
    out = [f"Each call ran {_num(q.get('warmup_runs'))} times to warm up, then in {_num(q.get('rounds'))} round(s) over "
           f"all calls, {_num(q.get('timed_runs'))} times a round with its parameter sets in turn, on "
           f"{_num(q.get('files'))} files "
           + ("(too few runs for a p95: the median is shown, a spot check weighed as one)" if spot
              else "(the median of the rounds' p95 is judged)")
           + ", then once under EXPLAIN (ANALYZE, BUFFERS). The targets are midicenter's own: the p95 each call "
           "stays under at 1,000,000 files. The seed documents' query is shown for comparison and not scored.", ""]
    out += ["Strategy: what the search engine meant to read for this input (midi.search_strategy; *table* means no "
            "index serves it and the table is read as it is, by design); index: whether it did.", ""]
    out += table([(i["name"], i["status"] if i.get("scored") else "compared", _num(i["time_ms"]),
                   _signed((i.get("since_last") or {}).get("delta_ms")), _num(i["target_ms"], 0), _num(i["rows"]),
                   f"{_num(i['shared_hit'])}/{_num(i['shared_read'])}" if i["shared_hit"] is not None else "",
                   _strategy(i), ", ".join([*i["indexes_used"], *(f"seq {t}" for t in i["seq_scans"])]),
                   i["index_verdict"], i["verdict"])
                  for i in q.get("items", [])],
                 ["call", "status", "ms", "since last time", "target", "rows", "buffers hit/read", "strategy",
                  "read through", "index", "verdict"])
    return out


def _strategy(i: dict) -> str:
    rows = i.get("strategy") or []
    if not rows:
        return ", ".join(i.get("meant") or [])
    segs: dict[tuple, list[str]] = {}
    for r in rows:
        segs.setdefault((r["segment"], r["strategy"]), []).append(r["index_name"] or "table")
    return "; ".join(f"{name}: {' or '.join(idx)}" for (_n, name), idx in segs.items())


def _imports(im: dict) -> list[str]:
    v = im.get("views") or {}
    out = [f"Facet views and library statistics refreshed {_when(v.get('refreshed_at'))}; files last changed "
           f"{_when(v.get('changed_at'))}; behind the catalog by {_num(v.get('behind_hours'), 1)} hours.", ""]
    batches = ([("running", b) for b in im.get("running", [])] + [("stale: its process is gone", b) for b in im.get("stale", [])]
               + [("stopped early, not completed since", b) for b in im.get("unfinished", [])]
               + ([("last complete", im["last_done"])] if im.get("last_done") else []))
    out += table([(b["id"], what, b["status"], _when(b["started_at"]), _when(b["finished_at"]), _num(b["files_seen"]),
                   _num(b["files_new"]), ", ".join(b["roots"])) for what, b in batches],
                 ["batch", "state", "status", "started", "finished", "files seen", "new", "roots"])
    return out


def _indexes(x: dict) -> list[str]:
    out: list[str] = []
    parts = (("Invalid", "invalid", lambda r: f"{r['schema']}.{r['name']} on {r['table']}"),
             ("Missing (midicenter's schema has them)", "missing",
              lambda r: f"{r['name']} ({r['migration']}" + (f"; for {'; '.join(r['used_by'])})" if r["used_by"] else ")")),
             ("Duplicate or redundant", "duplicates",
              lambda r: f"{r['schema']}.{r['name']} {'duplicates' if r['kind'] == 'duplicate' else 'is a prefix of'} "
                        f"{r['same_as']} ({_size(r['size_bytes'])})"
                        + ("" if r["fix"] else ": kept, " + ("declared for " + "; ".join(r["declared"]) if r["declared"]
                                                              else "shipped by midicenter"))),
             ("Unused (neither midicenter's nor declared)", "unused",
              lambda r: f"{r['schema']}.{r['name']} ({_size(r['size_bytes'])})"),
             ("Not used since the statistics began, kept", "declared_unused",
              lambda r: f"{r['schema']}.{r['name']} ({_size(r['size_bytes'])}): {r['kept_because']}"),
             ("Foreign keys without an index", "unindexed_foreign_keys",
              lambda r: f"{r['table']}({', '.join(r['columns'])}) -> {r['references']}"))
    for title, key, describe in parts:
        rows = x.get(key, [])
        out += [f"### {title}: {len(rows)}", ""]
        if rows:
            out += [f"- {describe(r)}" for r in rows] + [""]
            fixes = [r["fix"] for r in rows if r.get("fix")]
            if fixes:
                out += _code("\n".join(fixes))
    declared = x.get("declared", [])
    out += [f"### Declared (what each index serves, from its comment): {len(declared)}", ""]
    out += table([(d["name"], d["table"], "; ".join(d["serves"]), _num(d["scans"])) for d in declared],
                 ["index", "table", "serves", "scans"]) if declared else []
    return out


def _statements(st: dict) -> list[str]:
    out: list[str] = []
    for title, key in (("By total time", "top_total"), ("By mean time", "top_mean")):
        out += [f"### {title}", ""]
        out += table([(_num(r["calls"]), _num(r["total_ms"], 1), _num(r["mean_ms"], 3), _num(r["rows"]),
                       (r["query"] or "")[:120]) for r in st.get(key, [])],
                     ["calls", "total ms", "mean ms", "rows", "query"])
    return out


def _connections(c: dict) -> list[str]:
    out = [f"{c['in_use']} client connection(s) of max_connections {c['max_connections']} "
           f"({c['superuser_reserved']} reserved for superusers); usage {_pct(c['usage'])}.", ""]
    out += table([(r["database"], r["state"], r["connections"], r["waiting_on_locks"]) for r in c.get("by_state", [])],
                 ["database", "state", "connections", "waiting on locks"])
    out += [f"Running, or idle in an open transaction, for {_num(c['long_running_seconds'], 0)} s or more:", ""]
    out += table([(r["pid"], r["database"], r["role"], r["state"], _num(r["query_seconds"], 0),
                   _num(r["transaction_seconds"], 0), r["query"]) for r in c.get("long_running", [])],
                 ["pid", "database", "role", "state", "query s", "transaction s", "query"])
    return out


def _settings(st: dict) -> list[str]:
    out = [f"This machine: {_size(st.get('memory_bytes'))} memory ({st.get('memory_source')}), {st.get('cpus')} CPUs"
           + ("" if st.get("server_is_local") else " (the server is elsewhere)") + ".", ""]
    out += table([(i["name"], i["value"], i["recommended"], i["verdict"], i["why"]) for i in st.get("items", [])],
                 ["setting", "now", "recommended", "verdict", "why"])
    fixes = [i["fix"] for i in st.get("items", []) if i.get("fix")]
    return out + (_code("\n".join(fixes)) if fixes else [])


def _load_test(lt: dict) -> list[str]:
    out = [f"Mix: {', '.join(lt.get('mix', []))}; {lt.get('seconds_per_level')} s per level.", ""]
    out += table([(lv["clients"], _num(lv["queries"]), _num(lv["qps"], 1), _num(lv["p50_ms"]), _num(lv["p95_ms"]),
                   _num(lv["p99_ms"]), _num(lv["errors"])) for lv in lt.get("levels", [])],
                 ["clients", "queries", "QPS", "p50 ms", "p95 ms", "p99 ms", "errors"])
    return out


def _plans(q: dict) -> list[str]:
    items = [i for i in q.get("items", []) if i.get("plan") or i.get("error")]
    if not items:
        return []
    out = ["## Plans", ""]
    for i in items:
        title = i["name"] if i["about"] == i["name"] else f"{i['name']}: {i['about']}"
        out += [f"### {title}", "", f"`{i['sql'][:400]}`", ""]
        if i.get("error"):
            out += [f"Error: {i['error']}", ""]
            continue
        out += _code("\n".join([i["plan"], *i.get("nested_plans", [])]), "text")
    return out


_SECTIONS = {"database": _database, "imports": _imports, "queries": _queries, "indexes": _indexes,
             "statements": _statements, "connections": _connections, "settings": _settings, "load_test": _load_test}
