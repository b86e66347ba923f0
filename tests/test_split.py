"""`midicenter split` on the real songs of the test corpus: every part opens in mido and symusic, the notes
of all parts together are the notes of the song (counted per pitch and start tick, by both readers),
every part carries the song's tempo, meter and key events, splitting twice gives the same bytes, and parts
imported with --import are registered with their parent and found by category searches."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import mido
import psycopg
import pytest
import symusic
from click.testing import CliRunner

from runner import importer, midifile, split
from runner.cli import cli
from tests import corpus
from tests.midi_build import build


@pytest.fixture(scope="session")
def real() -> Path:
    return corpus.real_corpus()


def songs(real: Path) -> list[Path]:
    return sorted(p for p in real.rglob("*") if p.suffix.lower() in (".mid", ".midi", ".kar", ".rmi"))


def smf(data: bytes) -> bytes:
    return bytes(data[midifile.inspect(data).smf_slice])


def read(data: bytes) -> tuple[Counter, list[tuple[int, str, tuple]], mido.MidiFile]:
    """One mido read of a file: (start tick, pitch, channel) of every sounding note-on over all tracks,
    every tempo, time-signature and key-signature event with its tick (in order), and the file."""
    mid = mido.MidiFile(file=io.BytesIO(smf(data)), clip=True)
    notes: Counter = Counter()
    events = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                notes[(tick, msg.note, msg.channel)] += 1
            elif msg.type in ("set_tempo", "time_signature", "key_signature"):
                d = msg.dict()
                d.pop("time")
                events.append((tick, msg.type, tuple(sorted(d.items()))))
    return notes, sorted(events), mid


def mido_notes(data: bytes) -> Counter:
    return read(data)[0]


def conductor(data: bytes) -> list[tuple[int, str, tuple]]:
    return read(data)[1]


def symusic_notes(data: bytes) -> Counter:
    """(start tick, pitch) of every note symusic reads, over all tracks."""
    score = symusic.Score.from_midi(smf(data))
    return Counter((n.time, n.pitch) for t in score.tracks for n in t.notes)


@pytest.mark.slow
def test_parts_of_every_real_song_hold_exactly_its_notes(real: Path) -> None:
    split_songs = 0
    formats = Counter()
    for path in songs(real):
        data = path.read_bytes()
        try:
            fmt, parts = split.split_bytes(data)
        except split.SplitError:
            with pytest.raises(Exception):  # noqa: B017 - what mido cannot read is no song to split
                mido.MidiFile(file=io.BytesIO(smf(data)), clip=True)
            continue
        whole, tempo_meter_key, mid = read(data)
        if not whole:
            assert parts == [], path
            continue
        split_songs += 1
        formats[fmt] += 1
        notes: Counter = Counter()
        heard: Counter = Counter()
        for p in parts:
            part_notes, part_conductor, part = read(p.data)
            notes += part_notes
            heard += symusic_notes(p.data)  # opens in symusic
            assert part.type == 1 and len(part.tracks) == 2 and part.ticks_per_beat == mid.ticks_per_beat, path
            if fmt != 2:
                assert part_conductor == tempo_meter_key, (path, p.track_number)
            assert p.note_count == sum(part_notes.values()) > 0
        assert notes == whole, path
        assert heard == symusic_notes(data), path
        again = split.split_bytes(data)[1]
        assert [p.data for p in again] == [p.data for p in parts], path  # the same bytes every time
    assert split_songs >= 20 and formats[1] >= 15, formats


def test_format_0_songs_split_per_channel_with_their_setup() -> None:
    tempo = mido.MetaMessage("set_tempo", tempo=500000, time=0)
    meter = mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0)
    key = mido.MetaMessage("key_signature", key="Am", time=0)
    msgs = [tempo, meter, key,
            mido.Message("program_change", channel=0, program=33, time=0),
            mido.Message("program_change", channel=1, program=0, time=0),
            mido.Message("note_on", channel=0, note=45, velocity=90, time=0),
            mido.Message("note_on", channel=1, note=69, velocity=80, time=0),
            mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
            mido.Message("note_off", channel=0, note=45, velocity=0, time=480),
            mido.Message("note_off", channel=1, note=69, velocity=0, time=0),
            mido.Message("note_off", channel=9, note=36, velocity=0, time=0),
            mido.MetaMessage("set_tempo", tempo=400000, time=480)]
    data = build([msgs])
    data = data[:9] + b"\x00" + data[10:]  # format 0
    fmt, parts = split.split_bytes(data, {33: "Electric Bass (finger)", 0: "Acoustic Grand Piano"})
    assert fmt == 0
    assert [(p.channel, p.instrument, p.note_count, p.label) for p in parts] == [
        (0, "Electric Bass (finger)", 1, "Electric Bass (finger)"),
        (1, "Acoustic Grand Piano", 1, "Acoustic Grand Piano"),
        (9, "Drums", 1, "Drums")]
    for p in parts:
        assert conductor(p.data) == conductor(data)
        assert mido.MidiFile(file=io.BytesIO(p.data)).length == pytest.approx(mido.MidiFile(file=io.BytesIO(data)).length)
    assert sum((mido_notes(p.data) for p in parts), Counter()) == mido_notes(data)


def test_setup_tracks_give_their_program_to_the_parts() -> None:
    """A program change in a noteless setup track is copied into the part that plays that channel."""
    setup = [mido.MetaMessage("set_tempo", tempo=600000), mido.Message("program_change", channel=2, program=38)]
    bass = [mido.MetaMessage("track_name", name="Bass"), mido.Message("note_on", channel=2, note=40, velocity=90),
            mido.Message("note_off", channel=2, note=40, velocity=0, time=960)]
    fmt, parts = split.split_bytes(build([setup, bass]), {38: "Synth Bass 1"})
    (part,) = parts
    assert (fmt, part.track_number, part.track_name, part.instrument, part.label) == (1, 1, "Bass", "Synth Bass 1", "Bass")
    programs = [m for t in mido.MidiFile(file=io.BytesIO(part.data)).tracks for m in t if m.type == "program_change"]
    assert [(m.channel, m.program) for m in programs] == [(2, 38)]


def test_split_refuses_what_it_cannot_split(dsn: str, tmp_path: Path) -> None:
    with pytest.raises(split.SplitError, match="not a MIDI file"):
        split.split_bytes(b"RIFF nonsense")
    empty = build([[mido.MetaMessage("set_tempo", tempo=500000)]])
    assert split.split_bytes(empty)[1] == []
    result = CliRunner().invoke(cli, ["--dsn", dsn, "split", "999", "--to", str(tmp_path)])
    assert result.exit_code == 1 and result.stderr.strip() == "midicenter: error: no file with id 999"


@pytest.mark.slow
def test_split_import_registers_parts_found_by_category(dsn: str, real: Path, tmp_path: Path) -> None:
    """Real songs imported and analyzed, then split with --import: the parts are files with their parent
    and track number, analyzed, and a bass part of a song is found by `search --category bass`; splitting
    again writes nothing and registers nothing twice."""
    picked = [p for p in songs(real) if p.name in ("gmstriving.mid", "jazz.mid", "06-Greensleeves.mid")]
    assert len(picked) == 3
    lib = tmp_path / "songs"
    for p in picked:
        (lib / p.parent.name).mkdir(parents=True, exist_ok=True)
        (lib / p.parent.name / p.name).write_bytes(p.read_bytes())
    importer.run_import(dsn, [lib])
    runner = CliRunner()
    assert runner.invoke(cli, ["--dsn", dsn, "analyze", "--workers", "1", "-q"]).exit_code == 0
    with psycopg.connect(dsn) as conn:
        song_ids = dict(conn.execute("SELECT filename, id FROM midi.files").fetchall())
    parts_dir = tmp_path / "parts"
    bass_parts = []
    for name in ("gmstriving.mid", "jazz.mid", "06-Greensleeves.mid"):
        out = runner.invoke(cli, ["--dsn", dsn, "split", str(song_ids[name]), "--to", str(parts_dir), "--import",
                                  "--json"])
        assert out.exit_code == 0, out.stderr
        result = json.loads(out.stdout)
        assert all(p["status"] == "written" and p["file_id"] for p in result["parts"])
        bass_parts += [p["file_id"] for p in result["parts"] if p["instrument"] and "Bass" in p["instrument"]]
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT split_file_id, track_number, note_count FROM midi.track_splits "
                                "WHERE parent_file_id = %s ORDER BY track_number", [song_ids[name]]).fetchall()
            assert rows == [(p["file_id"], p["track"], p["notes"]) for p in result["parts"]]
            parents = conn.execute("SELECT DISTINCT parent_file_id FROM midi.catalog WHERE id = ANY(%s)",
                                   [[p["file_id"] for p in result["parts"]]]).fetchall()
            assert parents == [(song_ids[name],)]
    assert len(bass_parts) >= 3
    found = json.loads(runner.invoke(cli, ["--dsn", dsn, "search", "--category", "bass", "--limit", "500",
                                           "--json"]).stdout)["results"]
    assert set(bass_parts) <= {r["id"] for r in found}
    with psycopg.connect(dsn) as conn:
        # "bass parts of songs in a key": parts joined with their songs, from any client
        rows = conn.execute("SELECT p.id FROM midi.catalog p JOIN midi.catalog s ON s.id = p.parent_file_id "
                            "WHERE p.primary_category = 'bass' AND s.key_signature = %s",
                            [conn.execute("SELECT key_signature FROM midi.catalog WHERE id = %s",
                                          [song_ids["gmstriving.mid"]]).fetchone()[0]]).fetchall()
        assert rows
        before = conn.execute("SELECT count(*) FROM midi.track_splits").fetchone()[0]
        files_before = conn.execute("SELECT count(*) FROM midi.files").fetchone()[0]
    again = json.loads(runner.invoke(cli, ["--dsn", dsn, "split", str(song_ids["jazz.mid"]), "--to", str(parts_dir),
                                           "--import", "--json"]).stdout)
    assert {p["status"] for p in again["parts"]} == {"present"}
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM midi.track_splits").fetchone()[0] == before
        assert conn.execute("SELECT count(*) FROM midi.files").fetchone()[0] == files_before
