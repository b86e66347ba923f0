"""Thresholds, and the checks behind ``midicenter profile --check``.

One table of thresholds serves both the report (its findings cross them) and ``--check`` (its exit
status): a warning and a critical level per check, defaults below, overridden by a small TOML file
(``[warning]`` and ``[critical]`` tables) and then by ``--warning NAME=VALUE`` / ``--critical NAME=VALUE``.
A level set to ``off`` is not checked. ``evaluate`` reads the figures of a report and gives each check a
status; the exit status is the worst of them, Nagios-style: 0 ok, 1 warning, 2 critical, 3 could not
check (a critical or warning outranks a check that could not run).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = "ok", "warning", "critical", "unknown"
EXIT = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}
MIN_DEAD_ROWS = 1000  # a table with fewer dead rows is never flagged, whatever their share
MIN_CACHE_BLOCKS = 10_000  # block requests before a cache hit ratio means anything


def cache_hit_judged(db: dict) -> bool:
    """Whether the database's cache hit ratio says anything about the size of the cache: 10,000 block requests
    or more, and more blocks read from outside shared_buffers than fit in it or than the database has. Fewer
    can all be first reads since the server started (into a cache that never had to evict one), which no
    larger cache avoids."""
    hit, read = int(db.get("blocks_hit") or 0), int(db.get("blocks_read") or 0)
    size = int(db.get("size_bytes") or 0) // int(db.get("block_size") or 8192)
    cache = int(db.get("shared_buffers_blocks") or 0) or size
    return hit + read >= MIN_CACHE_BLOCKS and read > min(size, cache)


@dataclass(frozen=True)
class Check:
    """One threshold pair: ``above`` checks cross at value >= level, the others at value < level."""

    name: str
    about: str
    unit: str
    above: bool
    warning: float | None
    critical: float | None


CHECKS: dict[str, Check] = {c.name: c for c in (
    Check("p95", "p95 of each canonical call, as a multiple of its target", "x target", True, 1.0, 2.0),
    Check("cache_hit", "share of block reads served by shared_buffers (when 10,000 or more)", "ratio", False,
          0.99, 0.95),
    Check("dead_share", "share of dead rows in a table (one with over 1,000 dead rows and some live ones)", "ratio",
          True, 0.2, 0.5),
    Check("invalid_indexes", "indexes left invalid by a failed concurrent build", "count", True, None, 1),
    Check("long_transaction", "seconds a statement has run, or a transaction stayed idle and open", "seconds", True,
          300, 3600),
    Check("connections", "share of usable connections (max_connections less reserved) in use", "ratio", True,
          0.8, 0.95),
    Check("views_age", "hours the facet views are behind the catalog (0 when refreshed since it changed)", "hours",
          True, 24, 168),
    Check("stale_imports", "import batches left running by a process that is gone", "count", True, 1, None),
)}


def _level(text: Any, where: str) -> float | None:
    if text is None or (isinstance(text, str) and text.strip().lower() in ("off", "none", "")):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: a number or off, not {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: a finite number, not {text!r}")
    return value


@dataclass
class Thresholds:
    """Warning and critical level of every check (None: that level is not checked)."""

    warning: dict[str, float | None] = field(default_factory=lambda: {n: c.warning for n, c in CHECKS.items()})
    critical: dict[str, float | None] = field(default_factory=lambda: {n: c.critical for n, c in CHECKS.items()})

    def set(self, level: str, name: str, value: Any, where: str = "") -> None:
        if name not in CHECKS:
            raise ValueError(f"{where or level}: unknown check {name!r} (known: {', '.join(CHECKS)})")
        getattr(self, level)[name] = _level(value, f"{where or level} {name}")

    def update(self, level: str, pairs: Iterable[str], where: str) -> None:
        """Apply NAME=VALUE strings (command-line flags)."""
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"{where}: NAME=VALUE expected, not {pair!r}")
            self.set(level, name.strip(), value.strip(), where)

    def load(self, path: Path) -> None:
        """Apply a TOML file with [warning] and [critical] tables of NAME = number (or "off")."""
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        unknown = set(doc) - {"warning", "critical"}
        if unknown:
            raise ValueError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} (expected [warning], [critical])")
        for level in ("warning", "critical"):
            table = doc.get(level, {})
            if not isinstance(table, Mapping):
                raise ValueError(f"{path}: [{level}] must be a table of NAME = number")
            for name, value in table.items():
                self.set(level, name, value, f"{path} [{level}]")

    def status(self, name: str, value: float | None) -> str:
        """ok, warning or critical for one value of a check (ok when the value is unknown)."""
        if value is None:
            return OK
        check = CHECKS[name]
        for level, status in ((self.critical[name], CRITICAL), (self.warning[name], WARNING)):
            if level is not None and (value >= level if check.above else value < level):
                return status
        return OK

    def as_dict(self) -> dict:
        return {n: {"warning": self.warning[n], "critical": self.critical[n], "above": c.above, "unit": c.unit}
                for n, c in CHECKS.items()}


@dataclass
class Result:
    """One check's outcome: its status, its worst value, and one line per thing that crossed a level."""

    name: str
    status: str
    value: float | None
    lines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "value": self.value, "lines": self.lines}


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


def exit_status(results: Iterable[Result]) -> int:
    return EXIT[worst(r.status for r in results)]


def _readable(section: dict | None) -> bool:
    return bool(section) and section.get("status") in ("ok", "partial")


def _why(section: dict | None, what: str) -> str:
    if not section:
        return f"{what}: not in the report"
    return f"{what}: {section.get('reason') or section.get('status')}"


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "count":
        return f"{value:g}"
    if unit == "x target":
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}"


def evaluate(report: dict, thresholds: Thresholds) -> list[Result]:
    """Every check's result, read from a report's figures (runner.profile.report.run)."""
    secs = report.get("sections", {})
    out: list[Result] = []

    def add(name: str, values: list[tuple[float, str]], unknown: str | None = None) -> None:
        if unknown is not None:
            out.append(Result(name, UNKNOWN, None, [f"UNKNOWN {name}: {unknown}"]))
            return
        check = CHECKS[name]
        lines = []
        for value, what in values:
            status = thresholds.status(name, value)
            if status != OK:
                level = (thresholds.critical if status == CRITICAL else thresholds.warning)[name]
                sign = ">=" if check.above else "<"
                lines.append(f"{status.upper()} {name}: {what} {_fmt(value, check.unit)} {sign} {_fmt(level, check.unit)}")
        vals = [v for v, _ in values]
        value = (max(vals) if check.above else min(vals)) if vals else None
        out.append(Result(name, worst(thresholds.status(name, v) for v in vals), value, lines))

    q = secs.get("queries")
    if _readable(q):
        items = [i for i in q.get("items", []) if i.get("scored")]
        failed = [i for i in items if i.get("status") in ("error", "denied", "missing")]
        if failed:
            add("p95", [], "; ".join(f"{i['name']}: {i.get('error') or i.get('verdict')}" for i in failed))
        else:
            add("p95", [(i["time_ms"] / i["target_ms"],
                         f"{i['name']} {i['time_ms']:.1f} ms ({i['statistic']}) against {i['target_ms']:g} ms:")
                        for i in items if i.get("time_ms") is not None and i.get("target_ms")])
    else:
        add("p95", [], _why(q, "API queries"))
    db = secs.get("database")
    if _readable(db):
        ratio = db.get("cache_hit_ratio")
        add("cache_hit", [(ratio, "cache hit ratio")] if ratio is not None and cache_hit_judged(db) else [])
        add("dead_share", [(t["dead_ratio"], f"{t['schema']}.{t['name']} dead rows")
                           for t in db.get("tables", [])
                           if int(t.get("dead_rows") or 0) > MIN_DEAD_ROWS and t["dead_ratio"] < 1])
        invalid = [i["name"] for i in db.get("indexes", []) if not i["is_valid"]]
        add("invalid_indexes", [(len(invalid), f"invalid indexes ({', '.join(invalid) or 'none'}):")])
    else:
        for name in ("cache_hit", "dead_share", "invalid_indexes"):
            add(name, [], _why(db, "database statistics"))
    c = secs.get("connections")
    if _readable(c):
        add("long_transaction", [(r["seconds"], f"pid {r['pid']} ({r['state']}, {r['application'] or r['role']})")
                                 for r in c.get("long_running", [])])
        add("connections", [(c["usage"], f"{c['in_use']} connections in use:")])
    else:
        add("long_transaction", [], _why(c, "connections"))
        add("connections", [], _why(c, "connections"))
    im = secs.get("imports")
    if _readable(im):
        views = im.get("views") or {}
        add("views_age", [(views["behind_hours"], "facet views behind the catalog by")]
            if views.get("behind_hours") is not None else [])
        stale = im.get("stale", [])
        add("stale_imports", [(len(stale), "import batches left running by a gone process ("
                               + (", ".join(str(b["id"]) for b in stale) or "none") + "):")])
    else:
        add("views_age", [], _why(im, "imports and views"))
        add("stale_imports", [], _why(im, "imports and views"))
    return out


def _level_penalty(status: str, warning: int, critical: int) -> int:
    """The penalty of a finding at ``status``: ``critical`` at the critical level, else ``warning``."""
    return critical if status == CRITICAL else warning
