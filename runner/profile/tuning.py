"""Server settings for this machine: how much memory it has, and what shared_buffers, work_mem,
effective_cache_size, maintenance_work_mem, max_connections and random_page_cost should be for it.

The rules are the usual starting points (25% of memory for shared_buffers, 50-75% for
effective_cache_size, a work_mem that max_connections sorts at once cannot exhaust memory with); a
setting is flagged only when it is far off (half or twice the mark), not for small differences.
"""

from __future__ import annotations

import os
from pathlib import Path

MIB = 1024 * 1024
GIB = 1024 * MIB


def machine_memory() -> tuple[int, str]:
    """Bytes of memory this machine gives us (a cgroup limit when one is lower) and where that came from."""
    total, source = 0, "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total, source = int(line.split()[1]) * 1024, "/proc/meminfo"
                break
    except OSError:
        pass
    if not total:
        try:
            total, source = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "sysconf"
        except (OSError, ValueError, AttributeError):
            return 0, "unknown"
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit() and 0 < int(limit) < total:
            total, source = int(limit), "cgroup memory.max"
    except OSError:
        pass
    return total, source


def size_text(n: float | None) -> str:
    """A byte count for people: 1.5 GB, 712.0 kB."""
    if n is None:
        return ""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def conf_size(n: float) -> str:
    """A size as a postgresql.conf value, rounded to a value people write: 6GB, 1280MB, 64MB."""
    mb = max(1.0, n / MIB)
    step = 1024 if mb >= 4096 else 256 if mb >= 1024 else 16 if mb >= 64 else 1
    mb = max(step, round(mb / step) * step)
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def _conf_bytes(text: str) -> float:
    return float(text[:-2]) * (GIB if text.endswith("GB") else MIB)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def set_sql(name: str, value: str, row: dict, database: str | None = None) -> str:
    """The statement that sets a server setting where its current value comes from: a database's or a
    role's own setting wins over the server's (ALTER SYSTEM alone would not change it), a command-line
    option only where the server is started."""
    source = row.get("source") or ""
    if source == "database" and database:
        return f"ALTER DATABASE {_quoted(database)} SET {name} = '{value}';  -- new sessions get it"
    if source == "user":
        return f"ALTER ROLE CURRENT_USER SET {name} = '{value}';  -- new sessions get it"
    if source == "database user" and database:
        return f"ALTER ROLE CURRENT_USER IN DATABASE {_quoted(database)} SET {name} = '{value}';  -- new sessions get it"
    if source in ("command line", "environment variable"):
        return f"-- {name} is set on the server's command line: start it with -c {name}={value}"
    restart = row.get("context") == "postmaster"
    return f"ALTER SYSTEM SET {name} = '{value}';  -- then " + (
        "restart the server" if restart else "SELECT pg_reload_conf();")


def recommend(memory: int, cpus: int, current: dict[str, dict], database: str | None = None) -> list[dict]:
    """Each important setting found in ``current`` (rows of pg_settings with a ``bytes`` column) with a
    recommendation, a verdict (ok / raise / lower) and the statement that applies it (``set_sql``)."""
    out: list[dict] = []
    conns = int(current.get("max_connections", {}).get("setting") or 100)

    def add(name: str, rec: str, verdict: str, why: str) -> None:
        row = current.get(name)
        if row is None:
            return
        restart = row.get("context") == "postmaster"
        fix = None
        if verdict in ("raise", "lower"):
            fix = set_sql(name, rec, row, database)
        out.append({"name": name, "value": row["value"], "bytes": row.get("bytes"), "source": row.get("source"),
                    "recommended": rec, "verdict": verdict, "why": why, "fix": fix, "needs_restart": restart})

    def judge(name: str, rec_bytes: float, low: float, high: float, why: str) -> None:
        cur = (current.get(name) or {}).get("bytes")
        if cur is None:
            return
        rec = conf_size(rec_bytes)
        add(name, rec, "raise" if cur < low else "lower" if cur > high else "ok", why)

    if memory:
        sb = min(memory * 0.25, 16 * GIB)
        judge("shared_buffers", sb, _conf_bytes(conf_size(sb)) / 2, memory * 0.4,
              f"about 25% of {size_text(memory)} memory")
        judge("effective_cache_size", memory * 0.6, memory * 0.25, memory * 0.9,
              "what the OS cache and shared_buffers hold together: 50-75% of memory")
        wm = min(max(memory * 0.25 / conns, 4 * MIB), 256 * MIB)
        judge("work_mem", wm, wm / 4, memory / conns,
              f"per sort or hash, per connection: 25% of memory over max_connections ({conns})")
        mwm = min(max(memory * 0.05, 64 * MIB), 2 * GIB)
        judge("maintenance_work_mem", mwm, mwm / 4, memory * 0.25, "index builds and vacuum: about 5% of memory")
    mc = current.get("max_connections")
    if mc:
        add("max_connections", mc["value"], "ok",
            f"{cpus} CPU(s) run about {4 * max(1, cpus)} queries usefully at once; serve more clients through a pooler")
    rpc = current.get("random_page_cost")
    if rpc:
        add("random_page_cost", "1.1", "lower" if float(rpc["setting"]) > 2 else "ok",
            "on SSD, or data that fits in memory, a random read costs about what a sequential one does")
    return out
