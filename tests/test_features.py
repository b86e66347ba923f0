"""runner.features: facts of files whose truth is known, parser parity, and a hand-checked table of real songs."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import psycopg
import pytest

from runner import features
from runner.features import (
    FACT_COLUMNS,
    KEY_NAMES,
    Facts,
    facts,
    key_from_signature,
)
from runner.parsers import parse
from tests.corpus import CorpusError, real_corpus
from tests.midi_build import build

M = mido.Message
X = mido.MetaMessage



def line(
    notes: list[tuple[int, int]], channel: int = 0, velocity: int = 100, program: int | None = None
) -> list:
    """Messages of a monophonic line: (pitch, length in ticks) in sequence, 0 pitch = rest."""
    msgs = [] if program is None else [M("program_change", channel=channel, program=program)]
    wait = 0
    for pitch, length in notes:
        if not pitch:
            wait += length
            continue
        msgs.append(M("note_on", channel=channel, note=pitch, velocity=velocity, time=wait))
        msgs.append(M("note_off", channel=channel, note=pitch, time=length))
        wait = 0
    return msgs


def chords(chord_list: list[tuple[list[int], int]], channel: int = 0) -> list:
    """Messages of block chords: (pitches, length in ticks)."""
    msgs = []
    for pitches, length in chord_list:
        msgs += [M("note_on", channel=channel, note=p, velocity=80) for p in pitches]
        msgs += [
            M("note_off", channel=channel, note=p, time=length if i == 0 else 0)
            for i, p in enumerate(pitches)
        ]
    return msgs


def both(data: bytes) -> Facts:
    """Facts through symusic, checked equal to the facts through mido."""
    fast = facts(parse(data))
    slow = facts(parse(data, suspect=True))
    assert fast.parser == "symusic" and slow.parser == "mido"
    assert same_facts(fast, slow), diff_facts(fast, slow)
    return fast


def same_facts(a: Facts, b: Facts) -> bool:
    return not diff_facts(a, b)


def instrument_totals(instruments) -> dict[tuple[int, bool], int]:
    """Notes per (program, drum flag), program unknown counted as 0: what both parsers must agree on."""
    out: dict[tuple[int, bool], int] = {}
    for _, program, drum, notes, _ in instruments:
        out[(program or 0, drum)] = out.get((program or 0, drum), 0) + notes
    return out


def instruments_differ(fast, slow) -> bool:
    """symusic's instruments (fast) against mido's (slow), which always know the channel: the same notes per
    program and drum flag, and every channel or program symusic states is mido's too."""
    if instrument_totals(fast) != instrument_totals(slow):
        return True
    for channel, program, drum, notes, _ in fast:
        if channel is None and program is None:
            continue
        if not any((channel is None or c == channel) and (program is None and p in (0, None) or p == program)
                   and d == drum for c, p, d, _n, _ in slow):
            return True
        if channel is not None and notes != sum(n for c, p, d, n, _ in slow if c == channel and d == drum
                                                  and (program is None and p in (0, None) or p == program)):
            return True
    return False


def diff_facts(a: Facts, b: Facts) -> list[tuple[str, object, object]]:
    """Fields (other than parser) that differ; floats compared to 1e-9; instruments: instruments_differ
    (a: the symusic facts, b: the mido facts)."""
    out = []
    for name, _ in FACT_COLUMNS:
        if name == "parser":
            continue
        x, y = getattr(a, name), getattr(b, name)
        if name == "instruments":
            if instruments_differ(x, y):
                out.append((name, x, y))
        elif isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > 1e-9:
                out.append((name, x, y))
        elif name == "pitch_class_histogram":
            if not np.allclose(x, y, atol=1e-6):
                out.append((name, x, y))
        elif x != y:
            out.append((name, x, y))
    return out


# ---------------------------------------------------------------- timing


def test_tempo_changes_give_real_seconds_and_the_tempo_covering_most_time():
    conductor = [X("set_tempo", tempo=500000), X("set_tempo", tempo=1000000, time=1920)]
    music = line([(60, 960)] * 4)  # 8 beats: 4 at 120 BPM (2 s), 4 at 60 BPM (4 s)
    f = both(build([conductor, music]))
    assert f.duration_ticks == 3840
    assert f.duration_seconds == pytest.approx(6.0)
    assert f.bpm == 60.0 and f.bpm_source == "meta" and f.has_tempo_changes
    assert f.tempo_map == [(0, 120.0), (1920, 60.0)]
    assert f.note_density == pytest.approx(4 / 6.0)


def test_no_tempo_event_is_the_midi_default_120():
    f = both(build([line([(60, 480)] * 8)]))
    assert (f.bpm, f.bpm_source, f.has_tempo_changes, f.tempo_map) == (120.0, "default", False, [(0, 120.0)])
    assert f.duration_seconds == pytest.approx(4 * 0.5 * 2)


def test_first_tempo_event_after_the_start_keeps_120_before_it():
    conductor = [X("set_tempo", tempo=750000, time=960)]  # 80 BPM from beat 3
    f = both(build([conductor, line([(60, 480)] * 8)]))
    assert f.tempo_map == [(0, 120.0), (960, 80.0)]
    assert f.duration_seconds == pytest.approx(2 * 0.5 + 6 * 0.75)
    assert f.bpm == 80.0 and f.bpm_source == "meta" and f.has_tempo_changes


def test_tempo_events_after_the_last_note_and_duplicates_at_one_tick_are_ignored():
    conductor = [
        X("set_tempo", tempo=600000),
        X("set_tempo", tempo=400000),  # same tick: the last one wins
        X("set_tempo", tempo=300000, time=99999),  # after the music
    ]
    f = both(build([conductor, line([(60, 480)] * 4)]))
    assert f.tempo_map == [(0, 150.0)] and not f.has_tempo_changes
    assert f.duration_seconds == pytest.approx(4 * 0.4)


def test_tempo_in_a_later_track_applies_to_notes_of_an_earlier_one():
    melody = line([(60, 480)] * 4)
    other = [X("set_tempo", tempo=1000000, time=960)]
    f = both(build([melody, other]))
    assert f.duration_seconds == pytest.approx(2 * 0.5 + 2 * 1.0)
    assert f.tempo_map == [(0, 120.0), (960, 60.0)]


def test_bpm_rounds_to_two_decimals_and_ties_go_to_the_earliest():
    conductor = [X("set_tempo", tempo=461538), X("set_tempo", tempo=500000, time=960)]
    f = both(build([conductor, line([(60, 960)] * 2)]))
    assert f.tempo_map == [(0, 130.0), (960, 120.0)]
    assert f.bpm == 120.0  # 2 beats at 120 take longer than 2 beats at 130
    tie = [X("set_tempo", tempo=500000), X("set_tempo", tempo=1000000, time=960)]
    f = both(build([tie, line([(60, 960), (60, 480)])]))  # 1 s at 120, then 1 s at 60
    assert f.bpm == 120.0


def test_time_signature_covering_most_ticks_and_the_list():
    conductor = [
        X("time_signature", numerator=3, denominator=4),
        X("time_signature", numerator=7, denominator=8, time=1440),
        X("time_signature", numerator=3, denominator=4, time=420),
    ]
    f = both(build([conductor, line([(60, 480)] * 12)]))
    assert (f.time_signature_numerator, f.time_signature_denominator) == (3, 4)
    assert f.time_signatures == [(0, 3, 4), (1440, 7, 8), (1860, 3, 4)]
    f = both(build([line([(60, 480)])]))  # no time signature: unknown, not MIDI's implied 4/4
    assert (f.time_signature_numerator, f.time_signature_denominator, f.time_signatures) == (None, None, [])


def test_a_time_signature_the_catalog_cannot_hold_is_not_a_fact():
    """Found by the fuzzer: 200/4, 3/128 and 3/2**32 are what the bytes say, but musical_metadata holds
    numerators 1-64 and denominators 1-64 (powers of two); such an event used to cost the file all of its
    facts (analysis_failed: the database refused them). It is skipped like any other invalid signature."""
    def ts(delta: int, nn: int, dd: int) -> bytes:
        return bytes((delta, 0xFF, 0x58, 4, nn, dd, 24, 8))

    def smf(events: bytes) -> bytes:
        body = events + b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x40\x00\xff\x2f\x00"
        return b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + len(body).to_bytes(4, "big") + body

    f = both(smf(ts(0, 200, 2) + ts(0x60, 3, 7) + ts(0x60, 5, 3)))
    assert (f.time_signature_numerator, f.time_signature_denominator, f.time_signatures) == (5, 8, [(192, 5, 8)])
    # 2**32: mido says so; symusic shifts a 32-bit 1 by 32 and reads 1 (3/1 is legal, so it stays)
    f = facts(parse(smf(ts(0, 3, 32) + ts(0x60, 5, 3)), suspect=True))
    assert (f.time_signature_numerator, f.time_signature_denominator, f.time_signatures) == (5, 8, [(96, 5, 8)])


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("key", "expected"),
    [("F#m", "F#m"), ("Ebm", "Ebm"), ("D#m", "Ebm"), ("Bb", "Bb"), ("Gb", "F#"), ("Cb", "B"), ("Abm", "Abm"), ("G#m", "Abm")],
)
def test_key_signature_gives_a_canonical_name(key, expected):
    f = both(build([[X("key_signature", key=key)] + line([(60, 480)])]))
    assert f.key_from_signature == expected


def test_lone_c_major_signature_is_unknown_but_a_real_change_is_not():
    assert both(build([[X("key_signature", key="C")] + line([(60, 480)])])).key_from_signature is None
    conductor = [X("key_signature", key="C"), X("key_signature", key="C")]
    assert both(build([conductor, line([(60, 480)])])).key_from_signature is None
    conductor = [X("key_signature", key="C"), X("key_signature", key="G", time=480)]
    assert both(build([conductor, line([(60, 480)] * 4)])).key_from_signature == "G"
    assert both(build([[X("key_signature", key="Am")] + line([(60, 480)])])).key_from_signature == "Am"


def test_key_from_signature_covers_every_signature_with_the_canonical_names():
    names = {key_from_signature(s, m) for s in range(-7, 8) for m in (False, True)}
    assert names == set(KEY_NAMES)
    assert key_from_signature(0, False) == "C" and key_from_signature(0, True) == "Am"
    assert key_from_signature(-3, True) == "Cm" and key_from_signature(5, True) == "Abm"


def test_histogram_is_weighted_by_sounding_seconds_and_skips_drums():
    conductor = [X("set_tempo", tempo=500000), X("set_tempo", tempo=1000000, time=480)]
    music = line([(60, 480), (67, 480)])  # C for 0.5 s at 120, G for 1 s at 60
    drums = line([(36, 240)] * 8, channel=9)
    f = both(build([conductor, music, drums]))
    hist = f.pitch_class_histogram
    assert len(hist) == 12
    assert hist[0] == pytest.approx(1 / 3, abs=1e-6) and hist[7] == pytest.approx(2 / 3, abs=1e-6)
    assert sum(hist) == pytest.approx(1.0, abs=1e-5)
    only_drums = both(build([drums]))
    assert only_drums.pitch_class_histogram == [0.0] * 12


def sql_key(conn: psycopg.Connection, hist, profile: str | None = None) -> tuple | None:
    """midi.estimate_key of a histogram (keys are derived in SQL, with the profiles of midi.key_profiles)."""
    return conn.execute("SELECT key::text, second_key::text, correlation, second_correlation"
                        " FROM midi.estimate_key(%s::float8[], %s)", [list(map(float, hist)), profile]).fetchone()


def test_estimate_key_finds_scales_under_every_profile_and_transposes(dsn: str):
    major_scale = np.zeros(12)
    for pc, weight in zip([0, 2, 4, 5, 7, 9, 11], [3, 1, 2, 1, 2.5, 1, 0.8], strict=True):
        major_scale[pc] = weight
    minor = np.zeros(12)
    for pc, weight in zip([9, 11, 0, 2, 4, 5, 8], [3, 1, 2, 1, 2.5, 1, 1], strict=True):
        minor[pc] = weight
    with psycopg.connect(dsn) as conn:
        profiles = [r[0] for r in conn.execute("SELECT name FROM midi.key_profiles ORDER BY name")]
        for profile in profiles:
            assert sql_key(conn, major_scale, profile)[0] == "C"
            assert sql_key(conn, np.roll(major_scale, 7), profile)[0] == "G"
            assert sql_key(conn, minor, profile)[0] == "Am"
            assert sql_key(conn, np.roll(minor, 3), profile)[0] == "Cm"
        key, second, score, second_score = sql_key(conn, major_scale)
        assert second != key and 1.0 >= score >= second_score
        assert sql_key(conn, [0.0] * 12) is None and sql_key(conn, [1.0] * 12) is None


def test_estimate_key_of_a_real_melody_in_the_file(dsn: str):
    # "Twinkle twinkle" in D major: D D A A B B A, G G F# F# E E D
    tune = [62, 62, 69, 69, 71, 71, 69, 67, 67, 66, 66, 64, 64, 62]
    f = both(build([line([(p, 480) for p in tune])]))
    with psycopg.connect(dsn) as conn:
        assert sql_key(conn, f.pitch_class_histogram)[0] == "D"


def test_key_profiles_are_the_four_published_tables(dsn: str):
    with psycopg.connect(dsn) as conn:
        profiles = {name: (major, minor) for name, major, minor in
                    conn.execute("SELECT name, major::float8[], minor::float8[] FROM midi.key_profiles")}
    assert set(profiles) == {"krumhansl", "aarden", "temperley", "bellman"}
    for major, minor in profiles.values():
        assert len(major) == len(minor) == 12
        assert max(major) in (major[0], major[7]) and max(minor) in (minor[0], minor[7])  # tonic or fifth
    assert profiles["krumhansl"][0][0] == 6.35 and profiles["aarden"][1][3] == 16.8599


# ---------------------------------------------------------------- notes, drums, instruments


def test_note_statistics_exclude_drums_from_pitch_but_not_from_counts():
    bass = line([(40, 240), (43, 240), (45, 240)], velocity=90, program=33)
    drums = line([(36, 120), (38, 120), (42, 120)], channel=9, velocity=120)
    f = both(build([bass, drums]))
    assert f.total_notes == 6 and f.drum_note_count == 3
    assert (f.unique_pitches, f.pitch_min, f.pitch_max) == (3, 40, 45)
    assert (f.velocity_min, f.velocity_avg, f.velocity_max) == (90, 105.0, 120)
    assert f.is_percussive
    assert f.instruments == [(0, 33, False, 3, ""), (9, None, True, 3, "")]  # no program change on the kit


def test_drum_channel_is_a_kit_not_a_piano_and_names_come_from_tracks():
    piano = [X("track_name", name="Piano")] + line([(60, 480)] * 2, program=0)
    kit = [X("track_name", name="Kit A")] + line([(36, 480)] * 4, channel=9, program=25)
    f = both(build([piano, kit]))
    assert f.instruments == [(0, 0, False, 2, "Piano"), (9, 25, True, 4, "Kit A")]
    assert f.track_names == ["Piano", "Kit A"]


def test_low_pitched_melodic_part_is_not_percussive():
    bass = [X("track_name", name="Sub Bass")] + line([(28, 240), (30, 240), (35, 240), (24, 240)], program=38)
    f = both(build([bass]))
    assert not f.is_percussive and f.drum_note_count == 0


@pytest.mark.parametrize("name", ["Drums", "drum kit", "Perc", "Hi-Hat", "KICK", "Snare 2", "Toms"])
def test_drum_named_track_on_a_melodic_channel_is_percussive(name):
    track = [X("track_name", name=name)] + line([(36, 240), (38, 240)], channel=0)
    f = both(build([track]))
    assert f.is_percussive and f.drum_note_count == 2
    assert f.pitch_min is None and f.instruments == [(0, None, True, 2, name)]


def test_gm2_drum_bank_select_is_percussive():
    track = [M("control_change", channel=2, control=0, value=120)] + line([(36, 240), (40, 240)], channel=2)
    f = both(build([track]))
    assert f.is_percussive and f.drum_note_count == 2


def test_program_set_in_another_track_applies_to_the_channel():
    setup = [M("program_change", channel=0, program=40), M("program_change", channel=1, program=73)]
    right = [X("track_name", name="RH")] + line([(72, 240)] * 3, channel=0)
    left = [X("track_name", name="LH")] + line([(48, 240)] * 2, channel=0)
    flute = line([(79, 240)], channel=1)
    data = build([setup, right, left, flute])
    f = both(data)  # symusic alone would give LH and the flute program 0
    assert f.instruments == [(0, 40, False, 5, "RH"), (1, 73, False, 1, "")]


def test_instruments_merge_parts_with_the_same_channel_and_program():
    a = [X("track_name", name="Strings L")] + line([(60, 120)] * 3, channel=0, program=48)
    b = [X("track_name", name="Strings R")] + line([(64, 120)] * 5, channel=1, program=48)
    c = [X("track_name", name="Strings L2")] + line([(67, 120)] * 4, channel=0)  # program 48 from track a
    f = both(build([a, b, c]))
    assert f.instruments == [(0, 48, False, 7, "Strings L2"), (1, 48, False, 5, "Strings R")]


# ---------------------------------------------------------------- polyphony, chords, melody


def test_block_chords_have_chords_and_polyphony():
    f = both(build([chords([([60, 64, 67], 960), ([65, 69, 72], 960)])]))
    assert f.has_chords and f.polyphony_max == 3 and f.polyphony_avg == pytest.approx(3.0)
    assert not f.is_monophonic and not f.has_melody


def test_octaves_and_power_chords_are_not_chords():
    f = both(build([chords([([48, 60, 72], 960), ([43, 50, 55], 960)])]))  # C octaves, G5 power chord
    assert f.polyphony_max == 3 and not f.has_chords


def test_monophonic_bass_line():
    riff = [(36, 240), (36, 240), (43, 240), (46, 240), (48, 240), (46, 240), (43, 240), (39, 240)] * 2
    f = both(build([line(riff, program=33)]))
    assert f.is_monophonic and f.polyphony_max == 1 and f.polyphony_avg == 1.0
    assert not f.has_chords
    assert not f.has_melody  # a bass line sits below C3


def test_legato_notes_touching_at_one_tick_do_not_overlap():
    f = both(build([line([(60, 480), (62, 480), (64, 480)])]))
    assert f.polyphony_max == 1 and f.is_monophonic


def test_polyphony_average_is_weighted_by_sounding_time():
    # one beat of a single note, one beat of a 3-note chord, one beat of rest, then one single note beat
    track = line([(60, 480)]) + chords([([60, 64, 67], 480)]) + line([(0, 480), (62, 480)])
    f = both(build([track]))
    assert f.polyphony_max == 3 and f.polyphony_avg == pytest.approx((1 + 3 + 1) / 3, abs=1e-4)


def test_melody_over_accompaniment_is_found_and_a_slow_pad_is_not():
    tune = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 72]
    melody = line([(p, 240) for p in tune])
    pads = chords([([48, 55, 64], 1920), ([53, 57, 60], 1920)], channel=1)
    f = both(build([melody, pads]))
    assert f.has_melody and f.has_chords
    slow_pads = chords(
        [([60, 64, 67], 1920), ([62, 65, 69], 1920), ([64, 67, 71], 1920), ([65, 69, 72], 1920)] * 3
    )
    assert not both(build([slow_pads])).has_melody


def test_drums_alone_have_no_pitched_facts():
    f = both(build([line([(36, 120), (38, 120)] * 8, channel=9)]))
    assert f.is_percussive and not f.is_monophonic and not f.has_melody and not f.has_chords
    assert (f.polyphony_max, f.polyphony_avg, f.unique_pitches) == (0, 0.0, 0)


def test_file_without_notes_gives_facts_not_an_error():
    f = both(build([[X("set_tempo", tempo=400000), X("track_name", name="Empty")]]))
    assert (f.total_notes, f.duration_ticks, f.duration_seconds, f.note_density) == (0, 0, 0.0, None)
    assert (f.bpm, f.bpm_source) == (150.0, "meta")
    assert f.velocity_min is None and f.pitch_min is None and f.instruments == []
    assert f.track_names == ["Empty"]


def test_large_file_takes_the_bounded_memory_path_with_the_same_answers(monkeypatch):
    rng = np.random.default_rng(7)
    pad = chords([([36, 43, 52], 48000)], channel=1)  # one long chord under everything
    tune = line([(int(p), 60) for p in rng.integers(60, 84, 800)])
    data = build([tune, pad])
    expected = facts(parse(data))
    monkeypatch.setattr(features, "_EXPAND_LIMIT", 64)
    blocked = facts(parse(data))
    assert same_facts(expected, blocked), diff_facts(expected, blocked)
    assert expected.has_melody and expected.has_chords and expected.polyphony_max == 4


# ---------------------------------------------------------------- the COPY row


def test_row_shape_matches_the_column_list():
    track = [X("track_name", name='Lead "A"\\1'), X("marker", text="Verse")] + line([(60, 480), (64, 480)])
    drums = [X("track_name", name="Drums")] + line([(36, 480)], channel=9)
    f = both(build([track, drums]))
    row = f.as_row()
    assert len(row) == len(FACT_COLUMNS) == len(Facts.__slots__)
    by_name = dict(zip([n for n, _ in FACT_COLUMNS], row, strict=True))
    assert json.loads(by_name["tempo_map"]) == [[0, 120.0]]
    assert json.loads(by_name["time_signatures"]) == []
    assert json.loads(by_name["instruments"]) == [
        {"channel": 0, "program": None, "is_drum": False, "note_count": 2, "name": 'Lead "A"\\1'},
        {"channel": 9, "program": None, "is_drum": True, "note_count": 1, "name": "Drums"},
    ]
    assert by_name["markers"] == ["Verse"] and by_name["copyright"] is None
    types = dict(FACT_COLUMNS)
    for name, value in by_name.items():
        kind = types[name]
        if value is None:
            continue
        if kind == "boolean":
            assert isinstance(value, bool), name
        elif kind in ("integer", "bigint", "smallint"):
            assert isinstance(value, int) and not isinstance(value, bool), name
        elif kind == "double precision":
            assert isinstance(value, float), name
        elif kind in ("text", "jsonb"):
            assert isinstance(value, str), name
        elif kind.endswith("[]"):
            assert isinstance(value, list), name


# ---------------------------------------------------------------- real songs


@pytest.fixture(scope="module")
def corpus() -> Path:
    """The real songs collected from Debian packages by tests.corpus (fetched once into its cache)."""
    try:
        return real_corpus()
    except CorpusError as exc:  # a missing corpus is a failure, never a silent skip
        pytest.fail(f"no real MIDI corpus: {exc}")


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "MANIFEST")


# Checked by hand by listing each file's events with mido (tempo, time-signature, program-change and
# control-change 0 messages, note-ons per channel): BPM = 60e6 / the tempo covering the most time.
DINK = "freedink-data/usr/share/games/dink/dink/Sound/"
HAND_CHECKED = {
    # 666666 us/quarter in 3/4, drum track on channel 10; piano (program 0) on channel 4, guitar (program
    # 24) on channels 15 and 16. Instruments are (channel index, program, drum, notes, name).
    "pianobooster/usr/share/doc/pianobooster/courses/BoosterMusic/02-LavendersBlue.mid": dict(
        bpm=90.0,
        ts=(3, 4),
        drums=True,
        instruments=[
            (3, 0, False, 48, "Solo-Right"),
            (14, 24, False, 48, "Plectrum-Pattern2"),
            (15, 24, False, 32, "Plectrum-Pattern5"),
            (9, 0, True, 51, "Drum"),
        ],
    ),
    # 857142 us (70 BPM) except a ritardando of 4 tempo events over 4 beats; 3/4; no channel 10; flute
    # (42) on channel 1, program 0 on channels 2 and 3
    DINK + "104.mid": dict(
        bpm=70.0,
        ts=(3, 4),
        drums=False,
        instruments=[(1, 0, False, 321, "Violin"), (2, 0, False, 1275, "Guitar"), (0, 42, False, 332, "Flute")],
        tempo_changes=True,
    ),
    # 21 tempo events around 625000 us (96 BPM); 4/4 with one bar of 3/4; piano only, channel 1
    DINK + "105.mid": dict(
        bpm=96.0, ts=(4, 4), drums=False, instruments=[(0, 0, False, 1244, "Piano")], tempo_changes=True
    ),
    # 500000 us, 4/4, GM2 banks: CC0=120 on channel 10 (two drum tracks), 121 on the melodic channels
    "timidity/usr/share/doc/timidity/examples/test_sample.mid": dict(
        bpm=120.0,
        ts=(4, 4),
        drums=True,
        instruments=[
            (1, 0, False, 297, "Piano"),
            (2, 26, False, 177, "Jazz Guitar"),
            (0, 33, False, 147, "Bass"),
            (9, 0, True, 473, "Drums"),
        ],
    ),
    # 1499999 us (40 BPM), 4/4, D major signature on every track. Tracks 0, 2 and 3 set programs 16, 17 and
    # 19 on channels 1, 2, 3; tracks 1 and 4 play channels 1 and 3 without a program change of their own,
    # so their notes sound with 16 and 19 too (529 + 509 and 489 + 185 note-ons).
    DINK + "13.mid": dict(
        bpm=40.0,
        ts=(4, 4),
        drums=False,
        key="D",
        instruments=[(0, 16, False, 1038, ""), (1, 17, False, 184, ""), (2, 19, False, 674, "")],
    ),
    # 458015 us (131 BPM), 4/4 with 6/4 bars; a setup track selects drum kit 16 on channel 10 and eleven
    # drum tracks play it without a program change of their own; track 12 plays channel 12, programmed
    # (50) by track 11 only; every other melodic part has a channel of its own
    "playmidi/usr/share/doc/playmidi/examples/gmstriving.mid": dict(
        bpm=131.0,
        ts=(4, 4),
        drums=True,
        instruments=[
            (0, 1, False, 1549, ""),
            (4, 29, False, 96, ""),
            (3, 30, False, 62, ""),
            (6, 35, False, 40, ""),
            (1, 37, False, 277, ""),
            (10, 47, False, 387, ""),
            (11, 50, False, 355, ""),
            (5, 55, False, 22, ""),
            (2, 68, False, 47, ""),
            (7, 96, False, 338, ""),
            (8, 102, False, 44, ""),
            (9, 16, True, 1912, ""),
        ],
    ),
    # format 0, 275229 us (218 BPM), 4/4, a lone C major signature (unknown), notes on channel 11 not 10
    DINK + "1003.mid": dict(bpm=218.0, ts=(4, 4), drums=False, key=None),
}


@pytest.mark.parametrize("name", sorted(HAND_CHECKED))
def test_hand_checked_real_files(corpus, name):
    truth = HAND_CHECKED[name]
    data = (corpus / name).read_bytes()
    f = both(data)
    assert f.bpm == truth["bpm"]
    assert (f.time_signature_numerator, f.time_signature_denominator) == truth["ts"]
    assert f.is_percussive is truth["drums"]
    if "instruments" in truth:
        assert f.instruments == truth["instruments"]
    if "key" in truth:
        assert f.key_from_signature == truth["key"]
    assert f.has_tempo_changes is truth.get("tempo_changes", False)


def test_real_files_duration_matches_mido_own_tempo_arithmetic(corpus):
    for path in corpus_files(corpus):
        mid = mido.MidiFile(path, clip=True)
        seconds = last_note_end = 0.0
        on: dict[tuple[int, int], int] = {}
        for msg in mid:  # mido merges the tracks and converts delta ticks to seconds through the tempo map
            seconds += msg.time
            if msg.type == "note_on" and msg.velocity:
                on[(msg.channel, msg.note)] = on.get((msg.channel, msg.note), 0) + 1
            elif msg.type in ("note_on", "note_off") and on.get((msg.channel, msg.note)):
                on[(msg.channel, msg.note)] -= 1
                last_note_end = seconds
        f = facts(parse(path.read_bytes()))
        assert f.duration_seconds == pytest.approx(last_note_end, abs=1e-6), path.name


def test_symusic_and_mido_give_the_same_facts_on_every_real_file(corpus):
    checked = 0
    for path in corpus_files(corpus):
        data = path.read_bytes()
        try:
            fast = facts(parse(data))
        except Exception:  # noqa: BLE001 - parity is claimed for the files symusic reads
            continue
        if fast.parser != "symusic":
            continue
        slow = facts(parse(data, suspect=True))
        assert slow.parser == "mido"
        assert same_facts(fast, slow), (path.name, diff_facts(fast, slow))
        checked += 1
    assert checked >= 20
