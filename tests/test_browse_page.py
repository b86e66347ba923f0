"""The browse page driven like a user in headless Chromium (Debian's, through Selenium): search, a ticked
facet, the second page by scrolling, a file's details and piano roll (as many note shapes as mido counts in
the file), playback with the keyboard, favorites and ratings, dragging a file out, and the page's clear
messages when the database has no schema or cannot be reached.

The screenshot of the README (docs/browse.png) is the one this test takes; MIDICENTER_UPDATE_SCREENSHOT=1
(or `make screenshot`) writes it there, every other run keeps it in the test's temp folder.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from runner import schema
from runner.browse import server
from tests import browse_support as bs

pytestmark = pytest.mark.slow
SCREENSHOT = bs.REPO / "docs" / "browse.png"


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    why = bs.chromium_missing()
    if why:
        pytest.fail(why)  # make test installs them: missing is a failure, not a skip


def wait(what: str, check: Callable[[], object], timeout: float = 20) -> object:
    """Poll until check() is truthy (its value is returned); fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - a page still changing
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def sql_page(dsn: str, given: dict, after: str | None = None) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT id, cursor FROM midi.search(lim => 50, after => %s, filters => %s)",
                            [after, json.dumps(given)]).fetchall()


def shown_ids(d) -> list[int]:
    return d.execute_script("return [...document.querySelectorAll('#list .row')].map(r => Number(r.dataset.id))")


def facet_rows(dsn: str, given: dict) -> set[tuple[str, str, str]]:
    """midi.facets under the filters, as the page prints them (facet, value, count)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT facet, value, files, exact FROM midi.facets(facet_limit => 12, filters => %s)",
                            [json.dumps(given)]).fetchall()
    return {(f, v, f"{'' if exact else '≈'}{n:,}") for f, v, n, exact in rows}


def shown_facets(d) -> set[tuple[str, str, str]]:
    return {tuple(x) for x in d.execute_script(
        "return [...document.querySelectorAll('fieldset.facet label')].map(l => [l.closest('fieldset').dataset.facet,"
        " l.querySelector('input').value, l.querySelector('.n').textContent])")}


def png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and number of distinct pixel rows of a PNG (a blank page has one)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, depth, ctype = 8, b"", 0, 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * {2: 3, 6: 4}[ctype] * depth // 8
    rows = {raw[i * stride + 1:(i + 1) * stride] for i in range(height)}
    return width, height, len(rows)


def test_the_page_as_a_user(dsn: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    bs.fill(dsn, bs.demo_library(), bs.real_songs(tmp_path / "songs"))
    with bs.browse("--dsn", dsn) as b, bs.chromium(tmp_path) as d:
        d.get(b.url)
        wait("the page to start", lambda: d.execute_script("return document.body.dataset.state") == "ready")
        wait("the first page of every file", lambda: len(shown_ids(d)) == 50)
        assert "reads as midi_reader" in d.find_element(By.ID, "database").text

        # a query in the web-search syntax: the list is midi.search's first page, the count midi.search_count's
        d.find_element(By.ID, "q").send_keys("bass -trap")
        given = {"q": "bass -trap"}
        first = sql_page(dsn, given)
        wait("the query's results", lambda: shown_ids(d) == [r[0] for r in first])
        with psycopg.connect(dsn) as conn:
            files, exact = conn.execute("SELECT * FROM midi.search_count(filters => %s)", [json.dumps(given)]).fetchone()
        wait("the count", lambda: d.find_element(By.ID, "count").text == f"{'' if exact else '≈ '}{files:,} files")

        # tick a facet: the list narrows (AND across facets), the category facet keeps its other values (OR within)
        box = d.find_element(By.CSS_SELECTOR, 'fieldset[data-facet="category"] input[value="bass"]')
        box.click()
        given = {"q": "bass -trap", "categories": ["bass"]}
        first = sql_page(dsn, given)
        assert len(first) == 50, "the test library must fill two pages for this query and facet"
        wait("the faceted results", lambda: shown_ids(d) == [r[0] for r in first])

        wait("the facet counts under the new filters", lambda: shown_facets(d) == facet_rows(dsn, given))
        assert sum(f == "category" for f, _, _ in facet_rows(dsn, given)) > 1, "ticking bass keeps other categories"

        # scroll to the end of the list: the second page comes by the first page's last cursor (keyset)
        second = sql_page(dsn, given, first[-1][1])
        d.execute_script("const l = document.getElementById('list'); l.scrollTop = l.scrollHeight;")
        wait("the second page", lambda: d.find_element(By.ID, "list").get_attribute("data-pages") == "2")
        wait("both pages listed", lambda: shown_ids(d) == [r[0] for r in first + second])

        # open a file: its details, every path, and one note shape per note of the file
        rows = d.find_elements(By.CSS_SELECTOR, "#list .row")
        rows[2].click()
        file_id = first[2][0]
        wait("the file's details", lambda: d.find_element(By.ID, "details").get_attribute("data-loaded") == "true"
             and d.find_element(By.ID, "details").get_attribute("data-file") == str(file_id))
        with psycopg.connect(dsn) as conn:
            details = conn.execute("SELECT filename, filepath, paths FROM midi.file_details(%s)", [file_id]).fetchone()
        assert d.find_element(By.ID, "d-name").text == details[0]
        assert [li.text for li in d.find_elements(By.CSS_SELECTOR, "#paths li")] == details[2]
        shapes = len(d.find_elements(By.CSS_SELECTOR, "#roll .note"))
        assert shapes == bs.mido_notes(details[1]) > 0

        # the keyboard: down moves to the next file, Space plays it through an AudioContext, Space stops
        d.find_element(By.ID, "list").send_keys(Keys.ARROW_DOWN)
        file_id = first[3][0]
        wait("the next file", lambda: d.find_element(By.ID, "details").get_attribute("data-file") == str(file_id)
             and d.find_element(By.ID, "details").get_attribute("data-loaded") == "true")
        d.find_element(By.ID, "list").send_keys(" ")
        wait("playback", lambda: d.execute_script("return document.body.dataset.playing") == "true")
        audio = wait("the audio clock to run", lambda: d.execute_script(
            "const p = window.midicenterBrowse.player;"
            " return p.context.state === 'running' && p.context.currentTime > 0.3 && p.voicesStarted > 0"
            " && [p.context.state, p.context.currentTime, p.voicesStarted]"))
        assert audio[0] == "running"
        assert d.find_element(By.ID, "play").get_attribute("aria-pressed") == "true"
        shot = tmp_path / "browse.png"
        d.execute_script("document.getElementById('filters').scrollTop = 0")  # the picture shows the panel's top
        d.save_screenshot(str(shot))
        viewport = tuple(d.execute_script("return [window.innerWidth, window.innerHeight]"))
        d.find_element(By.ID, "list").send_keys(" ")
        wait("playback to stop", lambda: d.execute_script("return document.body.dataset.playing") == "false")

        # favorite and rating from the keyboard, written by midi_writer
        d.find_element(By.ID, "list").send_keys("f")
        row = d.find_element(By.ID, f"file-{file_id}")
        wait("the favorite star", lambda: "on" in row.find_element(By.CSS_SELECTOR, ".c-fav").get_attribute("class"))
        d.find_element(By.ID, "list").send_keys("4")
        wait("four stars", lambda: d.find_element(By.ID, "stars").get_attribute("data-rating") == "4")
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT EXISTS (SELECT 1 FROM midi.favorites WHERE file_id = %s)", [file_id]).fetchone()[0]
            assert conn.execute("SELECT rating FROM midi.ratings WHERE file_id = %s", [file_id]).fetchone()[0] == 4
        d.find_element(By.ID, "list").send_keys("f")
        d.find_element(By.ID, "list").send_keys("0")
        wait("the rating cleared", lambda: d.find_element(By.ID, "stars").get_attribute("data-rating") == "0")
        wait("the favorite cleared", lambda: "on" not in row.find_element(By.CSS_SELECTOR, ".c-fav").get_attribute("class"))

        # dragging a row out hands the file over by DownloadURL (Chromium); the URL serves the file's bytes
        drag = d.execute_script(
            "const li = document.getElementById(arguments[0]); const dt = new DataTransfer();"
            " li.dispatchEvent(new DragEvent('dragstart', {dataTransfer: dt, bubbles: true}));"
            " return [dt.getData('DownloadURL'), dt.getData('text/uri-list'), dt.getData('text/plain')];", f"file-{file_id}")
        with psycopg.connect(dsn) as conn:
            name, path = conn.execute("SELECT filename, filepath FROM midi.file_details(%s)", [file_id]).fetchone()
        url = f"{b.url}api/files/{file_id}/midi"
        assert drag == [f"audio/midi:{name.replace(':', '_')}:{url}", url, path]
        status, body, headers = bs.request(url)
        assert status == 200 and body == Path(path).read_bytes() and headers["Content-Type"] == "audio/midi"

        # a second value of the same facet widens the list (OR within a facet), as midi.facets counted it
        given = {"q": "bass -trap", "categories": ["bass"]}
        other = sorted((v for f, v, _ in facet_rows(dsn, given) if f == "category" and v != "bass"))[0]
        d.find_element(By.CSS_SELECTOR, f'fieldset[data-facet="category"] input[value="{other}"]').click()
        given["categories"] = ["bass", other]
        wait(f"bass or {other}", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        with psycopg.connect(dsn) as conn:
            count = {tuple(c): conn.execute("SELECT files FROM midi.search_count(filters => %s)",
                                            [json.dumps({"q": "bass -trap", "categories": list(c)})]).fetchone()[0]
                     for c in (["bass"], [other], ["bass", other])}
        assert count[("bass", other)] == count[("bass",)] + count[(other,)] > count[("bass",)]
        wait("the widened count", lambda: d.find_element(By.ID, "count").text.endswith(f"{count[('bass', other)]:,} files"))

        # the tempo range, half/double tempo, compatible keys, a BPM bucket and the sort are midi.search's filters
        from selenium.webdriver.support.select import Select

        d.find_element(By.ID, "clear").click()
        wait("the cleared list", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, {})])
        d.find_element(By.ID, "bpm-min").send_keys("120", Keys.TAB)
        d.find_element(By.ID, "bpm-max").send_keys("130", Keys.TAB)
        given = {"bpm_min": 120, "bpm_max": 130}
        wait("the tempo range", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        d.find_element(By.ID, "halfdouble").click()
        given["bpm_halfdouble"] = True
        wait("half and double tempo", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        Select(d.find_element(By.ID, "compatible")).select_by_value("Am")
        given["compatible_key"] = "Am"
        wait("keys that mix with Am", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        Select(d.find_element(By.ID, "sort")).select_by_value("bpm")
        with psycopg.connect(dsn) as conn:
            by_bpm = [r[0] for r in conn.execute("SELECT id FROM midi.search(sort => 'bpm', lim => 50, filters => %s)",
                                                 [json.dumps(given)])]
        wait("the list by tempo", lambda: shown_ids(d) == by_bpm)
        Select(d.find_element(By.ID, "sort")).select_by_value("")
        d.find_element(By.ID, "halfdouble").click()
        del given["bpm_halfdouble"]
        wait("the list without half/double tempo", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        wait("the facets of the new filters", lambda: shown_facets(d) == facet_rows(dsn, given))

        # a BPM bucket of midi.facets is a tempo range: a click sets the range to it, shift-click widens it
        for field in ("bpm-min", "bpm-max"):
            d.find_element(By.ID, field).clear()
            d.find_element(By.ID, field).send_keys(Keys.TAB)
        given = {"compatible_key": "Am"}
        wait("the facets without a tempo range", lambda: shown_facets(d) == facet_rows(dsn, given))
        buckets = sorted(int(v) for f, v, _ in facet_rows(dsn, given) if f == "bpm")
        assert len(buckets) >= 2, buckets
        low, high = buckets[0], buckets[-1]
        d.find_element(By.CSS_SELECTOR, f'fieldset[data-facet="bpm"] input[value="{high}"]').click()
        given |= {"bpm_min": high, "bpm_max": high + 9.99}
        wait(f"the {high} BPM bucket as the range", lambda: d.find_element(By.ID, "bpm-max").get_attribute("value")
             == str(high + 9.99) and shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        wait("the bucket ticked", lambda: d.find_element(
            By.CSS_SELECTOR, f'fieldset[data-facet="bpm"] input[value="{high}"]').is_selected())
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(d).key_down(Keys.SHIFT).click(d.find_element(
            By.CSS_SELECTOR, f'fieldset[data-facet="bpm"] input[value="{low}"]')).key_up(Keys.SHIFT).perform()
        given |= {"bpm_min": low}
        wait(f"the range widened to {low}", lambda: d.find_element(By.ID, "bpm-min").get_attribute("value") == str(low)
             and shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
        with psycopg.connect(dsn) as conn:
            files, exact = conn.execute("SELECT * FROM midi.search_count(filters => %s)", [json.dumps(given)]).fetchone()
        wait("the widened count", lambda: d.find_element(By.ID, "count").text == f"{'' if exact else '≈ '}{files:,} files")

        # real songs (several tracks, drums on their own lane): as many shapes as mido counts, drums apart
        d.find_element(By.ID, "clear").click()
        with psycopg.connect(dsn) as conn:
            songs = conn.execute("SELECT id, filename, filepath FROM midi.files WHERE filename LIKE 'song\\_%%'"
                                 " ORDER BY id").fetchall()
        assert len(songs) >= 3
        for song_id, filename, filepath in songs:
            q = d.find_element(By.ID, "q")
            q.clear()
            q.send_keys(f'"{Path(filename).stem.replace("_", " ")}"')
            wait(f"{filename} listed", lambda sid=song_id: sid in shown_ids(d))
            d.find_element(By.ID, f"file-{song_id}").click()
            wait(f"{filename} drawn", lambda sid=song_id: d.find_element(By.ID, "details").get_attribute("data-file")
                 == str(sid) and d.find_element(By.ID, "details").get_attribute("data-loaded") == "true")
            mid = bs.mido_notes(filepath)
            drums = sum(1 for t in __import__("mido").MidiFile(filepath).tracks for m in t
                        if m.type == "note_on" and m.velocity > 0 and m.channel == 9)
            assert len(d.find_elements(By.CSS_SELECTOR, "#roll .note")) == mid, filename
            assert len(d.find_elements(By.CSS_SELECTOR, "#roll .drums .note")) == drums, filename

        # collect: the button is there exactly when `midicenter export` is; it exports the current result list
        has_export = server.export_module() is not None
        assert d.execute_script("return document.getElementById('collect-bar').hidden") is (not has_export)
        if has_export:
            q = d.find_element(By.ID, "q")
            q.clear()
            q.send_keys("bass -trap")
            given = {"q": "bass -trap"}
            wait("the query's results", lambda: shown_ids(d) == [r[0] for r in sql_page(dsn, given)])
            with psycopg.connect(dsn) as conn:
                files, exact = conn.execute("SELECT * FROM midi.search_count(filters => %s)",
                                            [json.dumps(given)]).fetchone()
            assert exact and files > 50
            d.find_element(By.ID, "collect").click()
            d.find_element(By.CSS_SELECTOR, '#collect-form input[name="to"]').send_keys(str(tmp_path / "collected"))
            d.find_element(By.ID, "collect-go").click()
            wait("the collected files", lambda: d.find_element(By.ID, "collect-result").get_attribute("data-files")
                 == str(files), timeout=60)
            assert len([p for p in (tmp_path / "collected").iterdir() if p.suffix.lower() == ".mid"]) == files
            d.find_element(By.ID, "collect-cancel").click()

        # nothing came from anywhere but this server, and the console stayed clean
        origins = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert origins and all(u.startswith(b.url) for u in origins), origins
        errors = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors

    width, height, distinct_rows = png_facts(shot.read_bytes())
    assert (width, height) == viewport and width >= 1200 and distinct_rows > 100, (width, height, viewport, distinct_rows)
    if os.environ.get("MIDICENTER_UPDATE_SCREENSHOT"):
        SCREENSHOT.write_bytes(shot.read_bytes())


def banner(d) -> tuple[str, str, str]:
    from selenium.webdriver.common.by import By

    wait("the page's message", lambda: not d.find_element(By.ID, "banner").get_attribute("hidden"))
    return (d.find_element(By.ID, "banner").get_attribute("data-kind"), d.find_element(By.ID, "banner-title").text,
            d.find_element(By.ID, "banner-text").text)


def test_a_database_without_the_schema_is_said_and_the_page_recovers(server_dsn, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    dsn = server_dsn()
    with bs.browse("--dsn", dsn) as b, bs.chromium(tmp_path) as d:
        b.said("has no midicenter schema yet; run: midicenter db migrate")
        d.get(b.url)
        kind, title, text = banner(d)
        assert kind == "schema" and title == "The database has no midicenter schema."
        assert "has no midicenter schema yet; run: midicenter db migrate" in text
        assert "--dsn" in text  # where: the DSN's source and parameters
        schema.migrate(dsn)  # the owner runs the migration: the page notices by itself
        wait("the page to recover", lambda: d.find_element(By.ID, "banner").get_attribute("hidden"), timeout=30)
        wait("an empty library", lambda: d.find_element(By.ID, "list-end").text == "no file matches")
        assert [e for e in d.get_log("browser") if "api/" not in e["message"] and e["level"] == "SEVERE"] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_database_server_is_said_in_the_terminal_and_on_the_page(tmp_path: Path) -> None:
    dead = f"host=127.0.0.1 port={free_port()} dbname=midi user=nobody connect_timeout=3"
    with bs.browse("--dsn", dead) as b, bs.chromium(tmp_path) as d:
        b.said("cannot connect to --dsn")
        b.said("serving anyway")
        d.get(b.url)
        kind, title, text = banner(d)
        assert kind == "connection" and title == "The database cannot be reached."
        assert text.startswith("cannot connect to --dsn") and "check the server is running" in text


def test_a_login_that_may_only_read_gets_no_toggles(dsn: str, tmp_path: Path) -> None:
    """Favorite and rating are hidden for a login that may only read, and its keys write nothing."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    bs.fill(dsn, bs.real_songs(tmp_path / "songs", n=3))
    login = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE midi_reader")
    try:
        with bs.browse("--dsn", conninfo.make_conninfo(dsn, user=login)) as b, bs.chromium(tmp_path) as d:
            d.get(b.url)
            wait("the page to start", lambda: d.execute_script("return document.body.dataset.state") == "ready")
            wait("the songs listed", lambda: len(shown_ids(d)) == 3)
            assert "read-only" in d.find_element(By.ID, "database").text
            first = d.find_elements(By.CSS_SELECTOR, "#list .row")[0]
            first.click()
            wait("the details", lambda: d.find_element(By.ID, "details").get_attribute("data-loaded") == "true")
            star = first.find_element(By.CSS_SELECTOR, ".c-fav")
            assert star.text == "" and "toggle" not in star.get_attribute("class")  # no favorite yet, no toggle
            d.execute_script("arguments[0].click()", star)  # an empty cell: clicked by script
            assert not d.find_element(By.ID, "stars").is_displayed()
            d.find_element(By.ID, "list").send_keys("f", "4")
            d.find_element(By.ID, "list").send_keys(Keys.ARROW_DOWN)  # a later key is handled: the earlier were
            wait("the next song", lambda: d.find_element(By.ID, "details").get_attribute("data-file")
                 == str(shown_ids(d)[1]))
            sent = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            assert not [u for u in sent if u.endswith(("/favorite", "/rating"))], sent
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT (SELECT count(*) FROM midi.favorites) + (SELECT count(*) FROM midi.ratings)"
                                    ).fetchone()[0] == 0
            assert [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {login}")
