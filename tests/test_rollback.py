"""`midicenter db rollback` keeps the user's data and the API: a rollback that would drop favorites,
ratings, user tags or saved searches is refused (naming them and their row counts) unless
--drop-user-data is given, and a rollback that fails midway changes nothing, the API functions included."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from runner import schema
from runner.cli import cli

FIXTURE = schema.pgtap_dir() / "fixtures" / "search_library.sql"


def run(dsn: str, *args: str):
    return CliRunner().invoke(cli, ["--dsn", dsn, "db", *args])


def applied(dsn: str) -> list[str]:
    return [s.id for s in schema.status(dsn) if s.applied]


def newer_than(dsn: str, migration: str) -> list[str]:
    """The applied migrations after `migration`, newest first: what a rollback down to it undoes."""
    ids = applied(dsn)
    return ids[ids.index(migration) + 1:][::-1]


def count_through(dsn: str, migration: str) -> str:
    """The --count that rolls back every migration newer than `migration`, and `migration` itself."""
    return str(len(newer_than(dsn, migration)) + 1)


def api_works(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM midi.search(q => 'bass')").fetchone()[0] > 0


@pytest.fixture
def library(server_dsn) -> str:
    """A migrated database with files and every kind of user data: 2 favorites, 1 rating, 3 file tags a
    user added (2 on a tag only users made, 1 on a tag analysis also gives), 1 saved search; plus tags
    from paths and analysis."""
    dsn = server_dsn()
    schema.migrate(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute(FIXTURE.read_text(encoding="utf-8"))
        conn.execute("DELETE FROM midi.favorites; DELETE FROM midi.ratings; DELETE FROM midi.saved_searches;"
                     " DELETE FROM midi.file_tags; DELETE FROM midi.tags")
        conn.execute("SELECT midi.favorite_add(1), midi.favorite_add(2), midi.rate(3, 4),"
                     " midi.saved_search_save('mine', '{\"q\": \"bass\"}'), midi.tag(1, 'my keeper'),"
                     " midi.tag(2, 'my keeper')")
        conn.execute("INSERT INTO midi.tags (name) VALUES ('groovy'), ('loops')")
        conn.execute("INSERT INTO midi.file_tags (file_id, tag_id, source) SELECT v.f, t.id, v.src FROM midi.tags t"
                     " JOIN (VALUES (3, 'groovy', 'analysis'), (9, 'groovy', 'user'), (4, 'loops', 'path'))"
                     " AS v(f, name, src) ON v.name = t.name")
        assert schema.user_data(conn) == {"favorites": 2, "ratings": 1, "file_tags (source user)": 3,
                                          "tags (made by users)": 1, "saved_searches": 1}
    return dsn


def test_rollback_that_would_drop_user_data_is_refused_and_changes_nothing(library: str) -> None:
    before = applied(library)
    out = run(library, "rollback", "--count", count_through(library, "0006_create_search_objects"), "--yes")
    # 0006 and what came after it: ratings and saved searches
    assert out.exit_code == 1, out.output
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in out.output
    assert line.startswith("midicenter: error: this rollback would drop user data: ratings (1 row), "
                           "saved_searches (1 row); nothing was changed;"), line
    assert "--drop-user-data" in line and "favorites" not in line
    assert applied(library) == before and api_works(library)

    out = run(library, "rollback", "--all", "--yes")
    assert out.exit_code == 1
    assert ("favorites (2 rows), ratings (1 row), file_tags (source user) (3 rows), tags (made by users) (1 row), "
            "saved_searches (1 row)") in out.stderr
    assert applied(library) == before and api_works(library)


def test_rollback_that_drops_no_user_data_needs_no_flag(library: str) -> None:
    after_0006 = newer_than(library, "0006_create_search_objects")  # 0007 on: analysis facts, no user data
    assert "0007_add_analysis_facts" in after_0006
    out = run(library, "rollback", "--count", str(len(after_0006)), "--yes", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {"rolled_back": after_0006, "user_data_dropped": {}}
    with psycopg.connect(library) as conn:
        assert schema.user_data(conn)["favorites"] == 2


def test_drop_user_data_rolls_back_and_says_what_went(library: str) -> None:
    out = run(library, "rollback", "--all", "--drop-user-data", "--yes", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["rolled_back"]) == len(schema.status(library))
    assert result["user_data_dropped"] == {"favorites": 2, "ratings": 1, "file_tags (source user)": 3,
                                           "tags (made by users)": 1, "saved_searches": 1}
    assert applied(library) == []
    assert run(library, "migrate").exit_code == 0


def test_a_rollback_failing_midway_leaves_schema_and_api_in_place(library: str) -> None:
    # a view of the user's own on a table that 0006's rollback drops: its DROP TABLE fails, after 0007 was
    # rolled back and after the repeatable layer was dropped (both inside the same transaction)
    with psycopg.connect(library) as conn:
        conn.execute("CREATE VIEW public.my_ratings AS SELECT file_id, rating FROM midi.ratings")
    before = applied(library)
    out = run(library, "rollback", "--count", count_through(library, "0006_create_search_objects"),
              "--drop-user-data", "--yes")
    assert out.exit_code == 1, out.output
    assert applied(library) == before  # the rollbacks of 0007 and later did not stay either
    assert api_works(library)
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in out.output
    assert line.startswith("midicenter: error: rollback of 0006_create_search_objects failed, nothing was changed"), line
    assert "my_ratings" in line
    with psycopg.connect(library) as conn:
        assert conn.execute("SELECT to_regclass('midi.key_profiles') IS NOT NULL").fetchone()[0]  # 0007's table
        assert schema.user_data(conn)["ratings"] == 1
        assert conn.execute("SELECT count(*) FROM midi.search(q => 'bass', min_rating => 4)").fetchone()[0] == 0
