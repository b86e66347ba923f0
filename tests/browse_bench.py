"""How much the browse page adds to the SQL API: each endpoint's round trip (HTTP client to answer, through
a running `midicenter browse`) next to the same midi.* call made directly as midi_reader, interleaved, on
one library. docs/browse.md's speed table is this script's output.

    python -m tests.browse_bench DSN [--repeat 40] [--runs 3]

DSN is a filled library, e.g. the database `midicenter bench search --files 1000000 --keep` leaves (its
name is logged). Parameters are drawn at random (seeded): words from the library's own file names,
manufacturers from its 20 biggest, keys from seven common ones. Printed: per interaction, the median over
the runs of each run's p50 and p95, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import psycopg

from tests import browse_support as bs

SEARCH = "SELECT * FROM midi.search(sort => NULL, lim => 50, after => %s, filters => %s)"
COUNT = "SELECT * FROM midi.search_count(filters => %s)"
FACETS = "SELECT * FROM midi.facets(facet_limit => 12, filters => %s)"
KEYS = ["Am", "Cm", "F#m", "C", "G", "Dm", "Em"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def vocabulary(dsn: str) -> tuple[list[str], list[str], list[int]]:
    with psycopg.connect(dsn) as conn:
        makers = [r[0] for r in conn.execute(
            "SELECT manufacturer FROM midi.manufacturer_counts ORDER BY files DESC LIMIT 20")]
        words = [r[0] for r in conn.execute(
            "SELECT w FROM (SELECT DISTINCT x AS w FROM (SELECT filename FROM midi.files ORDER BY id DESC LIMIT 5000) f,"
            " regexp_split_to_table(lower(midi.name_words(f.filename)), '\\s+') x WHERE x ~ '^[a-z]{4,}$') s"
            " ORDER BY md5(w) LIMIT 60")]
        ids = [r[0] for r in conn.execute("SELECT id FROM midi.files TABLESAMPLE SYSTEM (1) LIMIT 2000")]
    assert makers and words and ids, "the library is empty"
    return words, makers, ids


def shapes(rng: random.Random, words: list[str], makers: list[str]) -> dict[str, tuple[str, dict, str, list]]:
    """Interaction -> (endpoint, request body, the same call in SQL, its parameters)."""
    word = {"q": rng.choice(words)}
    word_maker = word | {"manufacturer": [rng.choice(makers)]}
    narrow = {"keys": [rng.choice(KEYS)], "bpm_min": 120, "bpm_max": 129.99, "categories": ["bass"]}
    return {
        "first page, no filter": ("/api/search", {"filters": {}}, SEARCH, [None, "{}"]),
        "first page, a word": ("/api/search", {"filters": word}, SEARCH, [None, json.dumps(word)]),
        "first page, key + BPM bucket + category": ("/api/search", {"filters": narrow}, SEARCH,
                                                    [None, json.dumps(narrow)]),
        "count, a word + a manufacturer": ("/api/count", {"filters": word_maker}, COUNT, [json.dumps(word_maker)]),
        "facets, no filter": ("/api/facets", {"filters": {}}, FACETS, ["{}"]),
        "facets, a word": ("/api/facets", {"filters": word}, FACETS, [json.dumps(word)]),
        "facets, a word + a manufacturer ticked": ("/api/facets", {"filters": word_maker}, FACETS,
                                                   [json.dumps(word_maker)]),
        "facets, key + BPM bucket + category": ("/api/facets", {"filters": narrow}, FACETS, [json.dumps(narrow)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dsn")
    ap.add_argument("--repeat", type=int, default=40, help="rounds of every interaction per run")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(7)
    words, makers, ids = vocabulary(args.dsn)
    results: dict[str, dict[str, list[float]]] = {}
    with bs.browse("--dsn", args.dsn) as b, psycopg.connect(args.dsn, autocommit=True) as direct:
        direct.execute("SET ROLE midi_reader")
        b.post("/api/search", {})
        b.post("/api/facets", {})
        for _ in range(args.runs):
            page_ms: dict[str, list[float]] = {}
            sql_ms: dict[str, list[float]] = {}

            def both(name: str, call_page: Any, query: str, params: list, page_ms=page_ms, sql_ms=sql_ms) -> None:
                t = time.perf_counter()
                status, out, _ = call_page()
                page_ms.setdefault(name, []).append((time.perf_counter() - t) * 1000)
                assert status == 200, (name, out)
                t = time.perf_counter()
                direct.execute(query, params).fetchall()
                sql_ms.setdefault(name, []).append((time.perf_counter() - t) * 1000)

            for _ in range(args.repeat):
                for name, (path, body, query, params) in shapes(rng, words, makers).items():
                    both(name, lambda p=path, bd=body: b.post(p, bd), query, params)
                after = b.post("/api/search", {"filters": {}})[1]["after"]
                both("next page (cursor of the last row)", lambda a=after: b.post("/api/search", {"filters": {}, "after": a}),
                     SEARCH, [after, "{}"])
                fid = rng.choice(ids)
                both("file details", lambda f=fid: b.get(f"/api/files/{f}"), "SELECT * FROM midi.file_details(%s)", [fid])
            for name in page_ms:
                r = results.setdefault(name, {"page50": [], "page95": [], "sql50": [], "sql95": []})
                r["page50"].append(pct(page_ms[name], 50))
                r["page95"].append(pct(page_ms[name], 95))
                r["sql50"].append(pct(sql_ms[name], 50))
                r["sql95"].append(pct(sql_ms[name], 95))
    with psycopg.connect(args.dsn) as conn:
        files = conn.execute("SELECT count(*) FROM midi.files").fetchone()[0]
    print(f"{files:,} files; ms, median of {args.runs} runs x {args.repeat}\n")
    print("| interaction | page p50 | page p95 | SQL p50 | SQL p95 |\n| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        m = {k: statistics.median(v) for k, v in r.items()}
        print(f"| {name} | {m['page50']:.1f} | {m['page95']:.1f} | {m['sql50']:.1f} | {m['sql95']:.1f} |")


if __name__ == "__main__":
    main()
