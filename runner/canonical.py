"""The canonical calls of the SQL API: the questions `midicenter bench search` times and `midicenter profile`
explains, one list that both read, with parameters drawn from a `Sample` of a library (a generated one for
the bench, the profiled library for the profile). Beside them, the seed documents' own queries, verbatim,
for comparison (also kept in tests/seed_queries.sql, which a test compares with these copies).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runner.filters import MUSICAL_KEYS

# The seed documents' primary search query ("Search Queries (DatabaseWindow)"), verbatim.
SEED_SEARCH = """SELECT
    f.id, f.filename, f.filepath, f.file_size_bytes,
    f.created_at, f.manufacturer, f.collection_name,
    mm.bpm::FLOAT8, mm.key_signature::TEXT,
    f.duration_seconds::FLOAT8
FROM files f
LEFT JOIN musical_metadata mm ON f.id = mm.file_id
WHERE
    ($1::text IS NULL OR f.search_vector @@ plainto_tsquery('english', $1))
    AND ($2::float8 IS NULL OR mm.bpm::float8 >= $2)
    AND ($3::float8 IS NULL OR mm.bpm::float8 <= $3)
    AND ($4::text IS NULL OR mm.key_signature::text = $4)
    AND ($5::text IS NULL OR f.manufacturer = $5)
    AND ($6::text IS NULL OR f.collection_name = $6)
ORDER BY
    CASE WHEN $1::text IS NOT NULL
        THEN ts_rank(f.search_vector, plainto_tsquery('english', $1))
        ELSE 0
    END DESC,
    f.created_at DESC
LIMIT $7 OFFSET $8"""

# The seed's count: its WHERE clause under COUNT(*) (the documents count "matching rows" this way).
SEED_COUNT = "SELECT COUNT(*)\nFROM files f\nLEFT JOIN musical_metadata mm ON f.id = mm.file_id\nWHERE" + (
    SEED_SEARCH.split("WHERE", 1)[1].split("ORDER BY", 1)[0].rstrip())
# 4. Metadata Queries: File Details, and 3.2 Batch Track Loading, as printed.
SEED_DETAILS = """SELECT
    f.id, f.filename, f.filepath, f.file_size_bytes,
    f.manufacturer, f.collection_name,
    mm.bpm::FLOAT8, mm.key_signature::TEXT,
    mm.time_signature_numerator, mm.time_signature_denominator,
    mm.total_notes, mm.is_percussive,
    fc.primary_category::TEXT,
    CASE WHEN fav.file_id IS NOT NULL THEN true ELSE false END as is_favorite
FROM files f
LEFT JOIN musical_metadata mm ON f.id = mm.file_id
LEFT JOIN file_categories fc ON f.id = fc.file_id
LEFT JOIN favorites fav ON f.id = fav.file_id
WHERE f.id = $1"""
SEED_LOAD = """SELECT id, filepath, filename
FROM files
WHERE id = ANY($1::BIGINT[])
ORDER BY id"""

KEYS = list(MUSICAL_KEYS)
BROAD = "bass"


def dollar_to_named(query: str) -> str:
    """$1 .. $n placeholders as psycopg %(pN)s ones: psycopg sends them back to the server as $1 .. $n
    (a repeated name is one parameter), so the server receives the query exactly as printed."""
    return re.sub(r"\$(\d+)", r"%(p\1)s", query.replace("%", "%%"))


_SEED_TABLES = re.compile(r"\b(FROM|JOIN)\s+(files|musical_metadata|file_categories|favorites)\b")


def qualified(query: str) -> str:
    """A seed query with its tables schema-qualified (midi.files ...), for a session whose search_path
    does not name midi."""
    return _SEED_TABLES.sub(r"\1 midi.\2", query)


@dataclass
class Sample:
    """What the canonical calls draw their parameters from: words, manufacturers, tags and ids of a library.
    ``tags`` needs 13 or more names (the tag shape takes one of the first 12 and one of the rest)."""

    rare_words: list[str] = field(default_factory=lambda: ["glockenspiel"])
    common_words: list[str] = field(default_factory=lambda: ["bass"])
    makers: list[str] = field(default_factory=lambda: ["Loopmasters"])
    tags: list[str] = field(default_factory=lambda: list(TAG_FILL))
    max_id: int = 1
    page99_cursors: list[str | None] = field(default_factory=lambda: [None])


TAG_FILL = ("loop", "drums", "bass", "chords", "melody", "lead", "pad", "arp", "fx", "keys", "perc", "vocal", "synth")
"""Tag names a sample is filled up with when its library has fewer than the shapes draw from."""


@dataclass
class Shape:
    """One canonical question: our SQL API call and, where the seed has one, the seed's query. A sort variant
    (``sort`` set) is a search filter shape (``base``, its default-order shape) in another sort order."""

    name: str
    ours: str
    params: Callable[[random.Random], dict[str, Any]]
    seed: str | None = None
    seed_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    sort: str | None = None
    base: str | None = None


@dataclass
class SearchShape:
    """A midi.search filter shape: its name (that of its default-order call), its arguments (psycopg
    placeholders), their parameters, and whether it has a text query (then relevance is its default order)."""

    name: str
    args: str
    params: Callable[[random.Random], dict[str, Any]]
    text: bool

    def call(self, sort: str | None = None, paged: bool = False) -> str:
        """The midi.search call of this shape in the given order; paged adds lim => and after =>."""
        args = [a for a in (self.args, f"sort => '{sort}'" if sort else "",
                            "lim => %(lim)s, after => %(after)s" if paged else "") if a]
        return f"SELECT * FROM midi.search({', '.join(args)})"

    def default_sort(self) -> str:
        return "relevance" if self.text else "newest"

    def sorts(self) -> tuple[str, ...]:
        """Every sort order that is a distinct question for this shape (relevance without a text query is newest)."""
        return SORTS if self.text else tuple(s for s in SORTS if s != "relevance")


SORTS = ("relevance", "newest", "bpm", "name", "duration")
"""midi.search's sort orders."""
PAGE_SIZES = (50, 500)
"""The page sizes `bench search` times every sort order at (50 is midi.search's default, 500 its largest)."""


def _seed_args(q=None, lo=None, hi=None, key=None, maker=None, lim=50, offset=0) -> dict[str, Any]:
    return {"p1": q, "p2": lo, "p3": hi, "p4": key, "p5": maker, "p6": None, "p7": lim, "p8": offset}


_BPM = (90, 100, 110, 120, 124, 128, 140, 170)


def search_shapes(lib: Sample) -> list[SearchShape]:
    """The midi.search filter shapes of the canonical calls (each also timed in every sort order)."""

    def text_bpm_key(r: random.Random) -> dict[str, Any]:
        lo = float(r.choice(_BPM))
        return {"q": r.choice([BROAD, *lib.common_words[:6]]), "lo": lo, "hi": lo + 8, "k": [r.choice(KEYS)]}

    def filters(r: random.Random) -> dict[str, Any]:
        lo = float(r.choice(_BPM))
        return {"lo": lo, "hi": lo + 8, "k": [r.choice(KEYS)], "m": [r.choice(lib.makers[:8])]}

    return [
        SearchShape("text, rare word", "q => %(q)s", lambda r: {"q": r.choice(lib.rare_words)}, True),
        SearchShape("text, broad word 'bass'", "q => %(q)s", lambda r: {"q": BROAD}, True),
        SearchShape("text + BPM + key", "q => %(q)s, bpm_min => %(lo)s::numeric, bpm_max => %(hi)s::numeric, "
                    "keys => %(k)s::midi.musical_key[]", text_bpm_key, True),
        SearchShape("filters: BPM + key + manufacturer",
                    "bpm_min => %(lo)s::numeric, bpm_max => %(hi)s::numeric, keys => %(k)s::midi.musical_key[], "
                    "manufacturer => %(m)s::text[]", filters, False),
        SearchShape("tags (all of two)", "tags_all => %(t)s::text[]",
                    lambda r: {"t": r.sample(lib.tags[:12], 1) + r.sample(lib.tags[12:40], 1)}, False),
        SearchShape("newest page", "", lambda r: {}, False),
    ]


def shapes(lib: Sample) -> list[Shape]:
    """The canonical calls, in the order they are timed and explained: every shape in its default order,
    then the search filter shapes in each other sort order (one page of 50)."""
    seed_search = dollar_to_named(SEED_SEARCH)
    seed_count = dollar_to_named(SEED_COUNT)
    by_name = {s.name: s for s in search_shapes(lib)}

    def ids(r: random.Random, k: int) -> list[int]:
        return [r.randint(1, lib.max_id) for _ in range(k)]

    def search(name: str, seed_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Shape:
        s = by_name[name]
        return Shape(name, s.call(), s.params, seed_search if seed_params else None, seed_params)

    filters = by_name["filters: BPM + key + manufacturer"].params
    base = [
        search("text, rare word", lambda p: _seed_args(q=p["q"])),
        search("text, broad word 'bass'", lambda p: _seed_args(q=p["q"])),
        search("text + BPM + key", lambda p: _seed_args(q=p["q"], lo=p["lo"], hi=p["hi"], key=p["k"][0])),
        search("filters: BPM + key + manufacturer",
               lambda p: _seed_args(lo=p["lo"], hi=p["hi"], key=p["k"][0], maker=p["m"][0])),
        search("tags (all of two)"),
        search("newest page", lambda p: _seed_args()),
        Shape("page 100 of 'bass' (keyset)", "SELECT * FROM midi.search(q => %(q)s, after => %(after)s)",
              lambda r: {"q": BROAD, "after": r.choice(lib.page99_cursors)},
              seed_search, lambda p: _seed_args(q=p["q"], offset=99 * 50)),
        Shape("count, broad word", "SELECT * FROM midi.search_count(q => %(q)s)", lambda r: {"q": BROAD},
              seed_count, lambda p: _seed_args(q=p["q"])),
        Shape("count, BPM + key", "SELECT * FROM midi.search_count(bpm_min => %(lo)s::numeric, "
              "bpm_max => %(hi)s::numeric, keys => %(k)s::midi.musical_key[])", filters,
              seed_count, lambda p: _seed_args(lo=p["lo"], hi=p["hi"], key=p["k"][0])),
        Shape("facets, no filter", "SELECT * FROM midi.facets()", lambda r: {}),
        Shape("facets, BPM + key", "SELECT * FROM midi.facets(bpm_min => %(lo)s::numeric, bpm_max => %(hi)s::numeric, "
              "keys => %(k)s::midi.musical_key[])", filters),
        Shape("facets, rare word", "SELECT * FROM midi.facets(q => %(q)s)", lambda r: {"q": r.choice(lib.rare_words)}),
        Shape("file details", "SELECT * FROM midi.file_details(%(id)s)", lambda r: {"id": ids(r, 1)[0]},
              dollar_to_named(SEED_DETAILS), lambda p: {"p1": p["id"]}),
        Shape("load_tracks of 10", "SELECT * FROM midi.load_tracks(%(ids)s::bigint[])", lambda r: {"ids": ids(r, 10)},
              dollar_to_named(SEED_LOAD), lambda p: {"p1": p["ids"]}),
        Shape("fuzzy name (typo)", "SELECT * FROM midi.search(q => %(q)s, fuzzy => true)",
              lambda r: {"q": r.choice(["basline", "chrods", "melodey", "arpegio", "plukc"])}),
    ]
    variants = [Shape(f"{s.name} / sort {sort}", s.call(sort), s.params, sort=sort, base=s.name)
                for s in by_name.values() for sort in s.sorts() if sort != s.default_sort()]
    return base + variants


def page99_cursors(conn: psycopg.Connection, n: int = 3) -> list[str]:
    """Cursors of the last row of page 99 of the broad query (walked once, not timed)."""
    after = None
    cursors = []
    for page in range(1, 100):
        rows = conn.execute("SELECT cursor FROM midi.search(q => %s, after => %s)", [BROAD, after]).fetchall()
        if not rows:
            break
        after = rows[-1][0]
        if page >= 99 - n + 1:
            cursors.append(after)
    return cursors or [None]


