"""Analysis end to end against a real PostgreSQL and real files: every claimed file ends analyzed or in
analysis_errors, a worker killed mid-run loses nothing, two analyze processes at once analyze each file
exactly once, hand-checked real songs land in the database with the right facts, corrupt files get stable
error classes while the run goes on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from runner import analyzer, importer, workers
from runner.bench import library
from runner.features import FACT_COLUMNS
from tests import corpus

KILL_MARK = "KILLME"
ABORT_MARK = "ABORTME"


def killing_reader(path: str, path_bytes: bytes | None = None) -> bytes:
    """Worker-side reader for tests: SIGKILLs or aborts its own worker on marked files, else reads."""
    if KILL_MARK in path:
        os.kill(os.getpid(), signal.SIGKILL)
    if ABORT_MARK in path:
        os.abort()
    return analyzer.read_any(path, path_bytes)


@pytest.fixture(scope="session")
def real() -> Path:
    try:
        return corpus.real_corpus()
    except corpus.CorpusError as exc:  # a missing corpus is a failure, never a silent skip
        pytest.fail(f"no real MIDI corpus: {exc}")


@pytest.fixture(scope="session")
def generated() -> Path:
    """The 12,000-file generated library test_import uses (built once, cached)."""
    return library.generate(corpus.default_cache_dir() / "libs", 12_000, seed=3)


def real_files(real: Path) -> list[Path]:
    return sorted(p for p in real.rglob("*") if p.is_file() and p.name != "MANIFEST")


def fetch(dsn: str, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or []).fetchall()


def one(dsn: str, sql: str, params: list | None = None):
    return fetch(dsn, sql, params)[0][0]


def assert_every_file_accounted(dsn: str) -> None:
    """Each file is in exactly one of musical_metadata and analysis_errors, and stamped analyzed unless all
    analysis could say so far is a transient failure (then it waits in analysis_retries)."""
    rows = fetch(dsn, """
        SELECT f.id, f.analyzed_at IS NOT NULL, m.file_id IS NOT NULL, e.file_id IS NOT NULL,
               r.file_id IS NOT NULL AND midi.analysis_transient(e.error_class)
          FROM midi.files f
          LEFT JOIN midi.musical_metadata m ON m.file_id = f.id
          LEFT JOIN midi.analysis_errors e ON e.file_id = f.id
          LEFT JOIN midi.analysis_retries r ON r.file_id = f.id""")
    assert rows
    bad = [r for r in rows if not (r[2] != r[3] and (r[1] or r[4]))]
    assert not bad, bad[:10]


def state(dsn: str) -> dict[str, list]:
    """What an analysis decides, without timestamps."""
    return {
        "files": fetch(dsn, "SELECT id, duration_seconds, duration_ticks, analyzer_version, cached_bpm, cached_key::text,"
                            " cached_category::text, tag_ids, search_vector::text FROM midi.files ORDER BY id"),
        "metadata": fetch(dsn, "SELECT file_id, bpm, bpm_source, key_signature::text, key_source, key_estimate::text,"
                               " total_notes, drum_note_count, polyphony_max, pitch_class_histogram, parser"
                               " FROM midi.musical_metadata ORDER BY file_id"),
        "instruments": fetch(dsn, "SELECT * FROM midi.file_instruments ORDER BY 1, 2, 3"),
        "categories": fetch(dsn, "SELECT file_id, primary_category::text, secondary_category::text, confidence"
                                 " FROM midi.file_categories ORDER BY 1"),
        "tags": fetch(dsn, "SELECT ft.file_id, t.name, ft.source FROM midi.file_tags ft JOIN midi.tags t ON t.id = ft.tag_id"
                           " ORDER BY 1, 2"),
        "errors": fetch(dsn, "SELECT file_id, error_class, message FROM midi.analysis_errors ORDER BY 1"),
    }


def test_staging_table_has_the_fact_columns_in_order(dsn: str) -> None:
    cols = fetch(dsn, """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                          WHERE a.attrelid = 'midi.analysis_staging'::regclass AND a.attnum > 0 AND NOT a.attisdropped
                          ORDER BY a.attnum""")
    assert [c[0] for c in cols] == list(analyzer.STAGING_COLUMNS)
    assert [tuple(c) for c in cols[4:]] == list(FACT_COLUMNS)


def test_every_claimed_file_ends_analyzed_or_in_errors_and_a_rerun_changes_nothing(
    dsn: str, real: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    shutil.copytree(real, lib / "real")
    good = next(p for p in real_files(real) if p.stat().st_size > 2000).read_bytes()
    bad = lib / "bad"
    bad.mkdir()
    for kind in corpus.CORRUPT_KINDS:
        (bad / f"{kind}.mid").write_bytes(corpus.make_corrupt(good, kind))
    importer.run_import(dsn, [lib])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")

    first = analyzer.run_analysis(dsn, workers=2, batch_files=7)
    assert first.analyzed + first.errors == n_files
    assert first.analyzed >= 30
    assert_every_file_accounted(dsn)
    assert one(dsn, "SELECT midi.analysis_pending(%s)", [analyzer.ANALYZER_VERSION]) == 0
    # the search columns were written as midi.sync_files computes them
    assert one(dsn, "SELECT midi.sync_files(array_agg(id)) FROM midi.files") == 0
    before = state(dsn)

    again = analyzer.run_analysis(dsn, workers=2, batch_files=7)
    assert (again.analyzed, again.errors) == (0, 0)
    redo = analyzer.run_analysis(dsn, workers=2, batch_files=7, reanalyze=True)
    assert redo.analyzed + redo.errors == n_files
    assert state(dsn) == before


def test_a_worker_killed_mid_run_loses_nothing(dsn: str, real: Path, tmp_path: Path) -> None:
    files = [p for p in real_files(real) if p.suffix.lower() == ".mid"]
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, p in enumerate(files):
        name = f"{i:03d}_{p.name}"
        if i == 5:
            name = f"{KILL_MARK}_{name}"
        elif i == 20:
            name = f"{ABORT_MARK}_{name}"
        shutil.copyfile(p, lib / name)
    importer.run_import(dsn, [lib])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")

    result = analyzer.run_analysis(dsn, workers=2, batch_files=4, read="tests.test_analyze:killing_reader")
    assert result.worker_crashes == 2
    assert result.analyzed + result.errors == n_files
    assert_every_file_accounted(dsn)
    crashed = fetch(dsn, """SELECT f.filename, e.error_class, r.attempts FROM midi.analysis_errors e
                             JOIN midi.files f ON f.id = e.file_id JOIN midi.analysis_retries r ON r.file_id = f.id
                             ORDER BY 1""")
    assert [(name.split("_")[0], cls, n) for name, cls, n in crashed] == [
        (ABORT_MARK, "worker_crash", 1), (KILL_MARK, "worker_crash", 1)]
    assert "SIGKILL" in one(dsn, "SELECT message FROM midi.analysis_errors e JOIN midi.files f ON f.id = e.file_id"
                                 " WHERE f.filename LIKE 'KILLME%%'")
    # a crash says nothing about the file: the next run takes both again, and now they analyze
    again = analyzer.run_analysis(dsn, workers=2, batch_files=4)
    assert (again.analyzed, again.errors) == (2, 0)
    assert fetch(dsn, "SELECT count(*) FROM midi.analysis_errors UNION ALL SELECT count(*) FROM midi.analysis_retries") == [
        (0,), (0,)]
    assert one(dsn, "SELECT count(*) FROM midi.musical_metadata") == n_files


def test_two_analyze_processes_at_once_analyze_each_file_exactly_once(dsn: str, generated: Path) -> None:
    importer.run_import(dsn, [generated])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    with psycopg.connect(dsn, autocommit=True) as conn:
        # every write of a file's analysis result, whichever process makes it
        conn.execute("CREATE TABLE public.applied (file_id bigint NOT NULL)")
        conn.execute("""CREATE FUNCTION public.log_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN INSERT INTO public.applied SELECT n.file_id FROM new_rows n; RETURN NULL; END $$""")
        for table in ("musical_metadata", "analysis_errors"):
            for op in ("INSERT", "UPDATE"):
                conn.execute(f"CREATE TRIGGER log_{op.lower()} AFTER {op} ON midi.{table} REFERENCING NEW TABLE AS new_rows"
                             " FOR EACH STATEMENT EXECUTE FUNCTION public.log_applied()")
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--workers", "1", "--batch-size", "150"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    results = [json.loads(out) for out, _ in outs]
    assert all(r["analyzed"] > 0 for r in results), results  # both did part of the work
    assert sum(r["analyzed"] + r["errors"] for r in results) == n_files
    per_file = fetch(dsn, "SELECT count(*), count(DISTINCT file_id) FROM public.applied")[0]
    assert per_file == (n_files, n_files)
    assert_every_file_accounted(dsn)


# Real songs checked by hand (see tests/test_features.py for how): what must land in the database.
# instruments: (channel, program, is_drum, note_count), channel 0-15 as stored (9 is MIDI channel 10).
DINK = "freedink-data/usr/share/games/dink/dink/Sound/"
HAND_CHECKED = {
    "pianobooster/usr/share/doc/pianobooster/courses/BoosterMusic/02-LavendersBlue.mid": dict(
        bpm=90, ts=(3, 4), drums=True, tempo_changes=False,
        instruments=[(3, 0, False, 48), (14, 24, False, 48), (15, 24, False, 32), (9, 0, True, 51)]),
    DINK + "104.mid": dict(
        bpm=70, ts=(3, 4), drums=False, tempo_changes=True,
        instruments=[(1, 0, False, 321), (2, 0, False, 1275), (0, 42, False, 332)]),
    DINK + "105.mid": dict(bpm=96, ts=(4, 4), drums=False, tempo_changes=True, instruments=[(0, 0, False, 1244)]),
    "timidity/usr/share/doc/timidity/examples/test_sample.mid": dict(
        bpm=120, ts=(4, 4), drums=True, tempo_changes=False,
        instruments=[(1, 0, False, 297), (2, 26, False, 177), (0, 33, False, 147), (9, 0, True, 473)]),
    DINK + "13.mid": dict(
        bpm=40, ts=(4, 4), drums=False, tempo_changes=False, key=("D", "signature", "D"),
        instruments=[(0, 16, False, 1038), (1, 17, False, 184), (2, 19, False, 674)]),
    "playmidi/usr/share/doc/playmidi/examples/gmstriving.mid": dict(
        bpm=131, ts=(4, 4), drums=True, tempo_changes=False,
        instruments=[(0, 1, False, 1549), (4, 29, False, 96), (3, 30, False, 62), (6, 35, False, 40), (1, 37, False, 277),
                     (10, 47, False, 387), (11, 50, False, 355), (5, 55, False, 22), (2, 68, False, 47), (7, 96, False, 338),
                     (8, 102, False, 44), (9, 16, True, 1912)]),
    # a lone C major signature is a sequencer default: the key comes from the notes instead. By ear and by
    # count the tune is in A minor: A is the tonic (192 of 356 note-ons, the lowest note of 178 of the 307
    # onsets, the last 12 notes), the third is C (19) not C# (4), the sixth F (4) about as often as F# (3).
    DINK + "1003.mid": dict(bpm=218, ts=(4, 4), drums=False, tempo_changes=False, key=(None, "estimate", "Am")),
}


def test_hand_checked_real_songs_land_in_the_database(dsn: str, real: Path) -> None:
    importer.run_import(dsn, [real])
    analyzer.run_analysis(dsn, workers=2)
    for rel, truth in HAND_CHECKED.items():
        path = str(real / rel)
        row = fetch(dsn, """
            SELECT f.id, m.bpm, m.bpm_source, m.time_signature_numerator, m.time_signature_denominator, m.is_percussive,
                   m.has_tempo_changes, m.key_from_signature::text, m.key_source, m.key_signature::text, f.duration_seconds
              FROM midi.file_paths p JOIN midi.files f ON f.id = p.file_id JOIN midi.musical_metadata m ON m.file_id = f.id
             WHERE p.path = %s""", [path])
        assert row, rel
        fid, bpm, source, num, den, drums, changes, from_sig, key_source, key, seconds = row[0]
        assert (float(bpm), source) == (truth["bpm"], "meta"), rel
        assert (num, den) == truth["ts"], rel
        assert drums is truth["drums"], rel
        assert changes is truth["tempo_changes"], rel
        assert seconds > 0, rel
        if "key" in truth:
            assert (from_sig, key_source, key) == truth["key"], rel
        if "instruments" in truth:
            got = fetch(dsn, "SELECT channel, program, is_drum, note_count FROM midi.file_instruments WHERE file_id = %s"
                             " ORDER BY is_drum, program, channel", [fid])
            assert got == truth["instruments"], rel
            names = fetch(dsn, "SELECT instrument_name FROM midi.file_instruments WHERE file_id = %s AND NOT is_drum"
                               " ORDER BY program, channel LIMIT 1", [fid])
            assert names[0][0] == one(dsn, "SELECT name FROM midi.gm_instruments WHERE program = %s", [truth["instruments"][0][1]])


def test_corrupt_files_end_in_analysis_errors_with_stable_classes(dsn: str, real: Path, tmp_path: Path) -> None:
    goods = [p for p in real_files(real) if p.suffix.lower() == ".mid" and p.stat().st_size > 2000][:3]
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, good in enumerate(goods):
        shutil.copyfile(good, lib / f"good{i}.mid")
        for kind in corpus.CORRUPT_KINDS:
            (lib / f"{kind}{i}.mid").write_bytes(corpus.make_corrupt(good.read_bytes(), kind))
    importer.run_import(dsn, [lib])
    first = analyzer.run_analysis(dsn, workers=2, batch_files=5)
    assert_every_file_accounted(dsn)
    errors = fetch(dsn, "SELECT f.filename, e.error_class FROM midi.analysis_errors e JOIN midi.files f ON f.id = e.file_id")
    assert first.errors == len(errors)
    known = set(workers.ERROR_CLASSES) | set(corpus_read_classes())
    assert {cls for _, cls in errors} <= known, errors
    analyzed = {name for (name,) in fetch(dsn, "SELECT f.filename FROM midi.files f JOIN midi.musical_metadata m"
                                               " ON m.file_id = f.id")}
    assert {f"good{i}.mid" for i in range(len(goods))} <= analyzed  # the run went on past the bad ones
    assert {f"riff_wrapped{i}.mid" for i in range(len(goods))} <= analyzed  # valid MIDI in a RIFF wrapper
    again = analyzer.run_analysis(dsn, workers=2, batch_files=5, reanalyze=True)
    assert again.errors == first.errors
    assert sorted(errors) == sorted(fetch(dsn, "SELECT f.filename, e.error_class FROM midi.analysis_errors e"
                                               " JOIN midi.files f ON f.id = e.file_id"))


def corpus_read_classes() -> list[str]:
    from runner.scan import READ_ERROR_CLASSES

    return list(READ_ERROR_CLASSES)


def test_an_unreadable_canonical_path_is_read_from_another_path(dsn: str, real: Path, tmp_path: Path) -> None:
    song = next(p for p in real_files(real) if p.suffix.lower() == ".mid")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(song, tmp_path / folder / "song.mid")
    importer.run_import(dsn, [tmp_path])
    assert one(dsn, "SELECT filepath FROM midi.files") == str(tmp_path / "a" / "song.mid")
    (tmp_path / "a" / "song.mid").unlink()
    result = analyzer.run_analysis(dsn, workers=1)
    assert (result.analyzed, result.errors) == (1, 0)
    facts = state(dsn)
    (tmp_path / "b" / "song.mid").unlink()
    result = analyzer.run_analysis(dsn, workers=1, reanalyze=True)
    assert (result.analyzed, result.errors) == (0, 1)
    assert result.error_classes == {"vanished": 1}
    # gone from every path: that says nothing about its bytes, so it keeps what was known and waits
    assert fetch(dsn, "SELECT error_class, attempts FROM midi.analysis_retries") == [("vanished", 1)]
    assert state(dsn) == facts
    assert_every_file_accounted(dsn)


def test_cli_analyze_json_and_limit(dsn: str, real: Path) -> None:
    importer.run_import(dsn, [real])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--workers", "1"]
    out = subprocess.run([*cmd, "--limit", "5"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert set(first) >= {"analyzed", "errors", "seconds", "files_per_second"}
    assert first["analyzed"] + first["errors"] == 5
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    rest = json.loads(out.stdout)
    assert rest["analyzed"] + rest["errors"] == n_files - 5
    out = subprocess.run(cmd[:-3], capture_output=True, text=True, timeout=300)  # table output, nothing left to do
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0].split() == ["analyzed", "0"]


def test_mirex_key_score() -> None:
    from runner.bench.analyzebench import mirex

    assert mirex("Am", "Am") == 1.0
    assert (mirex("E", "A"), mirex("D", "A"), mirex("Em", "Am")) == (0.5, 0.5, 0.5)  # fifth either way, same mode
    assert (mirex("C", "Am"), mirex("Am", "C")) == (0.3, 0.3)  # relative
    assert (mirex("A", "Am"), mirex("Am", "A")) == (0.2, 0.2)  # parallel
    assert (mirex("Bb", "Am"), mirex("UNKNOWN", "Am"), mirex(None, "Am")) == (0.0, 0.0, 0.0)


def test_abc_header_truth() -> None:
    assert [corpus.abc_key(k) for k in ("G", "Em", "F#min", "Bb major", "A Minor", "Ador", "Dmix", "HP", "none")] == [
        "G", "Em", "F#m", "Bb", "Am", None, None, None, None]
    assert [corpus.abc_bpm(q) for q in ("1/4=120", "3/8=80", '"Allegro" 1/2=60', "80", "")] == [120, 120, 120, None, None]


def test_a_value_the_database_refuses_costs_only_its_own_file(dsn: str, real: Path, tmp_path: Path) -> None:
    """Facts the catalog refuses (midi.analysis_apply) and rows the staging table refuses on the way in (the
    runner's COPY) both become that file's `rejected` error; the rest of the batch is applied."""
    from runner.queries import queries

    songs = [p for p in real_files(real) if p.suffix.lower() == ".mid"][:8]
    for p in songs:
        shutil.copyfile(p, tmp_path / p.name)
    importer.run_import(dsn, [tmp_path])
    names = [n for n, _ in FACT_COLUMNS]
    hist, instr, pitches, tracks = (names.index(c) for c in ("pitch_class_histogram", "instruments", "unique_pitches",
                                                              "track_names"))

    def changed(r, i, value):
        return r._replace(row=(*r.row[:i], value, *r.row[i + 1:]))

    with psycopg.connect(dsn) as conn:
        batch = conn.execute(queries["analysis_next_batch"]).fetchone()[0]
        claimed = conn.execute(queries["analysis_claim"], [0, 100, analyzer.ANALYZER_VERSION, None]).fetchall()
        results = [workers.analyze_bytes(fid, analyzer.read_any(paths[0], pbytes[0]), suspect)
                   for fid, paths, pbytes, suspect, _ in claimed]
        assert all(r.row is not None for r in results)
        short_hist = changed(results[1], hist, [0.5] * 11)  # the catalog's check refuses it
        odd = changed(results[2], instr, results[2].row[instr].replace('"name":"', '"name":"\\u0000', 1))
        too_many = changed(results[3], pitches, 70000)  # beyond the staging column's smallint
        surrogate = changed(results[5], tracks, ["Piano \udcff"])  # text the client cannot encode
        # an error whose message quotes odd bytes keeps its own class
        odd_error = workers.Result(results[6].file_id, None, "parse_failed", "mido: bad byte \udcff\x00 at 12")
        claim = analyzer._Claim(conn, batch, [])
        claim.results = [results[0], short_hist, odd, too_many, results[4], surrogate, odd_error, *results[7:]]
        run = analyzer._Run(dsn, analyzer.ANALYZER_VERSION, None, None, 100, 1, None)
        refused: list = []
        assert analyzer._apply(run, claim, refused) == (len(results) - 4, 4)
        assert sorted(r.file_id for r in refused) == sorted([too_many.file_id, surrogate.file_id])
        conn.commit()
    assert_every_file_accounted(dsn)
    errors = dict(fetch(dsn, "SELECT file_id, error_class || ': ' || message FROM midi.analysis_errors"))
    assert set(errors) == {short_hist.file_id, too_many.file_id, surrogate.file_id, odd_error.file_id}
    assert errors[odd_error.file_id] == "parse_failed: mido: bad byte ? at 12"
    assert errors[short_hist.file_id].startswith("rejected: the catalog cannot store these facts: pitch_class_histogram")
    assert errors[too_many.file_id].startswith("rejected: the database refused the facts") and "out of range" in \
        errors[too_many.file_id]
    assert errors[surrogate.file_id].startswith("rejected: the database refused the facts") and "surrogate" in \
        errors[surrogate.file_id]
    assert one(dsn, "SELECT count(*) FROM midi.file_instruments WHERE file_id = %s", [odd.file_id]) >= 1


def content_state(dsn: str) -> dict[str, list]:
    """What an analysis decides, keyed by content (ids and timestamps differ between databases)."""
    return {
        "files": fetch(dsn, "SELECT content_hash, duration_seconds, duration_ticks, analyzer_version, cached_bpm,"
                            " cached_key::text, cached_category::text, cardinality(tag_ids), search_vector::text"
                            " FROM midi.files ORDER BY 1"),
        "metadata": fetch(dsn, "SELECT f.content_hash, m.bpm, m.bpm_source, m.key_signature::text, m.key_source,"
                               " m.key_estimate::text, m.total_notes, m.pitch_class_histogram, m.parser"
                               " FROM midi.musical_metadata m JOIN midi.files f ON f.id = m.file_id ORDER BY 1"),
        "instruments": fetch(dsn, "SELECT f.content_hash, i.channel, i.program, i.is_drum, i.note_count FROM"
                                  " midi.file_instruments i JOIN midi.files f ON f.id = i.file_id ORDER BY 1, 2, 3"),
        "categories": fetch(dsn, "SELECT f.content_hash, c.primary_category::text, c.secondary_category::text"
                                 " FROM midi.file_categories c JOIN midi.files f ON f.id = c.file_id ORDER BY 1"),
        "tags": fetch(dsn, "SELECT f.content_hash, t.name, ft.source FROM midi.file_tags ft JOIN midi.tags t"
                           " ON t.id = ft.tag_id JOIN midi.files f ON f.id = ft.file_id ORDER BY 1, 2"),
    }


def test_a_run_killed_mid_way_and_run_again_ends_as_an_uninterrupted_run(
    dsn: str, server_dsn, generated: Path
) -> None:
    from runner import schema

    whole = server_dsn()
    schema.migrate(whole)
    for target in (dsn, whole):
        importer.run_import(target, [generated])
    analyzer.run_analysis(whole, workers=2)

    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--workers", "1", "--batch-size", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while one(dsn, "SELECT count(*) FROM midi.musical_metadata") < 500:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command, its fork server and its workers
        proc.wait()
    done = one(dsn, "SELECT count(*) FROM midi.files WHERE analyzed_at IS NOT NULL")
    assert 0 < done < one(dsn, "SELECT count(*) FROM midi.files")
    deadline = time.monotonic() + 60
    while one(dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [analyzer.APPLICATION_NAME]):
        assert time.monotonic() < deadline, "the killed run's sessions did not end within 60 s"
        time.sleep(0.05)  # the killed run's sessions are gone, and with them its locks and open batches

    rest = analyzer.run_analysis(dsn, workers=2)
    assert rest.analyzed + rest.errors + done == one(dsn, "SELECT count(*) FROM midi.files")
    assert_every_file_accounted(dsn)
    assert content_state(dsn) == content_state(whole)


def test_show_lists_the_real_channels_of_a_three_part_song_and_none_it_cannot_tell(dsn: str, real: Path) -> None:
    """Three parts, one program per channel 1-3 (freedink's 13.mid: organs 16, 17 and 19): `show` names each
    part's own channel, not "(ch 1)" three times. A long song whose tracks each play several channels, so
    that symusic's parts cannot be mapped onto channels (playmidi's jazz.mid), shows its pitched
    instruments without any channel, and stores NULL, not channel 1; its drum kit is channel 10."""
    importer.run_import(dsn, [real])
    analyzer.run_analysis(dsn, workers=2)

    def show(rel: str) -> dict:
        fid = one(dsn, "SELECT file_id FROM midi.file_paths WHERE path = %s", [str(real / rel)])
        out = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", dsn, "show", str(fid), "--json"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return {"id": fid, **json.loads(out.stdout)}

    song = show(DINK + "13.mid")
    assert song["instruments"] == ["Drawbar Organ (ch 1)", "Percussive Organ (ch 2)", "Church Organ (ch 3)"]
    unknown = show("playmidi/usr/share/doc/playmidi/examples/jazz.mid")
    pitched = [i for i in unknown["instruments"] if not i.startswith("Drum Kit")]
    assert len(pitched) >= 5 and not any("(ch" in i for i in pitched)
    assert "Drum Kit (ch 10)" in unknown["instruments"]
    assert fetch(dsn, "SELECT DISTINCT channel FROM midi.file_instruments WHERE file_id = %s AND NOT is_drum",
                 [unknown["id"]]) == [(None,)]


def test_a_file_that_needs_too_much_memory_ends_as_its_out_of_memory_error(dsn: str, real: Path, tmp_path: Path) -> None:
    """A real song made 17 MB long (1.9 million notes, ~390 MB to analyze) under --worker-memory 300M: its
    out_of_memory error, the other files analyzed, exit 0; transient, so a run with room analyzes it."""
    from tests.test_workers import big_song

    song = (real / "pianobooster/usr/share/doc/pianobooster/courses/BoosterMusic/02-LavendersBlue.mid").read_bytes()
    shutil.copytree(real / "timidity", tmp_path / "lib" / "timidity")
    (tmp_path / "lib" / "big.mid").write_bytes(big_song(song, 40000))
    importer.run_import(dsn, [tmp_path / "lib"])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--workers", "1"]
    out = subprocess.run([*cmd, "--worker-memory", "300M"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["analyzed"], result["errors"], result["error_classes"]) == (n_files - 1, 1, {"out_of_memory": 1})
    assert result["worker_crashes"] == 0
    assert fetch(dsn, "SELECT f.filename, e.error_class, r.attempts FROM midi.analysis_errors e JOIN midi.files f"
                      " ON f.id = e.file_id JOIN midi.analysis_retries r ON r.file_id = f.id") == [("big.mid", "out_of_memory", 1)]
    assert_every_file_accounted(dsn)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)  # the default limit has room
    assert json.loads(out.stdout)["analyzed"] == 1
    assert fetch(dsn, "SELECT count(*) FROM midi.analysis_errors UNION ALL SELECT count(*) FROM midi.analysis_retries") == [
        (0,), (0,)]
    bad = subprocess.run([*cmd, "--worker-memory", "lots"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--worker-memory" in bad.stderr


def test_facts_the_catalog_refuses_cost_one_file_of_a_whole_run(dsn: str, real: Path) -> None:
    """A constraint the analyzer does not know of (added here as the stand-in for the unforeseen) refuses one
    real file's facts: that file is `rejected` with the server's message, every other file of its batch and
    of the run is analyzed, and the run's summary counts it."""
    importer.run_import(dsn, [real])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE midi.musical_metadata ADD CONSTRAINT no_1244_note_songs CHECK (total_notes <> 1244)")
    result = analyzer.run_analysis(dsn, workers=2, batch_files=50)
    assert result.error_classes.get("rejected") == 1
    assert result.analyzed + result.errors == n_files
    assert_every_file_accounted(dsn)
    path, message = fetch(dsn, "SELECT p.path, e.message FROM midi.analysis_errors e JOIN midi.file_paths p"
                               " ON p.file_id = e.file_id WHERE e.error_class = 'rejected'")[0]
    assert path.endswith("/Sound/105.mid") and "no_1244_note_songs" in message and "23514" in message


def test_a_file_edited_after_the_import_keeps_its_facts_and_is_read_where_its_content_still_is(
    dsn: str, real: Path, tmp_path: Path
) -> None:
    songs = [p for p in real_files(real) if p.suffix.lower() == ".mid"]
    original, other = songs[0], songs[1]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(original, tmp_path / folder / "song.mid")
    importer.run_import(dsn, [tmp_path])
    analyzer.run_analysis(dsn, workers=1)
    known = state(dsn)
    shutil.copyfile(other, tmp_path / "a" / "song.mid")  # the canonical path now holds another song
    result = analyzer.run_analysis(dsn, workers=1, reanalyze=True)
    assert (result.analyzed, result.errors) == (1, 0)
    assert {k: v for k, v in state(dsn).items() if k != "files"} == {k: v for k, v in known.items() if k != "files"}
    shutil.copyfile(other, tmp_path / "b" / "song.mid")  # and now every path does
    result = analyzer.run_analysis(dsn, workers=1, reanalyze=True)
    assert result.error_classes == {"changed": 1}
    assert fetch(dsn, "SELECT error_class, attempts FROM midi.analysis_retries") == [("changed", 1)]
    assert state(dsn) == known  # the other song's facts were never stored as this file's
