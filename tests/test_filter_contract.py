"""The search filters are declared once: the attributes of midi.search_filters. Adding one is an
ALTER TYPE (a migration) plus its WHERE fragment, and re-applying db/functions makes every function
that takes filters accept it, with no old overload left behind; the command line's flags come from one
table that names the same filters."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from runner import filters, schema

FIXTURE = schema.pgtap_dir() / "fixtures" / "search_library.sql"
FILTER_FUNCTIONS = ("search", "search_count", "facets", "explain_search", "export_rows", "catalog_rows")


def attributes(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = 'midi.search_filters'::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]


def overloads(conn: psycopg.Connection, name: str) -> list[list[str]]:
    return [r[0] for r in conn.execute(
        "SELECT proargnames::text[] FROM pg_proc WHERE pronamespace = 'midi'::regnamespace AND proname = %s",
        [name])]


def test_the_command_line_table_names_the_sql_filters(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        assert list(filters.NAMES) == attributes(conn)
        keys = conn.execute("SELECT enum_range(NULL::midi.musical_key)::text[]").fetchone()[0]
        categories = conn.execute("SELECT enum_range(NULL::midi.file_category)::text[]").fetchone()[0]
        for name in FILTER_FUNCTIONS:
            (args,) = overloads(conn, name)
            assert args[: len(filters.NAMES)] == list(filters.NAMES) and "filters" in args[len(filters.NAMES):], name
    assert [k for k in keys if k != "UNKNOWN"] == list(filters.MUSICAL_KEYS)
    assert sorted(categories) == sorted(filters.CATEGORIES)


def test_one_new_filter_reaches_every_function(server_dsn, tmp_path: Path) -> None:
    """A scratch database gets a new filter `id_min` the way a change would add one: its attribute (what a
    migration does) and its WHERE fragment in a scratch copy of db/functions. One re-apply later, every
    function that takes filters takes it, by name and in JSON, and none has an old overload left."""
    dsn = server_dsn()
    schema.migrate(dsn)
    functions = tmp_path / "functions"
    shutil.copytree(schema.functions_dir(), functions)
    engine = functions / "38_search_where.sql"
    anchor = "    IF (a.f).duration_min IS NOT NULL THEN\n"
    text = engine.read_text(encoding="utf-8")
    assert text.count(anchor) == 1
    engine.write_text(text.replace(anchor, "    IF (a.f).id_min IS NOT NULL THEN\n"
                                           "        w := w || 'f.id >= (($1).f).id_min'::text;\n"
                                           "    END IF;\n" + anchor), encoding="utf-8")
    with psycopg.connect(dsn) as conn:
        conn.execute(FIXTURE.read_text(encoding="utf-8"))
        conn.execute("ALTER TYPE midi.search_filters ADD ATTRIBUTE id_min bigint")
    schema.apply_functions(dsn, functions)

    with psycopg.connect(dsn, autocommit=True) as conn:
        assert attributes(conn)[-1] == "id_min"
        for name in FILTER_FUNCTIONS:
            found = overloads(conn, name)
            assert len(found) == 1 and "id_min" in found[0], (name, found)

        def ids(call: str) -> list[int]:
            return sorted(r[0] for r in conn.execute(f"SELECT id FROM midi.search({call})"))

        assert ids("") == list(range(1, 11))
        assert ids("id_min => 8") == [8, 9, 10]
        assert ids("""filters => '{"id_min": 8}'""") == [8, 9, 10]
        assert ids("q => 'bass', id_min => 6") == [6, 9, 10]
        assert conn.execute("SELECT files, exact FROM midi.search_count(id_min => 8)").fetchone() == (3, True)
        assert conn.execute("""SELECT files FROM midi.search_count(filters => '{"id_min": 9}')""").fetchone() == (2,)
        makers = dict(conn.execute("SELECT value, files FROM midi.facets(id_min => 8) WHERE facet = 'manufacturer'"))
        assert makers == dict(conn.execute("SELECT manufacturer, count(*) FROM midi.files WHERE id >= 8"
                                           " AND manufacturer IS NOT NULL GROUP BY 1"))
        plan = "\n".join(r[0] for r in conn.execute("SELECT * FROM midi.explain_search(id_min => 8)"))
        assert "id >=" in plan, plan
        conn.execute("""SELECT midi.saved_search_save('late files', '{"id_min": 9, "sort": "name"}')""")
        assert [r[0] for r in conn.execute("SELECT id FROM midi.saved_search_run('late files')")] == [10, 9]
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown search argument"):
            conn.execute("""SELECT midi.saved_search_save('typo', '{"id_mni": 9}')""")
        # the grants name the functions without their arguments: the reader may call the new signature
        conn.execute("SET ROLE midi_reader")
        assert ids("id_min => 10") == [10]
        conn.execute("RESET ROLE")


def test_reapplying_drops_what_the_files_no_longer_define(server_dsn) -> None:
    """A function of the repeatable layer that no file defines any more (renamed, removed, or with other
    arguments) is dropped by the re-apply, with its trigger; migration-owned and extension functions stay."""
    dsn = server_dsn()
    schema.migrate(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE FUNCTION midi.rate(file_id bigint, stars smallint) RETURNS integer"
                     " LANGUAGE sql AS 'SELECT 1'")  # an old signature of midi.rate
        conn.execute("CREATE FUNCTION midi._old_trigger() RETURNS trigger LANGUAGE plpgsql"
                     " AS 'BEGIN RETURN NEW; END'")
        conn.execute("CREATE TRIGGER old_trigger BEFORE UPDATE ON midi.tags"
                     " FOR EACH ROW EXECUTE FUNCTION midi._old_trigger()")
        before = conn.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = 'midi'::regnamespace").fetchone()[0]
    schema.apply_functions(dsn)
    with psycopg.connect(dsn) as conn:
        left = {r[0] for r in conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'midi'::regnamespace")}
        assert "midi.rate(bigint,integer)" in left and "midi.rate(bigint,smallint)" not in left
        assert "midi._old_trigger()" not in left
        assert not conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'old_trigger'").fetchone()[0]
        assert len(left) == before - 2
        assert "midi.name_tsvector(text)" in left  # an index is built on it: a migration owns it
        assert "midi.similarity(text,text)" in left  # pg_trgm's, in schema midi
        assert not conn.execute("SELECT count(*) FROM pg_proc WHERE proconfig::text LIKE '%apply_pending%'").fetchone()[0]
    with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.NoDataFound):
        conn.execute("SELECT midi.rate(1, 0)")  # one midi.rate again: not ambiguous, just no file 1


def test_a_user_object_on_a_dropped_function_stops_the_apply_with_its_name(server_dsn) -> None:
    dsn = server_dsn()
    schema.migrate(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE FUNCTION midi.old_helper() RETURNS integer LANGUAGE sql RETURN 1")
        conn.execute("CREATE VIEW public.mine AS SELECT midi.old_helper() AS x")
    with pytest.raises(RuntimeError, match=r"midi.old_helper\(\) is no longer defined .*view mine depends"):
        schema.apply_functions(dsn)
    with psycopg.connect(dsn) as conn:  # rolled back: everything is as it was
        assert conn.execute("SELECT x FROM public.mine").fetchone() == (1,)
