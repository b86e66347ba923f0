"""Migration 0010 redefines midi.name_tsvector (an index is built on it) through midi.name_words. That is
only allowed because the results are the same for every name: this compares the new definition with the
landed one of migration 0006, read from its file, on a large set of names."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from runner import schema
from runner.bench import library

NAMES = 300_000  # synthetic names, besides every file and folder name of a generated library


def landed_definition() -> str:
    """0006's CREATE FUNCTION midi.name_tsvector, renamed to a temporary function."""
    text = (schema.migrations_dir() / "0006_create_search_objects.sql").read_text(encoding="utf-8")
    m = re.search(r"CREATE FUNCTION midi\.name_tsvector\(filename text\).*?\n\$\$;", text, re.S)
    assert m, "0006 no longer holds name_tsvector's definition"
    return m.group(0).replace("midi.name_tsvector", "pg_temp.name_tsvector_0006", 1)


def test_name_tsvector_is_unchanged_by_0011(dsn: str, tmp_path: Path) -> None:
    lib = library.generate(tmp_path, 2000, seed=3)
    real = {part for t in library.truth(lib) for part in t.path.split("/")}
    with psycopg.connect(dsn) as conn:
        conn.execute(landed_definition())
        conn.execute("CREATE TEMP TABLE names (name text)")
        with conn.cursor().copy("COPY names FROM STDIN") as copy:
            for name in sorted(real):
                copy.write_row([name])
        # names built from the pieces file names are made of, in random order and case: camelCase and
        # acronym humps, every separator, digits, extensions of every case, non-ASCII letters and marks
        conn.execute("SELECT setseed(0.11)")
        conn.execute("""
            INSERT INTO names
            SELECT string_agg(p[1 + floor(random() * cardinality(p))::int], '' ORDER BY k)
                   || (ARRAY['.mid', '.MID', '.Midi', '.kar', '.RMI', '.smf', '.txt', '', '.mid.mid', '.'])[1 + floor(random() * 10)::int]
              FROM generate_series(1, %s) AS g(i)
             CROSS JOIN LATERAL (SELECT ARRAY['Deep', 'house', 'HTML', 'Parser', 'DnB', 'LoFi', 'bass', 'BASS', 'x',
                                              'Am', 'F#m', 'Ebmaj', '124bpm', '_', '-', '.', ' ', '  ', E'\\t', '__',
                                              ' - ', '808', 'v2', 'Copy of ', 'Ünïcødé', 'straße', '日本語', '🎹', 'é',
                                              'ǅ', 'ŉ', 'İ', 'ﬁ', 'A', 'b', 'CC', 'dD', '9', '.mid', 'MIDI', '''', '"',
                                              '(', ')', '&', '%%', '\\', '/', E'\\u00a0', E'\\u200b']::text[]
                                 AS p WHERE g.i > 0) parts
             CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 8)::int) AS k
             GROUP BY g.i
            UNION ALL SELECT NULL UNION ALL SELECT '' UNION ALL SELECT '.mid'
            """, [NAMES])
        total, differ, example = conn.execute("""
            SELECT count(*),
                   count(*) FILTER (WHERE midi.name_tsvector(name) IS DISTINCT FROM pg_temp.name_tsvector_0006(name)),
                   min(name) FILTER (WHERE midi.name_tsvector(name) IS DISTINCT FROM pg_temp.name_tsvector_0006(name))
              FROM names""").fetchone()
        nonempty = conn.execute("SELECT count(*) FROM names WHERE midi.name_tsvector(name) <> ''").fetchone()[0]
    assert total >= NAMES + len(real) and len(real) > 1500
    assert nonempty > 0.9 * total, "the names must have words to compare"
    assert differ == 0, f"{differ} of {total} names get other words than 0006 gave, e.g. {example!r}"


def test_name_tsvector_depends_on_name_words_and_both_belong_to_the_migrations(dsn: str) -> None:
    """The index's function records its dependency on name_words, and the re-apply of db/functions
    (which drops what the files do not define) leaves both alone."""
    with psycopg.connect(dsn) as conn:
        assert conn.execute("""
            SELECT count(*) FROM pg_depend
             WHERE classid = 'pg_proc'::regclass AND objid = 'midi.name_tsvector(text)'::regprocedure
               AND refclassid = 'pg_proc'::regclass AND refobjid = 'midi.name_words(text)'::regprocedure
            """).fetchone()[0] == 1
    schema.apply_functions(dsn)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT midi.name_words('DeepHouse_Bass.mid'), midi.name_tsvector('DeepHouse_Bass.mid')::text"
                            ).fetchone() == ("Deep House Bass", "'bass':3 'deep':1 'hous':2")
