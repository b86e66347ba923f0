"""Least privilege for real: the runner and the SQL API used through separate logins that are members of
midi_writer and midi_reader (import, analysis and library writes as the writer; search, counts, facets and
details as the reader, who may write nothing); the two roles' statement timeouts as their own logins see
them, and how an operator changes them; odd search text of any length never errors for the reader."""

from __future__ import annotations

import json
import random
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import conninfo

from runner import schema
from runner.cli import cli
from tests import corpus


def cli_run(dsn: str, *args: str):
    return CliRunner().invoke(cli, ["--dsn", dsn, *args])


@pytest.fixture
def logins(dsn: str) -> Iterator[dict[str, str]]:
    """Two login roles of the test cluster, one a member of midi_reader, one of midi_writer (dropped after)."""
    suffix = uuid.uuid4().hex[:8]
    names = {"reader": f"reader_{suffix}", "writer": f"writer_{suffix}"}
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {names['reader']} LOGIN IN ROLE midi_reader")
        admin.execute(f"CREATE ROLE {names['writer']} LOGIN IN ROLE midi_writer")
    try:
        yield {k: conninfo.make_conninfo(dsn, user=v) for k, v in names.items()}
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f"DROP ROLE {name}")


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """A dozen real MIDI files (Debian packages, see tests/corpus.py)."""
    real = corpus.real_corpus()
    root = tmp_path_factory.mktemp("songs")
    for i, path in enumerate(sorted(real.rglob("*.mid"))[:12]):
        shutil.copy(path, root / f"{i:02d}_{path.name}")
    return root


def test_writer_imports_and_analyzes_and_the_reader_searches(dsn: str, logins: dict[str, str], songs: Path) -> None:
    writer, reader = logins["writer"], logins["reader"]
    out = cli_run(writer, "import", str(songs), "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["files_seen"] == 12
    out = cli_run(writer, "analyze", "--workers", "1", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["analyzed"] + json.loads(out.stdout)["errors"] == 12

    found = json.loads(cli_run(reader, "search", "--json").stdout)["results"]
    assert len(found) == 12
    first = str(found[0]["id"])
    for args in (["search", "--count", "--json"], ["show", first, "--json"], ["facets", "--json"],
                 ["search", found[0]["filename"].split(".")[0], "--fuzzy", "--json"], ["tag", "list", "--json"]):
        out = cli_run(reader, *args)
        assert out.exit_code == 0, (args, out.output)
    assert json.loads(cli_run(reader, "search", "--count", "--json").stdout)["files"] == 12

    # the library writes are the writer's; the reader is refused in one line, and writes nothing
    for args in (["fav", "add", first], ["rate", first, "4"], ["tag", "add", first, "mine"],
                 ["saved", "save", "mine", "--key", "C"], ["import", str(songs)], ["analyze", "--reanalyze"]):
        out = cli_run(reader, *args)
        assert out.exit_code == 1, (args, out.output)
        assert "permission denied" in out.stderr and "Traceback" not in out.output, (args, out.stderr)
    for args in (["fav", "add", first], ["rate", first, "4"], ["tag", "add", first, "mine"],
                 ["saved", "save", "mine", "--key", "C"]):
        out = cli_run(writer, *args)
        assert out.exit_code == 0, (args, out.output)
    assert cli_run(reader, "saved", "run", "mine", "--json").exit_code == 0
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM midi.favorites), (SELECT count(*) FROM midi.ratings),"
                            " (SELECT count(*) FROM midi.saved_searches)").fetchone() == (1, 1, 1)


def test_the_reader_cannot_reach_sql_text_or_writes_from_psql(logins: dict[str, str]) -> None:
    with psycopg.connect(logins["reader"], autocommit=True) as conn:
        for stmt in ("SELECT midi.import_begin('{/x}', NULL)", "SELECT midi.analysis_next_batch()",
                     "SELECT midi.refresh_views()", "SELECT midi._sync_deferred()",
                     "INSERT INTO midi.favorites (file_id) VALUES (1)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)
        # what remains of the old SQL-text helpers is gone: no signature takes a WHERE clause
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute("SELECT midi._estimate_rows('true', NULL::midi._search_args)")
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute("SELECT midi._facet_sql(ARRAY['key'], 'true', false)")


# ------------------------------------------------------------------------------------------ timeouts


def _login_timeout(dsn: str, role: str) -> str:
    with psycopg.connect(conninfo.make_conninfo(dsn, user=role)) as conn:
        return conn.execute("SHOW statement_timeout").fetchone()[0]


def _role_timeout(conn: psycopg.Connection, role: str) -> str | None:
    row = conn.execute("SELECT c FROM pg_roles r, unnest(r.rolconfig) c WHERE r.rolname = %s"
                       " AND c LIKE 'statement\\_timeout=%%'", [role]).fetchone()
    return row[0].split("=", 1)[1] if row else None


@pytest.fixture
def role_logins(dsn: str) -> Iterator[str]:
    """midi_reader and midi_writer may log in for the test; their LOGIN and timeouts are restored after."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        before = {r: _role_timeout(admin, r) for r in ("midi_reader", "midi_writer")}
        admin.execute("ALTER ROLE midi_reader LOGIN")
        admin.execute("ALTER ROLE midi_writer LOGIN")
    try:
        yield dsn
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            for role, value in before.items():
                admin.execute(f"ALTER ROLE {role} NOLOGIN")
                if value is None:
                    admin.execute(f"ALTER ROLE {role} RESET statement_timeout")
                else:
                    admin.execute(f"ALTER ROLE {role} SET statement_timeout = '{value}'")


def test_roles_log_in_with_their_statement_timeouts(role_logins: str) -> None:
    dsn = role_logins
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("ALTER ROLE midi_reader RESET statement_timeout")
        admin.execute("ALTER ROLE midi_writer RESET statement_timeout")
    schema.apply_functions(dsn)  # what every migrate does: a role without a timeout gets the default
    assert _login_timeout(dsn, "midi_reader") == "30s"
    assert _login_timeout(dsn, "midi_writer") == "5min"
    with psycopg.connect(conninfo.make_conninfo(dsn, user="midi_reader")) as conn:
        assert conn.execute("SELECT count(*) FROM midi.search(q => 'bass')").fetchone()[0] == 0


def test_timeouts_are_the_operators_to_change(role_logins: str) -> None:
    dsn = role_logins
    # an operator's own ALTER ROLE survives the next migrate
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("ALTER ROLE midi_writer SET statement_timeout = '7min'")
    schema.apply_functions(dsn)
    assert _login_timeout(dsn, "midi_writer") == "7min"
    # so does a value given to the migrate through midi.reader_timeout, and it is enforced at login
    schema.apply_functions(conninfo.make_conninfo(dsn, options="-c midi.reader_timeout=1s"))
    assert _login_timeout(dsn, "midi_reader") == "1s"
    with psycopg.connect(conninfo.make_conninfo(dsn, user="midi_reader")) as conn, \
            pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(3)")
    # a value the server refuses fails the migrate with its reason
    with pytest.raises(RuntimeError, match="90_grants.sql.*statement_timeout"):
        schema.apply_functions(conninfo.make_conninfo(dsn, options="-c midi.writer_timeout=soon"))
    assert _login_timeout(dsn, "midi_writer") == "7min"


# ------------------------------------------------------------------------------------ odd search text

POOL = [" ", "  ", "\t", "\n", "bass", "drum", "Am", "120", "-", "!", "&", "|", "<->", "<2>", "(", ")", ":*", ":",
        "'", "''", '"', "\\", "or", "OR", "and", "not", "*", "%", "_", "$$", ";", "--", "/*", "*/", "\u00e9",
        "\u00df", "\u0130", "\u4e2d\u6587", "\U0001f3b9", "\u200b", "\ufeff", "\u0301", "\x7f", "\x01", "\x1b[0m"]


def _odd_text(rng: random.Random, size: int) -> str:
    if rng.random() < 0.3:  # any code point but NUL and the surrogates
        return "".join(chr(rng.choice([rng.randint(1, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])) for _ in range(size))
    out: list[str] = []
    length = 0
    while length < size:
        out.append(rng.choice(POOL))
        length += len(out[-1])
    return "".join(out)


def test_odd_search_text_of_any_length_never_errors_for_the_reader(dsn: str, logins: dict[str, str]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute((schema.pgtap_dir() / "fixtures" / "search_library.sql").read_text(encoding="utf-8"))
        conn.execute("SELECT midi.refresh_views()")
    rng = random.Random(11)
    sizes = [0, 1, 2, 5, 30, 255, 256, 257, 300, 1000, 5000, 70_000, 1_000_000]
    texts = [_odd_text(rng, rng.choice(sizes)) for _ in range(120)]
    texts += [" ".join(["bass"] * 200_000), "a" * 1_000_000, "!&|<->():*'\"\\ " * 70_000]
    calls = ["SELECT count(*) FROM midi.search(q => %s)", "SELECT count(*) FROM midi.search(q => %s, fuzzy => true)",
             "SELECT files FROM midi.search_count(q => %s)", "SELECT count(*) FROM midi.facets(q => %s)",
             "SELECT count(*) FROM midi.explain_search(q => %s, sort => 'name')"]
    with psycopg.connect(logins["reader"], autocommit=True) as conn:
        for i, text in enumerate(texts):
            for call in (calls if i % 4 == 0 or len(text) > 5000 else calls[:3]):
                try:
                    conn.execute(call, [text]).fetchone()
                except psycopg.Error as exc:
                    pytest.fail(f"{call} failed for a text of {len(text)} characters {text[:80]!r}: {str(exc)[:300]}")
        clipped = conn.execute("SELECT midi._clip_query(%s)", [texts[-3]]).fetchone()[0]
        assert len(clipped) <= 256 and texts[-3].startswith(clipped) and texts[-3][len(clipped)] == " "
