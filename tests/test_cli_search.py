"""`midicenter search | show | facets | fav | tag | rate | saved` end to end against a real database
(the pgTAP fixture library), through click's CliRunner with --dsn."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.schema import pgtap_dir

FIXTURE = pgtap_dir() / "fixtures" / "search_library.sql"


@pytest.fixture
def lib(dsn: str) -> str:
    """The test database with the ten-file search fixture loaded (committed) and the views refreshed,
    as an import or analysis leaves them."""
    with psycopg.connect(dsn) as conn:
        conn.execute(Path(FIXTURE).read_text(encoding="utf-8"))
        conn.execute("SELECT midi.refresh_views()")
    return dsn


def run(dsn: str, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--dsn", dsn, *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def js(dsn: str, *args: str):
    return json.loads(run(dsn, *args, "--json").stdout)


def ids(dsn: str, *args: str) -> list[int]:
    return [r["id"] for r in js(dsn, "search", *args)["results"]]


def sql_ids(dsn: str, call: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute(f"SELECT id FROM midi.search({call})")]


def test_search_words_in_relevance_order(lib: str) -> None:
    out = js(lib, "search", "bass")
    assert [r["id"] for r in out["results"]] == [1, 10, 9, 6, 5]
    assert [r["rank"] for r in out["results"]] == [1.0, 0.5, 0.5, 0.5, 0.5]
    assert out["after"] is None


@pytest.mark.parametrize(("flags", "call"), [
    (["--bpm-min", "120", "--bpm-max", "130", "--halfdouble"], "bpm_min => 120, bpm_max => 130, bpm_halfdouble => true"),
    (["--key", "Am", "--key", "F"], "keys => '{Am,F}'"),
    (["--compatible-key", "C"], "compatible_key => 'C'"),
    (["--manufacturer", "Loopforge", "--collection", "Deep Grooves"], "manufacturer => '{Loopforge}', collection => '{Deep Grooves}'"),
    (["--category", "bass", "--category", "drums"], "categories => '{bass,drums}'"),
    (["--tag", "warm", "--tag", "lofi"], "tags_all => '{warm,lofi}'"),
    (["--any-tag", "lofi", "--any-tag", "cinematic"], "tags_any => '{lofi,cinematic}'"),
    (["--time-signature", "3/4"], "time_signature => '3/4'"),
    (["--duration-min", "10", "--duration-max", "15"], "duration_min => 10, duration_max => 15"),
    (["--notes-min", "40", "--notes-max", "70"], "notes_min => 40, notes_max => 70"),
    (["--percussive"], "percussive => true"),
    (["--melodic"], "percussive => false"),
    (["--favorites"], "favorites_only => true"),
    (["--min-rating", "3"], "min_rating => 3"),
    (["melodey", "topline", "--fuzzy"], "q => 'melodey topline', fuzzy => true"),
    (["--sort", "bpm"], "sort => 'bpm'"),
])
def test_each_filter_flag_is_the_sql_argument(lib: str, flags: list[str], call: str) -> None:
    assert ids(lib, *flags) == sql_ids(lib, call)


def test_pages_with_after_cover_the_one_page_answer(lib: str) -> None:
    seen, after = [], None
    for _ in range(10):  # 10 files, 3 a page: 4 pages; a cursor that never ends fails instead of looping
        out = js(lib, "search", "--limit", "3", *(["--after", after] if after else []))
        seen += [r["id"] for r in out["results"]]
        after = out["after"]
        if not after:
            break
    else:
        pytest.fail(f"paging did not end after 10 pages: {seen}")
    assert seen == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_table_output_and_next_page_hint(lib: str) -> None:
    result = run(lib, "search", "bass", "--limit", "2")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "filename", "bpm", "key", "category", "manufacturer", "fav", "rank"]
    assert lines[1].startswith("1 ") and "Deep_House_Bass_124bpm_Am.mid" in lines[1]
    assert "next page: --after '" in result.stderr


def test_count(lib: str) -> None:
    assert js(lib, "search", "bass", "--count") == {"files": 5, "exact": True}


def test_show_and_unknown_id(lib: str) -> None:
    d = js(lib, "show", "3")
    assert d["filename"] == "Chill_Chords_90bpm_C.mid" and d["tags"] == ["lofi", "warm"] and d["is_favorite"] is True
    assert d["rating"] == 3 and d["paths"] == ["/lib/Chord Club/Chill_Chords_90bpm_C.mid"]
    result = run(lib, "show", "999", code=1)
    assert result.stderr.strip() == "midicenter: error: no file with id 999"


def test_facets_or_within_and_across(lib: str) -> None:
    rows = js(lib, "facets", "--key", "Am")
    keys = {r["value"]: r["files"] for r in rows if r["facet"] == "key"}
    makers = {r["value"]: r["files"] for r in rows if r["facet"] == "manufacturer"}
    assert keys == {"Am": 2, "F": 2, "C": 1, "Dm": 1, "Em": 1, "G": 1}
    assert makers == {"Chord Club": 1, "Loopforge": 1}


def test_favorites(lib: str) -> None:
    assert js(lib, "fav", "add", "1") == {"file": 1, "changed": True}
    assert js(lib, "fav", "add", "1") == {"file": 1, "changed": False}
    assert js(lib, "fav", "toggle", "2") == {"file": 2, "favorite": True}
    assert js(lib, "fav", "remove", "3") == {"file": 3, "changed": True}
    assert [r["id"] for r in js(lib, "fav", "list")["results"]] == [8, 2, 1]
    run(lib, "fav", "add", "999", code=1)


def test_rate(lib: str) -> None:
    assert js(lib, "rate", "2", "4") == {"file": 2, "rating": 4}
    assert ids(lib, "--min-rating", "4") == [2, 1]
    assert js(lib, "rate", "2", "0") == {"file": 2, "rating": None}
    run(lib, "rate", "2", "6", code=2)


def test_tags(lib: str) -> None:
    assert js(lib, "tag", "add", "2", "Punchy", "warm") == {"file": 2, "added": 2}
    assert ids(lib, "--tag", "punchy") == [2]
    assert js(lib, "tag", "remove", "2", "warm") == {"file": 2, "removed": 1}
    assert js(lib, "tag", "rename", "punchy", "hard")["to"] == "hard"
    assert ids(lib, "hard") == [2]
    assert js(lib, "tag", "merge", "lofi", "cinematic", "--into", "warm")["files"] == 1
    listed = {r["tag"]: r["files"] for r in js(lib, "tag", "list")}
    assert listed == {"warm": 4, "hard": 1}
    assert [r["tag"] for r in js(lib, "tag", "list", "--file", "2")] == ["hard"]
    result = run(lib, "tag", "rename", "hard", "warm", code=1)
    assert "tag_merge" in result.stderr


def test_saved_searches(lib: str) -> None:
    saved = js(lib, "saved", "save", "am grooves", "--key", "Am", "--bpm-min", "90", "--sort", "newest")
    assert saved["filters"] == {"keys": ["Am"], "bpm_min": 90.0, "sort": "newest"}
    assert [r["id"] for r in js(lib, "saved", "run", "am grooves")["results"]] == [9, 1]
    assert [r["name"] for r in js(lib, "saved", "list")] == ["am grooves"]
    assert js(lib, "saved", "delete", "am grooves") == {"deleted": "am grooves"}
    run(lib, "saved", "delete", "am grooves", code=1)
    run(lib, "saved", "run", "am grooves", code=1)


def test_usage_and_bad_input_errors(lib: str) -> None:
    run(lib, "search", "--key", "H", code=2)
    run(lib, "search", "--limit", "501", code=2)
    result = run(lib, "search", "--after", "garbage", code=1)
    assert result.stderr.startswith("midicenter: error: database error: after must be a cursor")
    result = run(lib, "search", "--time-signature", "waltz", code=1)
    assert "time_signature must look like 4/4" in result.stderr
