"""Import end to end against a real PostgreSQL: every file accounted for, re-import is a no-op, a run killed
with SIGKILL and run again ends identical, concurrent imports never duplicate, bad input gets clear rows."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psycopg
import pytest

from runner import importer, midifile, scan
from runner.bench import library
from tests import corpus

MIDI_SUFFIXES = {".mid", ".midi", ".kar", ".rmi"}


@pytest.fixture(scope="session")
def real() -> Path:
    return corpus.real_corpus()


@pytest.fixture(scope="session")
def generated() -> Path:
    """A 12,000-file generated sample-pack library, built once and cached between runs."""
    return library.generate(corpus.default_cache_dir() / "libs", 12_000, seed=3)


def good_bytes(real: Path) -> bytes:
    return next(p for p in sorted(real.rglob("*.mid")) if p.stat().st_size > 2000).read_bytes()


def midi_named_on_disk(root: Path) -> int:
    """Every MIDI-named file under root, counted independently of the scanner (zip members included)."""
    n = 0
    for dirpath, _dirs, files in os.walk(os.fsencode(root)):
        for f in files:
            name = os.fsdecode(f)
            suffix = Path(name).suffix.lower()
            if suffix in MIDI_SUFFIXES:
                n += 1
            elif suffix == ".zip":
                try:
                    with zipfile.ZipFile(os.fsdecode(os.path.join(dirpath, f))) as z:
                        n += sum(Path(i).suffix.lower() in MIDI_SUFFIXES for i in z.namelist())
                except zipfile.BadZipFile:
                    n += 1  # the archive itself becomes one error row
    return n


def snapshot(dsn: str) -> dict[str, list]:
    """The catalog state that must not change between equivalent runs (no timestamps, no batch ids)."""
    with psycopg.connect(dsn) as conn:
        return {
            "files": conn.execute(
                "SELECT content_hash, filename, filepath, file_size_bytes, format, num_tracks, ticks_per_quarter_note,"
                " manufacturer, collection_name, folder_tags, filename_bpm, filename_key::text, midi_warnings,"
                " search_vector::text FROM midi.files ORDER BY content_hash").fetchall(),
            "paths": conn.execute(
                "SELECT p.path, p.path_bytes, f.content_hash, p.missing_since IS NULL FROM midi.file_paths p"
                " JOIN midi.files f ON f.id = p.file_id ORDER BY p.path, p.path_bytes").fetchall(),
            "errors": conn.execute(
                "SELECT path, path_bytes, error_class, message FROM midi.import_errors ORDER BY path, path_bytes").fetchall(),
        }


def counts(dsn: str) -> tuple[int, int, int]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM midi.files), (SELECT count(*) FROM midi.file_paths),"
                            " (SELECT count(*) FROM midi.import_errors)").fetchone()


@pytest.fixture
def messy_tree(tmp_path: Path, real: Path) -> Path:
    """Real files, their corrupt variants, archives good and bad, odd names, and non-MIDI files."""
    root = tmp_path / "lib"
    good = good_bytes(real)
    shutil.copytree(real, root / "Debian" / "Real")
    bad = root / "Vendor" / "Broken"
    bad.mkdir(parents=True)
    for kind in corpus.CORRUPT_KINDS:
        (bad / f"{kind}.mid").write_bytes(corpus.make_corrupt(good, kind))
    corpus.write_bad_archives(root / "Vendor" / "Archives", good)
    with zipfile.ZipFile(root / "Vendor" / "Archives" / "good.zip", "w") as z:
        z.writestr("Inner/Loop_120bpm_Am.mid", good)
        z.writestr("Inner/readme.txt", "not midi")
    odd = root / "Vendor" / "Odd Names"
    odd.mkdir()
    for name in ["with space.mid", "quote'and\"dq.mid", "tab\there.mid", "new\nline.mid", "back\\slash.MID",
                 "ünïcödé.midi", "ok.KAR"]:
        (odd / name).write_bytes(good + name.encode())  # distinct contents
    os.makedirs(os.fsencode(odd) + b"/latin1-\xe9", exist_ok=True)
    with open(os.fsencode(odd) + b"/latin1-\xe9/caf\xe9.mid", "wb") as f:
        f.write(good + b"latin1")
    (root / "Vendor" / "dangling.mid").symlink_to(root / "Vendor" / "deleted-before-read.mid")
    (root / "Vendor" / "audio.wav").write_bytes(b"RIFF....WAVE")
    (root / "Vendor" / "notes.txt").write_text("hello")
    return root


def test_every_file_is_accounted_for(dsn: str, messy_tree: Path) -> None:
    result = importer.run_import(dsn, [messy_tree])
    on_disk = midi_named_on_disk(messy_tree)
    files, paths, errors = counts(dsn)
    assert paths + errors == on_disk, (paths, errors, on_disk)
    assert result.files_seen == on_disk and result.errors == errors
    assert result.files_new + result.duplicates + result.errors == result.files_seen
    assert result.other_files >= 2  # audio.wav, notes.txt (and readme.txt inside the zip is not a file on disk)
    with psycopg.connect(dsn) as conn:
        classes = dict(conn.execute(
            "SELECT substring(path FROM '[^/!]*$'), error_class FROM midi.import_errors").fetchall())
        batch = conn.execute("SELECT status, files_seen, errors, other_files FROM midi.import_batches").fetchone()
    assert classes["zero_byte.mid"] == "empty"
    assert classes["garbage.mid"] == "not_midi"
    assert classes["flipped_header.mid"] in ("not_midi", "bad_header", "truncated_header")
    assert any(c == "archive_bomb" for c in classes.values()), classes
    assert any(c == "bad_archive" for c in classes.values()), classes
    assert classes["dangling.mid"] in ("vanished", "unreadable")  # a file gone between scan and read
    assert batch == ("done", on_disk, errors, result.other_files)


def test_structural_problems_are_warnings_not_rejections(dsn: str, messy_tree: Path) -> None:
    importer.run_import(dsn, [messy_tree])
    with psycopg.connect(dsn) as conn:
        warned = dict(conn.execute(
            "SELECT p.path, f.midi_warnings FROM midi.file_paths p JOIN midi.files f ON f.id = p.file_id"
            " WHERE p.path LIKE '%/Broken/%'").fetchall())
    names = {Path(p).name: w for p, w in warned.items()}
    assert "trailing_garbage" in names["trailing_garbage.mid"]
    assert "truncated_track" in names["truncated_track.mid"]
    assert names["riff_wrapped.mid"] == []  # RIFF-wrapped is a valid file: no warning at all
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT is_rmid FROM midi.files f JOIN midi.file_paths p ON p.file_id = f.id"
                            " WHERE p.path LIKE '%/riff_wrapped.mid'").fetchone()[0] is True


def test_odd_names_round_trip_exactly(dsn: str, messy_tree: Path) -> None:
    importer.run_import(dsn, [messy_tree])
    odd = messy_tree / "Vendor" / "Odd Names"
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT path, path_bytes FROM midi.file_paths WHERE path LIKE %s",
                              [str(odd) + "/%"]).fetchall()
    by_path = {p: b for p, b in stored}
    for name in ["with space.mid", "quote'and\"dq.mid", "tab\there.mid", "new\nline.mid", "back\\slash.MID",
                 "ünïcödé.midi", "ok.KAR"]:
        assert str(odd / name) in by_path and by_path[str(odd / name)] is None, name
    raw = [b for b in by_path.values() if b is not None]
    assert raw == [os.fsencode(odd) + b"/latin1-\xe9/caf\xe9.mid"], raw
    assert os.path.exists(raw[0])  # the stored bytes name the real file
    with psycopg.connect(dsn) as conn:
        zipped = conn.execute("SELECT count(*) FROM midi.file_paths WHERE path LIKE %s",
                              [str(messy_tree / "Vendor" / "Archives" / "good.zip") + "!Inner/%"]).fetchone()[0]
    assert zipped == 1


def test_reimport_changes_nothing_but_timestamps(dsn: str, messy_tree: Path) -> None:
    importer.run_import(dsn, [messy_tree])
    before = snapshot(dsn)
    again = importer.run_import(dsn, [messy_tree])
    assert again.files_new == 0
    assert snapshot(dsn) == before


def test_moved_file_and_prune(dsn: str, tmp_path: Path, real: Path) -> None:
    root = tmp_path / "lib"
    (root / "A" / "B").mkdir(parents=True)
    (root / "A" / "B" / "x.mid").write_bytes(good_bytes(real))
    importer.run_import(dsn, [root])
    (root / "A" / "C").mkdir()
    (root / "A" / "B" / "x.mid").rename(root / "A" / "C" / "moved.mid")
    importer.run_import(dsn, [root], prune=True)
    with psycopg.connect(dsn) as conn:
        rows = dict(conn.execute("SELECT path, missing_since IS NOT NULL FROM midi.file_paths").fetchall())
        filepath, filename = conn.execute("SELECT filepath, filename FROM midi.files").fetchone()
    assert rows == {str(root / "A" / "B" / "x.mid"): True, str(root / "A" / "C" / "moved.mid"): False}
    assert (filepath, filename) == (str(root / "A" / "C" / "moved.mid"), "moved.mid")


def run_cli(dsn: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner.cli", "--dsn", dsn, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_json_summary_and_exit_code(dsn: str, messy_tree: Path) -> None:
    proc = run_cli(dsn, "import", "--json", str(messy_tree))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err  # rejected files do not fail the run
    data = json.loads(out)
    assert set(data) >= {"batch_id", "files_seen", "files_new", "duplicates", "errors", "seconds", "files_per_second"}
    assert data["errors"] > 0 and err == ""  # no progress bar when stderr is not a terminal


def test_cli_missing_path_is_a_usage_error(dsn: str, tmp_path: Path) -> None:
    proc = run_cli(dsn, "import", str(tmp_path / "nope"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "does not exist" in err


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_matches_uninterrupted(dsn: str, server_dsn, generated: Path) -> None:
    from runner import schema

    reference = server_dsn()
    schema.migrate(reference)
    importer.run_import(reference, [generated])

    proc = run_cli(dsn, "import", str(generated))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until some chunks are committed, then kill mid-way
        if counts(dsn)[1] >= 2000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    partial = counts(dsn)[1]
    assert 0 < partial < counts(reference)[1], "the kill must land mid-run"

    importer.run_import(dsn, [generated])
    assert snapshot(dsn) == snapshot(reference)


@pytest.mark.slow
def test_two_overlapping_imports_at_once_never_duplicate(dsn: str, generated: Path) -> None:
    inner = sorted(p for p in generated.iterdir() if p.is_dir())[0]
    a = run_cli(dsn, "import", "--json", str(generated))
    b = run_cli(dsn, "import", "--json", str(inner))
    out_a, err_a = a.communicate(timeout=300)
    out_b, err_b = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    with psycopg.connect(dsn) as conn:
        dup_paths = conn.execute("SELECT count(*) FROM (SELECT path FROM midi.file_paths GROUP BY path, path_bytes"
                                 " HAVING count(*) > 1) d").fetchone()[0]
        dup_hashes = conn.execute("SELECT count(*) - count(DISTINCT content_hash) FROM midi.files").fetchone()[0]
        orphans = conn.execute("SELECT count(*) FROM midi.files f WHERE NOT EXISTS"
                               " (SELECT 1 FROM midi.file_paths p WHERE p.file_id = f.id)").fetchone()[0]
    assert (dup_paths, dup_hashes, orphans) == (0, 0, 0)
    files, paths, errors = counts(dsn)
    assert paths + errors == midi_named_on_disk(generated)
    distinct = len({t.duplicate_of or t.path for t in library.truth(generated) if t.kind == "midi"})
    assert files == distinct


def test_progress_bar_on_a_terminal(dsn: str, messy_tree: Path) -> None:
    """With stderr on a terminal the import draws files, files/s and errors; data stays on stdout."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", "--json", str(messy_tree)],
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    out, _ = proc.communicate(timeout=300)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.returncode == 0
    assert json.loads(out)["files_seen"] > 0
    text = drawn.decode()
    assert "import:" in text and "files/s" in text and "errors" in text, text


def test_unmigrated_database_gets_a_clear_error(server_dsn, messy_tree: Path) -> None:
    proc = run_cli(server_dsn(), "import", str(messy_tree))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().endswith("has no midicenter schema yet; run: midicenter db migrate"), err


def test_import_refreshes_the_library_views(dsn: str, messy_tree: Path) -> None:
    result = importer.run_import(dsn, [messy_tree])
    with psycopg.connect(dsn) as conn:
        files = conn.execute("SELECT files FROM midi.library_stats").fetchone()[0]
    assert files == result.files_new > 0


def test_merge_sessions_own_disjoint_contents(generated: Path) -> None:
    """Rows are routed to merge sessions by content hash: every path of one content goes to the same
    session (so two sessions of one import never insert the same files row or wait for each other),
    rejected files go to the first, and chunk numbers are unique across sessions."""
    inboxes = [queue.Queue(), queue.Queue()]
    writer = importer._ChunkWriter(7, inboxes, rows_per_chunk=500)
    rows = 0
    for item in scan.iter_candidates([generated], stats=scan.ScanStats()):
        data = item.read()
        writer.ok(item, data, midifile.inspect(data))
        rows += 1
        if rows == 3000:
            break
    writer.error(item, "not_midi", "a rejected file")
    writer.flush()
    session_of: dict[str, int] = {}
    chunks, staged, rejected_in = [], 0, []
    for i, inbox in enumerate(inboxes):
        while not inbox.empty():
            chunk, nrows, body = inbox.get()
            chunks.append(chunk)
            lines = body.decode().splitlines()
            assert len(lines) == nrows
            for line in lines:
                cols = line.split("\t")
                assert cols[:2] == ["7", str(chunk)]
                if cols[16] == "not_midi":
                    rejected_in.append(i)
                    continue
                assert session_of.setdefault(cols[6], i) == i, "one content reached two sessions"
                staged += 1
    assert staged == rows and rejected_in == [0]
    assert sorted(chunks) == list(range(1, len(chunks) + 1))
    assert set(session_of.values()) == {0, 1}  # both sessions get work
    duplicated = sum(t.duplicate_of is not None for t in library.truth(generated) if t.kind == "midi")
    assert duplicated > 0 and len(session_of) < rows  # the sample holds duplicates, so the routing was exercised
