"""Export names are rendered in SQL (midi.export_rows, midi.export_safe_name), so psql users and the CLI get
the same names: every key spelling, missing values without stray separators, unsafe and hostile text,
the 255-byte limit, collisions; and midi.catalog carries midi.file_details' columns with the same values."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from runner import filters
from runner.cli import cli
from runner.schema import pgtap_dir

FIXTURE = pgtap_dir() / "fixtures" / "search_library.sql"


@pytest.fixture
def lib(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        conn.execute(Path(FIXTURE).read_text(encoding="utf-8"))
        conn.execute("SELECT midi.refresh_views()")
    return dsn


def dests(conn: psycopg.Connection, call: str, params: list | None = None) -> dict[int, str]:
    return dict(conn.execute(f"SELECT id, dest FROM midi.export_rows({call})", params).fetchall())


def safe(conn: psycopg.Connection, text: str, max_bytes: int = 255) -> str | None:
    return conn.execute("SELECT midi.export_safe_name(%s, %s)", [text, max_bytes]).fetchone()[0]


def test_every_key_spelling_renders_as_the_key(lib: str) -> None:
    """The seed's renamer turned B into 'fmaj': here each of the 24 keys renders as midicenter spells it,
    in a template and alone, and UNKNOWN renders as no key at all (its separator goes with it)."""
    with psycopg.connect(lib) as conn:
        keys = conn.execute("SELECT enum_range(NULL::midi.musical_key)::text[]").fetchone()[0]
        assert [k for k in keys if k != "UNKNOWN"] == list(filters.MUSICAL_KEYS)
        for key in keys:
            conn.execute("UPDATE midi.musical_metadata SET key_signature = %s WHERE file_id = 1", [key])
            got = dests(conn, "ids => '{1}', template => '{bpm}_{key}_{category}_{name}'")[1]
            alone = dests(conn, "ids => '{1}', template => '{key}'")[1]
            if key == "UNKNOWN":
                assert got == "124_bass_Deep_House_Bass_124bpm_Am.mid"
                assert alone == "Deep_House_Bass_124bpm_Am.mid"  # no value at all: the file's own name
            else:
                assert got == f"124_{key}_bass_Deep_House_Bass_124bpm_Am.mid", key
                assert alone == f"{key}.mid", key
                assert conn.execute("SELECT dest FROM midi.export_rows(ids => '{1}', template => '{key_signature}')"
                                    ).fetchone()[0] == f"{key}.mid"


def test_a_missing_value_takes_its_separator_with_it(lib: str) -> None:
    with psycopg.connect(lib) as conn:
        d = dests(conn, "template => '{bpm}_{key}_{category}_{name}'")
        assert d[6] == "Dm_Pad_Atmos_Dm.mid"          # no tempo, no category: key (from the name) and name
        assert d[10] == "fx_Riser_FX.mid"             # no tempo, no key
        assert d[2] == "130_kick_Techno_Kick_130.mid"  # key UNKNOWN
        # literal text around the fields stays; text between two fields needs a value on both sides
        d = dests(conn, "ids => '{6,10}', template => 'loop {bpm}bpm - {name} - {key} end'")
        assert d == {6: "loop Pad_Atmos_Dm - Dm end.mid", 10: "loop Riser_FX end.mid"}
        assert dests(conn, "ids => '{10}', template => '{rating}'") == {10: "Riser_FX.mid"}
        assert dests(conn, "ids => '{1}', template => '{rating}star_{is_favorite}_{tags}'") == {1: "5_warm.mid"}
        assert dests(conn, "ids => '{3}', template => '{is_favorite}_{tags}_{time_signature}'") == {
            3: "favorite_lofi-warm_4-4.mid"}
        # a template that ends in a MIDI extension does not get a second one
        assert dests(conn, "ids => '{2}', template => '{filename}'") == {2: "Techno_Kick_130.mid"}


def test_collisions_get_the_id_as_suffix_case_insensitively(lib: str) -> None:
    with psycopg.connect(lib) as conn:
        d = dests(conn, "template => '{category}'")
        assert d[1] == "bass.mid" and d[5] == "bass~5.mid"
        assert len({v.lower() for v in d.values()}) == len(d)
        conn.execute("UPDATE midi.files SET filename = 'DEEP_house_bass_124bpm_am.mid' WHERE id = 5")
        d = dests(conn, "ids => '{1,5}'")
        assert d == {1: "Deep_House_Bass_124bpm_Am.mid", 5: "DEEP_house_bass_124bpm_am~5.mid"}
        # with keep_tree, names collide within one folder only
        d = dests(conn, "keep_tree => true, template => '{category}'")
        assert d[1] == "Loopforge/Deep Grooves/bass.mid"
        assert d[5] == "Bass Boutique/Low End/bass.mid"
        assert d[7] == "(no manufacturer)/(no collection)/drums.mid"


@pytest.mark.parametrize(("text", "want"), [
    ("..", "_"),
    (".", "_"),
    ("../../etc/passwd", "_._.._etc_passwd"),
    ("/abs/path", "_abs_path"),
    (".hidden", "_hidden"),
    ("line\nbreak\r\tand\x01\x1f\x7f\x85controls", "line_break__and____controls"),
    ("a\u202eb\u2028c\ufeffd", "a_b_c_d"),
    ('win:dows*?"<>|\\names', "win_dows_______names"),
    ("CON", "_CON"),
    ("lpt9.mid", "_lpt9.mid"),
    ("console", "console"),
    ("trailing dots... ", "trailing dots"),
    ("  spaced  ", "spaced"),
    ("   ", None),
    ("\n\t", None),
    ("Käse \ufffd Ü", "Käse \ufffd Ü"),
])
def test_unsafe_text_becomes_a_safe_name(dsn: str, text: str, want: str | None) -> None:
    with psycopg.connect(dsn) as conn:
        assert safe(conn, text) == want


def test_long_names_are_cut_between_characters_to_the_limit(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for unit, n in (("a", 300), ("é", 200), ("€", 100), ("𝄞", 80), ("aé€𝄞", 40)):
            text = unit * n
            got = safe(conn, text)
            raw = got.encode("utf-8")
            assert len(raw) <= 255 and text.startswith(got), (unit, len(raw))
            assert len(raw) > 255 - 4  # the longest whole-character prefix, not less
            assert len(safe(conn, text, 251).encode()) <= 251


def test_hostile_metadata_never_leaves_the_destination(lib: str) -> None:
    """.. and / in the fields a template or the folder tree uses, control characters and long values:
    every dest is relative, has no empty, '.' or '..' part, no part over 255 bytes and no control
    character, and keeps its extension."""
    hostile = ["..", "../../x", "/etc", "a/../../b", "\n\x01..", ".", "x" * 400, "é" * 300, "CON", " . "]
    with psycopg.connect(lib) as conn:
        for i, value in enumerate(hostile):
            conn.execute("UPDATE midi.files SET manufacturer = %s, collection_name = %s, filename = %s WHERE id = 1",
                         [value, value[::-1], value + ".mid"])
            for template in ("{manufacturer}", "{name}", "{collection}_{manufacturer}_{filepath}", "{paths}"):
                for tree in ("false", "true"):
                    dest = dests(conn, f"ids => '{{1}}', keep_tree => {tree}, template => %s", [template])[1]
                    parts = dest.split("/")
                    assert len(parts) == (3 if tree == "true" else 1), (i, template, dest)
                    for part in parts:
                        assert part not in ("", ".", "..") and not part.startswith("."), (i, template, dest)
                        assert len(part.encode()) <= 255, (i, template, len(part.encode()))
                        assert not any(ord(c) < 32 or c in '\\:*?"<>|' for c in part), (i, template, dest)
                    assert dest.endswith(".mid")


def test_unknown_fields_and_stray_braces_are_refused(lib: str) -> None:
    with psycopg.connect(lib, autocommit=True) as conn:
        for template in ("{nope}", "{bpm", "bpm}", "{}", "{bpm}{", "plain text"):
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute("SELECT * FROM midi.export_rows(template => %s)", [template])
    result = CliRunner().invoke(cli, ["--dsn", lib, "export", "--to", "/nonexistent/x", "--rename", "{nope}"])
    assert result.exit_code == 2 and "unknown field {nope}" in result.stderr, result.stderr


def test_template_fields_are_file_details_columns(lib: str) -> None:
    """Every column of midi.file_details is a template field (the short names are the only extras), and
    each renders for a file that has it."""
    with psycopg.connect(lib) as conn:
        columns = [r[0] for r in conn.execute(
            "SELECT unnest(proargnames[2:]) FROM pg_proc WHERE oid = 'midi.file_details(bigint)'::regprocedure")]
        fields = [r[0] for r in conn.execute("SELECT field FROM midi.export_fields()")]
        assert set(columns) <= set(fields)
        assert set(fields) - set(columns) == {"name", "key", "category", "collection", "duration", "time_signature",
                                              "hash"}
        digest = conn.execute("SELECT encode(content_hash, 'hex') FROM midi.files WHERE id = 3").fetchone()[0]
        own = "Chill_Chords_90bpm_C"  # what a field without a value for file 3 falls back to
        want = {
            "id": "3", "filename": own, "name": own, "filepath": "_lib_Chord Club_Chill_Chords_90bpm_C",
            "file_size_bytes": "1003", "manufacturer": "Chord Club", "collection_name": "Lofi Keys",
            "collection": "Lofi Keys", "folder_tags": "chords", "bpm": "90", "key_signature": "C", "key": "C",
            "time_signature_numerator": "4", "time_signature_denominator": "4", "time_signature": "4-4",
            "total_notes": "120", "is_percussive": own, "primary_category": "chords", "category": "chords",
            "secondary_category": own, "is_favorite": "favorite", "rating": "3", "duration_seconds": "16",
            "duration": "16", "num_tracks": "2", "format": own, "tags": "lofi-warm", "instruments": own,
            "paths": "_lib_Chord Club_Chill_Chords_90bpm_C", "content_hash": digest, "hash": digest[:12],
            "created_at": "2024-03-01", "analyzed_at": own,
        }
        assert set(want) == set(fields)
        for field in fields:
            assert dests(conn, "ids => '{3}', template => %s", ["{" + field + "}"])[3] == want[field] + ".mid", field
        conn.execute("UPDATE midi.musical_metadata SET is_percussive = true, bpm = 122.456 WHERE file_id = 3")
        assert dests(conn, "ids => '{3}', template => '{bpm} {is_percussive}'")[3] == "122.46 percussive.mid"


def test_catalog_has_file_details_columns_and_values(lib: str) -> None:
    with psycopg.connect(lib) as conn:
        details = conn.execute("SELECT * FROM midi.file_details(1)")
        names = [c.name for c in details.description]
        cat = conn.execute("SELECT * FROM midi.catalog LIMIT 0")
        assert [c.name for c in cat.description][: len(names)] == names
        assert [c.type_code for c in cat.description][: len(names)] == [c.type_code for c in details.description]
        for fid in range(1, 11):
            a = conn.execute("SELECT * FROM midi.file_details(%s)", [fid]).fetchone()
            b = conn.execute(f"SELECT {', '.join(names)} FROM midi.catalog WHERE id = %s", [fid]).fetchone()
            assert a == b, fid
        assert conn.execute("SELECT count(*) FROM midi.catalog").fetchone()[0] == 10
        rows = conn.execute("SELECT id FROM midi.catalog_rows(keys => '{Am}')").fetchall()
        assert [r[0] for r in rows] == [1, 9]


def test_export_rows_take_the_search_filters_ids_and_saved_searches(lib: str) -> None:
    with psycopg.connect(lib) as conn:
        def ids(call: str) -> list[int]:
            return sorted(r[0] for r in conn.execute(f"SELECT id FROM midi.export_rows({call})"))

        def search(call: str) -> list[int]:
            return sorted(r[0] for r in conn.execute(f"SELECT id FROM midi.search({call}, lim => 500)"))

        for call in ("q => 'bass'", "keys => '{Am}'", "bpm_min => 100, bpm_max => 130", "favorites_only => true",
                     "categories => '{bass}', manufacturer => '{Loopforge}'", """filters => '{"min_rating": 3}'"""):
            assert ids(call) == search(call), call
        assert ids("") == list(range(1, 11))
        assert ids("ids => '{3,4,99}'") == [3, 4]
        assert ids("ids => '{1,3,4}', keys => '{Am}'") == [1]
        conn.execute("""SELECT midi.saved_search_save('warm ones', '{"tags_all": ["warm"], "sort": "name"}')""")
        assert ids("saved => 'warm ones'") == [1, 3, 8]
        assert ids("saved => 'warm ones', keys => '{F}'") == [8]
        row = conn.execute("SELECT total, source_paths, source_bytes, content_hash FROM midi.export_rows(ids => '{1,2}')"
                           " ORDER BY id").fetchone()
        assert row[0] == 2 and row[1] == ["/lib/Loopforge/Deep_House_Bass_124bpm_Am.mid"] and row[2] == [None]
        assert bytes(row[3]) == conn.execute("SELECT content_hash FROM midi.files WHERE id = 1").fetchone()[0]
        with pytest.raises(psycopg.errors.NoDataFound):
            ids("saved => 'nothing of that name'")


def test_sources_come_canonical_first_then_present_then_missing(lib: str) -> None:
    with psycopg.connect(lib) as conn:
        conn.execute("INSERT INTO midi.file_paths (path, file_id, missing_since) VALUES ('/a/gone.mid', 1, now())")
        conn.execute("INSERT INTO midi.file_paths (path, path_bytes, file_id) VALUES ('/b/caf\ufffd.mid', %s, 1)",
                     [b"/b/caf\xe9.mid"])
        conn.execute("INSERT INTO midi.file_paths (path, file_id) VALUES ('/c/copy.mid', 1)")
        paths, raws = conn.execute("SELECT source_paths, source_bytes FROM midi.export_rows(ids => '{1}')").fetchone()
        assert paths == ["/lib/Loopforge/Deep_House_Bass_124bpm_Am.mid", "/b/caf\ufffd.mid", "/c/copy.mid",
                         "/a/gone.mid"]
        assert raws == [None, b"/b/caf\xe9.mid", None, None]
