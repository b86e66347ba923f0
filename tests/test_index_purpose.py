"""Every index of schema midi is used by what its comment declares (COMMENT ON INDEX ... IS 'serves: <entry>;
... -- why'), proven on a library big enough for the planner to choose: 80,000 files filled the way `midicenter
bench search` fills its libraries.

Each entry is run and the index's scan count of the transaction (pg_stat_get_xact_numscans, which counts the
scans made inside API functions and foreign-key triggers too) must grow:
- a canonical call (runner/canonical.py) with parameters drawn from the library, three draws;
- a seed query (tests/seed_queries.sql) as printed, with parameters from the library;
- an API call with its shape, "midi.search sort=name" (arguments "$name" are drawn from the library);
- "foreign key t.c": a row that t.c references is deleted (cascades and SET NULL read t by c).
Only an index on a table of fewer than 1,000 rows, which the planner rightly reads whole, may be shown with
enable_seqscan off; an index no scan proves counts only when the call fails without it (the unique index a
REFRESH ... CONCURRENTLY or an ON CONFLICT needs). "primary key t" and "unique t.c" are constraints, checked
against the catalog here and in db/tests/003_index_purpose.sql.
"""

from __future__ import annotations

import random
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner import canonical, schema
from runner.bench import search as search_bench
from runner.queries import load, queries

SEED = load(Path(__file__).with_name("seed_queries.sql"))
FILES = 80_000
SMALL_TABLE = 1000

SCANS = """SELECT c.relname::text, pg_stat_get_xact_numscans(c.oid) FROM pg_class c
            WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'i'"""
INDEXES = """SELECT c.relname::text, t.relname::text, obj_description(c.oid, 'pg_class'), greatest(t.reltuples, 0)::float8,
                    i.indisprimary, i.indisunique,
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
              WHERE c.relnamespace = 'midi'::regnamespace ORDER BY 1"""


@pytest.fixture(scope="module")
def library(postgresql_proc):
    """A migrated database with 80,000 files (bench search's fill), plus what the fill leaves out: an import
    batch with error rows, a file with a parent, analysis errors and retries, a staged import chunk and a staged
    analysis batch."""
    proc = postgresql_proc
    admin = conninfo(proc, "postgres")
    name = f"index_purpose_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = conninfo(proc, name)
    try:
        schema.migrate(dsn)
        with psycopg.connect(dsn) as conn:
            comments = conn.execute("SELECT c.relname::text, obj_description(c.oid, 'pg_class') FROM pg_class c "
                                    "WHERE c.relnamespace = 'midi'::regnamespace AND c.relkind = 'i'").fetchall()
        lib = search_bench.fill(dsn, FILES, log=lambda s: None)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for index, comment in comments:  # the fill builds its indexes again, without their comments
                conn.execute(sql.SQL("COMMENT ON INDEX {} IS {}").format(sql.Identifier("midi", index), comment))
            conn.execute("""
                INSERT INTO midi.import_batches (id, roots) VALUES (900, ARRAY[(SELECT left(filepath, strpos(filepath, '/Loopforge/') + 9)
                                                                            FROM midi.files WHERE filepath LIKE '/library/Loopforge/%' LIMIT 1)]);
                INSERT INTO midi.import_errors (path, batch_id, error_class, message)
                SELECT '/library/Loopforge/broken' || g || '.mid', 900, 'bad_header', 'not a MIDI header' FROM generate_series(1, 50) g;
                UPDATE midi.files SET parent_file_id = 1 WHERE id = 2;
                INSERT INTO midi.track_splits (parent_file_id, split_file_id, track_number, channel, note_count)
                SELECT 1, g, g - 2, NULL, 10 FROM generate_series(3, 6) g;
                INSERT INTO midi.analysis_errors (file_id, error_class, message)
                SELECT id, 'parse_failed', 'a bad track' FROM midi.files ORDER BY id DESC LIMIT 20;
                INSERT INTO midi.analysis_retries (file_id, error_class, message)
                SELECT id, 'timeout', 'no result after 30 s' FROM midi.files ORDER BY id DESC OFFSET 20 LIMIT 20;
                INSERT INTO midi.import_staging (batch_id, chunk, root, path, rel, content_hash, file_size_bytes, format,
                                                 header_tracks, num_tracks, ticks_per_quarter_note, is_rmid, warnings)
                SELECT 900, 1, '/library', f.filepath || '.copy.mid', 'Loopforge/x/' || f.filename, f.content_hash, 100, 1, 1, 1,
                       96, false, '{}'
                  FROM midi.files f ORDER BY f.id LIMIT 30;
                INSERT INTO midi.import_staging (batch_id, chunk, root, path, rel, content_hash, file_size_bytes, format,
                                                 header_tracks, num_tracks, ticks_per_quarter_note, is_rmid, warnings)
                SELECT 900, 1, '/library', '/library/Loopforge/broken' || g || '.mid', 'Loopforge/broken' || g || '.mid',
                       sha256(int8send(g + 10000000)), 100, 1, 1, 1, 96, false, '{}' FROM generate_series(1, 5) g;
                INSERT INTO midi.analysis_staging (batch, file_id, parser, duration_ticks, duration_seconds, bpm, bpm_source,
                                                   total_notes, drum_note_count, instruments, pitch_class_histogram)
                SELECT 900, f.id, 'symusic', 960, 2, 124, 'meta', 10, 0, '[{"program": 38, "note_count": 10}]',
                       '{0.1,0,0.2,0,0.1,0.1,0,0.2,0,0.2,0,0.1}' FROM midi.files f ORDER BY f.id LIMIT 20;
                ANALYZE""")
            values = placeholders(conn, lib)
        yield dsn, lib, values
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def conninfo(proc, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(host=proc.host, port=proc.port, user=proc.user, dbname=dbname,
                                          password=proc.password or None)


def placeholders(conn: psycopg.Connection, lib: canonical.Sample) -> dict[str, object]:
    """The values "$name" arguments of declared calls stand for, drawn from the library."""
    one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
    return {
        "$id": one("SELECT id FROM midi.files WHERE analyzed_at IS NOT NULL AND cardinality(tag_ids) > 0 ORDER BY id LIMIT 1"),
        "$maker": lib.makers[0],
        "$collection": one("SELECT collection_name FROM midi.files WHERE collection_name IS NOT NULL "
                           "GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"),
        "$rare_word": lib.rare_words[0],
        "$tag": lib.tags[0],
        "$hash": one("SELECT content_hash FROM midi.files ORDER BY id LIMIT 1"),
    }


def declarations(dsn: str) -> list[tuple[str, str, str, float, bool, bool, list[str]]]:
    """(index, entry, table, table rows, primary, unique, columns) for every entry of every index comment."""
    out = []
    with psycopg.connect(dsn) as conn:
        for index, table, comment, rows, primary, unique, cols in conn.execute(INDEXES):
            assert comment and comment.startswith("serves: ") and " -- " in comment, f"{index}: {comment!r}"
            for entry in comment[len("serves: "):].split(" -- ", 1)[0].split(";"):
                out.append((index, entry.strip(), table, rows, primary, unique, cols))
    return out


# ------------------------------------------------------------------------------------------- running


def filter_types(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT attname::text, format_type(atttypid, NULL) FROM pg_attribute "
                             "WHERE attrelid = 'midi.search_filters'::regclass AND attnum > 0"))


def api_call(conn: psycopg.Connection, entry: str, values: dict) -> tuple[str, dict]:
    """'midi.fn a=x b=$y' as a call with named arguments (a filter that takes an array gets a one-element one)."""
    fn, *args = entry.split()
    assert re.fullmatch(r"midi\.[a-z_]+", fn), entry
    arrays = {k for k, t in filter_types(conn).items() if t.endswith("[]")}
    params = {}
    for arg in args:
        key, _, value = arg.partition("=")
        v = values.get(value, value)
        params[key] = [v] if key in arrays and fn in ("midi.search", "midi.search_count", "midi.facets") else v
    named = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in params)
    return sql.SQL("SELECT * FROM {}({})").format(sql.Identifier(*fn.split(".")), named).as_string(conn), params


WRITE_CALLS = {
    # the calls that need something staged (the library fixture staged it)
    "midi.import_merge": "SELECT * FROM midi.import_merge(900, 1)",
    "midi.import_finish": "SELECT * FROM midi.import_finish(900, 0, true)",
    "midi.analysis_apply": "SELECT * FROM midi.analysis_apply(900, 1)",
    "midi.analysis_claim": "SELECT * FROM midi.analysis_claim(0, 100, 99)",
}


def seed_params(name: str, values: dict) -> list:
    ids = [1, 2, 3, 4, 5]
    return {"search_primary": [values["$rare_word"], None, None, None, None, None, 50, 0], "duplicate_check": [values["$hash"]],
            "single_lookup": [ids[0]], "batch_track_loading": [ids], "file_details": [values["$id"]],
            "find_by_id_essential": [ids[0]], "find_for_analysis": [ids[0]], "analysis_page": [10, 0]}.get(name, [])


def run_entry(conn: psycopg.Connection, entry: str, lib: canonical.Sample, values: dict) -> None:
    """Run what an entry names in the connection's open transaction."""
    shapes = {s.name: s for s in canonical.shapes(lib)}
    if entry in shapes:
        r = random.Random(7)
        for _ in range(3):
            conn.execute(shapes[entry].ours, shapes[entry].params(r)).fetchall()
    elif entry in SEED:
        conn.execute("SET LOCAL search_path = midi, public")
        conn.execute(sql.SQL("PREPARE seed_q AS {}").format(sql.SQL(SEED[entry])))
        params = seed_params(entry, values)
        cur = psycopg.ClientCursor(conn)
        cur.execute(f"EXECUTE seed_q({', '.join(['%s'] * len(params))})" if params else "EXECUTE seed_q", params)
        cur.fetchall()
        conn.execute("DEALLOCATE seed_q")
    elif entry in WRITE_CALLS:
        conn.execute(WRITE_CALLS[entry]).fetchall()
    elif entry.startswith("midi."):
        query, params = api_call(conn, entry, values)
        conn.execute(query, params).fetchall()
    elif entry.startswith("foreign key "):
        table, column = entry.removeprefix("foreign key ").split(".")
        parent, key = conn.execute("""
            SELECT k.confrelid::regclass::text, a.attname::text FROM pg_constraint k
              JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = k.confkey[1]
             WHERE k.contype = 'f' AND k.conrelid = %s::regclass
               AND k.conkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s)""",
                                   [f"midi.{table}", f"midi.{table}", column]).fetchone()
        child = sql.SQL("SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 1").format(
            c=sql.Identifier(column), t=sql.Identifier("midi", table))
        deleted = conn.execute(sql.SQL("DELETE FROM {p} WHERE {k} = ({child})").format(
            p=sql.SQL(parent), k=sql.Identifier(key), child=child))
        assert deleted.rowcount == 1, f"{entry}: the library has no row of {table} to test it with"
    else:
        pytest.fail(f"{entry!r}: not a canonical call, seed query, API call or constraint")


def scanned(dsn: str, index: str, entry: str, lib, values, *, force: bool = False) -> bool:
    """Whether running the entry scans the index (in a transaction that is rolled back)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")  # scans in parallel workers are not this backend's
        if force:
            conn.execute("SET enable_seqscan = off")
        before = dict(conn.execute(SCANS).fetchall())
        run_entry(conn, entry, lib, values)
        after = dict(conn.execute(SCANS).fetchall())
        conn.rollback()
    return after.get(index, 0) > before.get(index, 0)


def needed(dsn: str, index: str, entry: str, lib, values) -> bool:
    """Whether the entry fails once the index is dropped (in a transaction that is rolled back)."""
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier("midi", index)))
        try:
            run_entry(conn, entry, lib, values)
        except psycopg.Error:
            return True
        finally:
            conn.rollback()
    return False


def test_every_index_serves_what_it_declares(library) -> None:
    dsn, lib, values = library
    decls = declarations(dsn)
    assert len({d[0] for d in decls}) >= 40
    failures = []
    for index, entry, table, rows, primary, unique, cols in decls:
        if entry.startswith("primary key "):
            ok = primary and entry == f"primary key {table}"
        elif entry.startswith("unique "):
            ok = unique and entry == f"unique {table}.{','.join(cols)}"
        else:
            try:
                ok = (scanned(dsn, index, entry, lib, values)
                      or (rows < SMALL_TABLE and scanned(dsn, index, entry, lib, values, force=True))
                      or (unique and needed(dsn, index, entry, lib, values)))
            except (AssertionError, psycopg.Error) as exc:
                failures.append(f"{index}: {entry}: {exc}")
                continue
        if not ok:
            failures.append(f"{index}: {entry}")
    assert not failures, "declared but not used:\n" + "\n".join(failures)


def test_the_calls_the_search_indexes_serve_still_run_without_them(library) -> None:
    """A library whose search indexes a bulk load dropped answers every canonical call (reading more rows),
    with the same rows as with them."""
    dsn, lib, values = library
    with psycopg.connect(dsn) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        shapes = canonical.shapes(lib)
        r = random.Random(3)
        params = [(s, s.params(r)) for s in shapes]
        with_indexes = [conn.execute(s.ours, p).fetchall() for s, p in params]
        for (name,) in conn.execute("SELECT name FROM midi.deferrable_indexes()").fetchall():
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier("midi", name)))
        assert conn.execute("SELECT count(*) FROM midi.deferrable_indexes()").fetchone()[0] == 0
        without = [conn.execute(s.ours, p).fetchall() for s, p in params]
        conn.rollback()
    compared = 0
    for (s, _), a, b in zip(params, with_indexes, without, strict=True):
        if s.name.startswith("facets") and not all(row[3] for row in a + b):
            continue  # a broad facet counted from a page sample (exact = false) is an estimate either way
        assert a == b, s.name
        compared += 1
    assert compared >= len(params) - 2


def test_runner_queries_exist() -> None:
    assert "bulk_lock" in load() and queries["bulk_restore"]
