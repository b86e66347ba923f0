"""The JSON API of `midicenter browse` against a real database and real files: every endpoint answers
what its midi.* call returns, reads run as midi_reader and writes as midi_writer (hidden for a login that
may not write), the file's bytes come from a location whose bytes still hash to the content (a vanished
canonical path, a changed file, a zip member, a name that is not UTF-8), requests from anywhere but the
page are refused, and the terminal says why the page cannot start (port in use) or what the database
lacks. The embedded default is exercised once, in the embedded server's run."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from runner import connect
from runner.browse import library as lib
from runner.browse import server
from tests import browse_support as bs


@pytest.fixture(scope="module")
def songs_dir(tmp_path_factory) -> Path:
    """A small generated library (the demo's generator) plus copies that test the byte sources."""
    from runner.bench import library

    src = library.generate(tmp_path_factory.mktemp("gen"), 150, seed=7)
    root = tmp_path_factory.mktemp("lib")
    shutil.copytree(src, root / "gen")
    every = sorted((root / "gen").rglob("*.mid"))
    seen: dict[bytes, int] = {}
    for path in every:
        seen[path.read_bytes()] = seen.get(path.read_bytes(), 0) + 1
    some = [p for p in every if seen[p.read_bytes()] == 1][:3]  # contents found once: each test case its own
    shutil.copy(some[0], root / "copy_of_first.mid")          # a second location of the first content
    (root / "odd").mkdir()
    with open(os.path.join(os.fsencode(root / "odd"), b"caf\xe9.mid"), "wb") as out:  # a name that is not UTF-8
        out.write(some[1].read_bytes() + b"")
    with zipfile.ZipFile(root / "pack.zip", "w") as z:          # a zip member
        z.writestr("inside/Zipped Loop 120bpm.mid", some[2].read_bytes()[:-4] + b"\x00\xff\x2f\x00")
    return root


@pytest.fixture
def lib_dsn(dsn: str, songs_dir: Path, tmp_path: Path) -> str:
    root = tmp_path / "lib"
    shutil.copytree(songs_dir, root, symlinks=True)
    bs.fill(dsn, root)
    return dsn


@contextmanager
def serving(dsn: str, **kw) -> Iterator[bs.Browse]:
    """The browse server in this process (port 0), as the CLI builds it, with its terminal lines kept."""
    out = io.StringIO()
    srv = server.BrowseServer(0, lib.Library(connect.resolve(dsn), **kw), server.Reporter(out))
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    b = bs.Browse(None, srv.url)  # type: ignore[arg-type]
    b.srv, b.out = srv, out  # type: ignore[attr-defined]
    try:
        yield b
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        srv.library.close()


def sql(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_every_endpoint_answers_what_its_sql_call_returns(lib_dsn: str) -> None:
    given = {"q": "loop -drums", "bpm_min": 90, "bpm_max": 160}
    with serving(lib_dsn) as b:
        status, page, _ = b.post("/api/search", {"filters": given, "lim": 7})
        assert status == 200
        want = sql(lib_dsn, "SELECT id, cursor FROM midi.search(lim => 7, filters => %s)", json.dumps(given))
        assert [(r["id"], r["cursor"]) for r in page["results"]] == want and len(want) == 7
        assert page["after"] == want[-1][1]
        status, page2, _ = b.post("/api/search", {"filters": given, "lim": 7, "after": page["after"]})
        want2 = sql(lib_dsn, "SELECT id FROM midi.search(lim => 7, after => %s, filters => %s)", want[-1][1], json.dumps(given))
        assert [r["id"] for r in page2["results"]] == [r[0] for r in want2]
        for sort in ("bpm", "name", "newest", "duration"):
            _, page, _ = b.post("/api/search", {"filters": given, "sort": sort})
            assert [r["id"] for r in page["results"]] == [r[0] for r in sql(
                lib_dsn, "SELECT id FROM midi.search(sort => %s, filters => %s)", sort, json.dumps(given))]

        _, count, _ = b.post("/api/count", {"filters": given})
        assert (count["files"], count["exact"]) == sql(lib_dsn, "SELECT * FROM midi.search_count(filters => %s)",
                                                       json.dumps(given))[0]
        faceted = given | {"keys": ["Am", "Cm"], "categories": ["bass"]}
        _, facets, _ = b.post("/api/facets", {"filters": faceted})
        assert [(f["facet"], f["value"], f["files"]) for f in facets] == sql(
            lib_dsn, "SELECT facet, value, files FROM midi.facets(facet_limit => 12, filters => %s)", json.dumps(faceted))
        file_id = want[0][0]
        _, details, _ = b.get(f"/api/files/{file_id}")
        row = sql(lib_dsn, "SELECT to_jsonb(d) FROM midi.file_details(%s) d", file_id)[0][0]
        assert {k: details[k] for k in ("filename", "paths", "key_signature", "total_notes", "tags")} == \
               {k: row[k] for k in ("filename", "paths", "key_signature", "total_notes", "tags")}

        # what the API refuses, in one line each: an offset (keyset only), a bad value, an unknown filter
        assert b.post("/api/search", {"filters": given, "offset": 50})[:2] == (400, {"error": "unknown argument(s): offset",
                                                                                   "kind": "request"})
        status, err, _ = b.post("/api/search", {"filters": {"keys": ["H"]}})
        assert status == 400 and err["error"] == 'invalid input value for enum midi.musical_key: "H"'
        status, err, _ = b.post("/api/count", {"filters": {"colour": "red"}})
        assert status == 400 and err["error"] == "unknown search argument(s): colour"
        assert b.post("/api/search", {"sort": "random"})[0] == 400
        assert b.post("/api/search", {"lim": 501})[0] == 400
        assert b.get("/api/files/987654321")[:2] == (404, {"error": "no file with id 987654321", "kind": "request"})


def test_reads_run_as_midi_reader_and_writes_as_midi_writer(lib_dsn: str) -> None:
    file_id = sql(lib_dsn, "SELECT min(id) FROM midi.files")[0][0]
    with serving(lib_dsn) as b:
        _, status, _ = b.get("/api/status")
        assert (status["read_role"], status["write_role"], status["can_write"]) == ("midi_reader", "midi_writer", True)
        library = b.srv.library
        with library._current()[1]["read"].connection() as conn:
            assert conn.execute("SELECT current_user, current_setting('statement_timeout')").fetchone() == \
                   ("midi_reader", "30s")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT midi.favorite_toggle(%s)", [file_id])
        with library._current()[1]["write"].connection() as conn:
            assert conn.execute("SELECT current_user, current_setting('statement_timeout')").fetchone() == \
                   ("midi_writer", "5min")
        assert b.post(f"/api/files/{file_id}/favorite", {})[1] == {"favorite": True}
        assert b.post(f"/api/files/{file_id}/rating", {"stars": 5})[1] == {"rating": 5}
        assert sql(lib_dsn, "SELECT f.file_id, r.rating FROM midi.favorites f JOIN midi.ratings r USING (file_id)") == \
               [(file_id, 5)]
        assert b.post(f"/api/files/{file_id}/rating", {"stars": 0})[1] == {"rating": None}
        assert b.post(f"/api/files/{file_id}/favorite", {})[1] == {"favorite": False}
        assert b.post(f"/api/files/{file_id}/rating", {"stars": 6})[0] == 400
        assert b.post("/api/files/987654321/favorite", {})[:2] == (404, {"error": "no file with id 987654321",
                                                                         "kind": "request"})
    with serving(lib_dsn, read_only=True) as b:
        assert b.get("/api/status")[1]["can_write"] is False
        status, err, _ = b.post(f"/api/files/{file_id}/favorite", {})
        assert status == 403 and "--read-only" in err["error"]


@pytest.fixture
def logins(dsn: str) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {"reader": f"reader_{suffix}", "writer": f"writer_{suffix}", "none": f"nobody_{suffix}"}
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {names['reader']} LOGIN IN ROLE midi_reader")
        admin.execute(f"CREATE ROLE {names['writer']} LOGIN IN ROLE midi_writer")
        admin.execute(f"CREATE ROLE {names['none']} LOGIN")
    try:
        yield {k: conninfo.make_conninfo(dsn, user=v) for k, v in names.items()}
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f"DROP ROLE {name}")


def test_a_login_that_may_only_read_gets_no_writes(lib_dsn: str, logins: dict[str, str]) -> None:
    file_id = sql(lib_dsn, "SELECT min(id) FROM midi.files")[0][0]
    with serving(logins["reader"]) as b:
        _, status, _ = b.get("/api/status")
        assert (status["read_role"], status["write_role"], status["can_write"]) == ("midi_reader", None, False)
        assert b.post("/api/search", {})[0] == 200
        status, err, _ = b.post(f"/api/files/{file_id}/favorite", {})
        assert status == 403 and "may not write" in err["error"]
    with serving(logins["writer"]) as b:
        _, status, _ = b.get("/api/status")
        assert (status["read_role"], status["write_role"]) == ("midi_reader", "midi_writer")
        assert b.post(f"/api/files/{file_id}/favorite", {})[1] == {"favorite": True}
    none = conninfo.conninfo_to_dict(logins["none"])["user"]
    with serving(logins["none"]) as b:  # a login with no midicenter role: the page says what to grant
        status, err, _ = b.get("/api/status")
        assert status == 503 and err["kind"] == "privilege"
        assert err["error"].endswith(f"{none} may not use the midicenter schema; grant it the reader role: "
                                     f"GRANT midi_reader TO {none}")
        assert b.post("/api/search", {})[0] == 503


def test_the_bytes_come_from_a_location_that_still_holds_the_content(lib_dsn: str) -> None:
    rows = sql(lib_dsn, "SELECT f.id, array_agg(p.path ORDER BY p.path = f.filepath DESC, p.path), f.filepath"
                        " FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id GROUP BY f.id"
                        " HAVING count(*) > 1 AND bool_or(p.path LIKE '%%copy_of_first.mid')")
    assert len(rows) == 1
    file_id, paths, canonical = rows[0]
    with serving(lib_dsn) as b:
        status, body, headers = b.get(f"/api/files/{file_id}/midi")
        original = Path(canonical).read_bytes()
        assert status == 200 and body == original and headers["Content-Type"] == "audio/midi"
        assert "attachment" in headers["Content-Disposition"]
        Path(canonical).unlink()                                   # the canonical path vanished: the copy serves
        assert b.get(f"/api/files/{file_id}/midi")[1] == original
        for other in paths[1:]:                                    # every copy changed: none is this content
            Path(other).write_bytes(original + b"changed")
        status, err, _ = b.get(f"/api/files/{file_id}/midi")
        assert status == 404 and "changed since it was imported" in err["error"] and "No such file" in err["error"]

        (zipped_id, zpath), = sql(lib_dsn, "SELECT file_id, path FROM midi.file_paths WHERE path LIKE '%%.zip!%%'")
        outer, inner = zpath.split("!", 1)
        with zipfile.ZipFile(outer) as z:
            assert b.get(f"/api/files/{zipped_id}/midi")[1] == z.read(inner)
        (odd_id, odd_bytes), = sql(lib_dsn, "SELECT file_id, path_bytes FROM midi.file_paths WHERE path_bytes IS NOT NULL")
        with open(bytes(odd_bytes), "rb") as fh:
            assert b.get(f"/api/files/{odd_id}/midi")[1] == fh.read()


def test_requests_from_anywhere_but_the_page_are_refused(lib_dsn: str) -> None:
    with serving(lib_dsn) as b:
        status, _, headers = b.get("/")
        assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
        assert b.get("/api/status", {"Host": "attacker.example:80"})[0] == 421      # DNS rebinding
        assert b.get("/api/status", {"Sec-Fetch-Site": "cross-site"})[0] == 403    # another site's page
        assert b.post("/api/search", {}, {"Sec-Fetch-Site": "same-site"})[0] == 403
        assert bs.request(b.url + "api/search", b"{}", {"Content-Type": "text/plain"})[0] == 415  # a form post
        assert b.get("/static/../server.py")[0] == 404
        assert b.get("/static/app.js")[0] == 200
        assert b.get("/api/nothing")[0] == 404


def test_similar_and_collect_appear_only_when_the_schema_and_runner_have_them(lib_dsn: str) -> None:
    file_id = sql(lib_dsn, "SELECT min(id) FROM midi.files")[0][0]
    with serving(lib_dsn) as b:
        _, status, _ = b.get("/api/status")
        assert status["similar"] is False
        assert status["collect"] is (importlib.util.find_spec("runner.export") is not None)
        assert b.post(f"/api/files/{file_id}/similar", {})[0] == 404
    # a database whose schema has midi.similar (a stand-in with the documented call shape) lights it up
    with psycopg.connect(lib_dsn, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION midi.similar(file_id bigint, lim integer DEFAULT 20)"
                     " RETURNS TABLE (id bigint, filename text, distance real) LANGUAGE sql STABLE AS"
                     " $$ SELECT f.id, f.filename, 0.5::real FROM midi.files f WHERE f.id <> file_id ORDER BY f.id LIMIT lim $$")
        conn.execute("GRANT EXECUTE ON FUNCTION midi.similar(bigint, integer) TO midi_reader")
    with serving(lib_dsn) as b:
        assert b.get("/api/status")[1]["similar"] is True
        status, rows, _ = b.post(f"/api/files/{file_id}/similar", {"lim": 3})
        assert status == 200 and [r["id"] for r in rows] == [r[0] for r in sql(
            lib_dsn, "SELECT id FROM midi.files WHERE id <> %s ORDER BY id LIMIT 3", file_id)]


def test_collect_exports_the_result_list_as_the_export_command_does(lib_dsn: str, tmp_path: Path) -> None:
    """With `midicenter export` present, collect writes exactly the files midi.search finds under the page's
    filters, each with its content's bytes (to a folder or one zip); without it, collect says what it needs."""
    given = {"q": "loop", "bpm_min": 90, "bpm_max": 140}
    with serving(lib_dsn) as b:
        has_export = b.get("/api/status")[1]["collect"]
        assert has_export is (server.export_module() is not None)
        if not has_export:
            status, err, _ = b.post("/api/collect", {"filters": given, "options": {"to": str(tmp_path / "out")}})
            assert status == 404 and "midicenter export" in err["error"]
            assert not (tmp_path / "out").exists()
            return
        found = sql(lib_dsn, "SELECT f.id, f.content_hash FROM midi.search(lim => 10000, filters => %s) s"
                             " JOIN midi.files f USING (id)", json.dumps(given))
        assert 5 <= len(found) < 150, "the filters must pick some files of the library, not all"
        want = sorted(bytes(h) for _, h in found)

        def hashes(blobs) -> list[bytes]:
            import blake3

            return sorted(blake3.blake3(x).digest() for x in blobs)

        status, out, _ = b.post("/api/collect", {"filters": given, "sort": "bpm",
                                                 "options": {"to": str(tmp_path / "out"), "keep_tree": True}})
        assert status == 200, out
        assert (out["files"], out["errors"]) == (len(found), 0) and out["written"] == len(found)
        mids = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != "manifest.csv"]
        assert hashes(p.read_bytes() for p in mids) == want
        assert any(p.parent != tmp_path / "out" for p in mids), "keep_tree puts files in folders"
        status, again, _ = b.post("/api/collect", {"filters": given, "options": {"to": str(tmp_path / "out"),
                                                                                 "keep_tree": True}})
        assert status == 200 and (again["written"], again["present"]) == (0, len(found))

        status, out, _ = b.post("/api/collect", {"filters": given, "options": {"zip": str(tmp_path / "pack.zip"),
                                                                               "rename": "{bpm}_{name}"}})
        assert status == 200 and out["files"] == len(found), out
        with zipfile.ZipFile(tmp_path / "pack.zip") as z:
            members = [n for n in z.namelist() if not n.endswith("manifest.csv")]
            assert hashes(z.read(n) for n in members) == want

        # the caller's mistakes, in one line each, before anything is written
        for options, says in [({}, "say where to"), ({"to": "relative/dir"}, "absolute path"),
                              ({"to": str(tmp_path / "x"), "zip": str(tmp_path / "x.zip")}, "one of them"),
                              ({"to": str(tmp_path / "x"), "dry_run": True}, "unknown export option(s): dry_run"),
                              ({"to": str(tmp_path / "x"), "rename": "{nope}"}, "nope")]:
            status, err, _ = b.post("/api/collect", {"filters": given, "options": options})
            assert status == 400 and says in err["error"], (options, err)
        assert not (tmp_path / "x").exists() and not (tmp_path / "x.zip").exists()
        library_root = sql(lib_dsn, "SELECT filepath FROM midi.files ORDER BY id LIMIT 1")[0][0]
        status, err, _ = b.post("/api/collect", {"filters": given, "options": {
            "to": str(Path(library_root).parent / "collected")}})
        assert status == 400 and "inside the imported folder" in err["error"], err


def test_a_lost_session_reconnects_and_a_lost_database_is_said(server_dsn) -> None:
    dsn = server_dsn()
    from runner import schema

    schema.migrate(dsn)
    with serving(dsn) as b:
        assert b.post("/api/search", {})[0] == 200
        killed = sql(dsn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                          " WHERE application_name = 'midicenter browse' AND pid <> pg_backend_pid()")[0][0]
        assert killed >= 1
        assert b.post("/api/search", {})[0] == 200          # a fresh session, without the page noticing
        name = conninfo.conninfo_to_dict(dsn)["dbname"]
        admin = conninfo.make_conninfo(dsn, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        status, err, _ = b.post("/api/search", {})
        assert status == 503 and err["kind"] == "connection"
        assert err["error"].startswith("cannot connect to --dsn") and f'database "{name}" does not exist' in err["error"]
        assert b.out.getvalue().count("cannot connect to --dsn") == 1      # said once in the terminal, not per request
        assert b.post("/api/count", {})[0] == 503
        assert b.out.getvalue().count("cannot connect to --dsn") == 1


def test_a_taken_port_is_refused_in_one_line(dsn: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", dsn, "browse", "--port", str(port)],
                             cwd=bs.REPO, env=bs.cli_env(), capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (f"midicenter: error: port {port} on 127.0.0.1 is in use; choose another with --port N "
                          "(--port 0 picks a free one)\n")


def test_open_hands_the_url_to_the_browser_and_only_loopback_listens(dsn: str, tmp_path: Path) -> None:
    """--open gives the printed URL to the user's browser ($BROWSER, as Python's webbrowser finds it); the
    server answers on 127.0.0.1 and on no other address of the machine (127.0.0.2 is loopback too, but not
    the bound one)."""
    opened = tmp_path / "opened"
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    opener.chmod(0o755)
    with bs.browse("--dsn", dsn, options=("--open",), env={"BROWSER": str(opener)}) as b:
        b.said("Ctrl-C stops it")
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == b.url
        port = int(b.url.rsplit(":", 1)[1].strip("/"))
        assert b.get("/api/status")[0] == 200
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.2", port), timeout=5):
            pass


@pytest.mark.slow
@pytest.mark.server("embedded")
def test_the_embedded_default(tmp_path: Path, songs_dir: Path) -> None:
    """No DSN at all: the page starts the embedded server, reads as midi_reader, writes as midi_writer."""
    home = tmp_path / "home"
    env = {"MIDICENTER_HOME": str(home)}
    try:
        imp = subprocess.run([sys.executable, "-m", "runner.cli", "import", str(songs_dir / "gen"), "--json"],
                             cwd=bs.REPO, env=bs.cli_env(env), capture_output=True, text=True, timeout=300,
                             stdin=subprocess.DEVNULL)
        assert imp.returncode == 0, imp.stderr
        seen = json.loads(imp.stdout)["files_new"]
        with bs.browse(env=env) as b:
            said = b.said("midicenter browse: database embedded server in")
            assert f"embedded server in {home / 'pgdata'}" in said and "reads as midi_reader" in said
            _, status, _ = b.get("/api/status")
            assert (status["read_role"], status["write_role"]) == ("midi_reader", "midi_writer")
            _, count, _ = b.post("/api/count", {})
            assert count == {"files": seen, "exact": True}
            _, page, _ = b.post("/api/search", {"lim": 1})
            hit = page["results"][0]
            assert b.get(f"/api/files/{hit['id']}/midi")[1] == Path(hit["filepath"]).read_bytes()
            assert b.post(f"/api/files/{hit['id']}/favorite", {})[1] == {"favorite": True}
    finally:
        connect.EmbeddedServer(home).stop()


@pytest.mark.slow
def test_the_wheel_ships_everything_the_page_loads(tmp_path: Path) -> None:
    """Every file the page references (index.html's links, each module's imports) is in the wheel, with the
    browse queries: no network, no build step at run time."""
    import re

    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(bs.REPO)],
                   check=True, capture_output=True, timeout=300)
    names = set(zipfile.ZipFile(next(dist.glob("midicenter-*.whl"))).namelist())
    assert "runner/browse/queries.sql" in names and "runner/browse/static/index.html" in names
    static = server.STATIC
    wanted = set(re.findall(r'"/static/([^"]+)"', (static / "index.html").read_text()))
    for js in static.glob("*.js"):
        wanted |= set(re.findall(r'from "\./([^"]+)"', js.read_text()))
    assert {"app.js", "browse.css", "smf.js", "roll.js", "synth.js"} <= wanted
    assert {f"runner/browse/static/{w}" for w in wanted} <= names
    for path in static.iterdir():  # nothing fetched from elsewhere: no absolute URL in any asset
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", path.read_text()), path.name
