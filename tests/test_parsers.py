"""runner.parsers: both parsers give one Score shape, pair notes the same way, and fail with stable classes."""

from __future__ import annotations

import struct

import mido
import numpy as np
import pytest

from runner.parsers import ERROR_CLASSES, ParseError, Score, parse
from runner.trackheads import scan_track_headers
from tests import corpus
from tests.midi_build import build


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf(tracks: list[bytes], tpq: int = 480, fmt: int = 1, end_of_track: bool = True) -> bytes:
    """A standard MIDI file from raw track event bytes (end-of-track appended)."""
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), tpq)
    for body in tracks:
        if end_of_track:
            body += b"\x00\xff\x2f\x00"
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out



M = mido.Message
X = mido.MetaMessage


def notes_of(score: Score) -> list[tuple[int, int, int, int, int, int, bool]]:
    """Sorted (start, end, pitch, velocity, program, drum flag) of every note: parser-agnostic."""
    prog = [p.program for p in score.parts]
    drum = [p.is_drum for p in score.parts]
    rows = zip(
        score.note_start.tolist(),
        score.note_end.tolist(),
        score.note_pitch.tolist(),
        score.note_velocity.tolist(),
        score.note_part.tolist(),
        strict=True,
    )
    return sorted(((s, e, p, v, prog[i], drum[i]) for s, e, p, v, i in rows), key=lambda n: (*n[:4], n[4] is not None, n[4] or 0, n[5]))


def both(data: bytes) -> tuple[Score, Score]:
    """The symusic and the mido parse of the same bytes."""
    fast, slow = parse(data), parse(data, suspect=True)
    assert (fast.parser, slow.parser) == ("symusic", "mido")
    return fast, slow


def test_running_status_and_velocity_zero_note_off_pair_identically():
    # note-on C4, then running status: note-on D4, note-on C4 vel 0 (= off), D4 vel 0
    body = b"\x00\x90\x3c\x64" + b"\x60\x3e\x50" + b"\x60\x3c\x00" + b"\x60\x3e\x00"
    fast, slow = both(smf([body], tpq=96))
    expected = [(0, 192, 60, 100, None, False), (96, 288, 62, 80, None, False)]  # no program change: None
    assert notes_of(fast) == expected
    assert notes_of(slow) == expected


def test_overlapping_same_pitch_notes_are_paired_first_in_first_out():
    body = (
        b"\x00\x90\x3c\x40"  # on A at 0
        + b"\x0a\x90\x3c\x41"  # on B at 10
        + b"\x0a\x80\x3c\x00"  # off at 20 -> ends A
        + b"\x0a\x80\x3c\x00"  # off at 30 -> ends B
    )
    fast, slow = both(smf([body]))
    expected = [(0, 20, 60, 64, None, False), (10, 30, 60, 65, None, False)]
    assert notes_of(fast) == expected == notes_of(slow)


def test_unterminated_note_ends_with_its_track_in_the_mido_path():
    body = b"\x00\x90\x40\x40" + b"\x83\x60\x80\x40\x00" + b"\x00\x90\x43\x40" + b"\x81\x70\xff\x01\x01x"
    slow = parse(smf([body]), suspect=True)
    # E4 0..480 paired; G4 never switched off: ends at the track's last event, tick 720
    assert notes_of(slow) == [(0, 480, 64, 64, None, False), (480, 720, 67, 64, None, False)]
    fast = parse(smf([body]))
    assert notes_of(fast) == [(0, 480, 64, 64, None, False)]  # symusic drops it (documented)


def test_zero_length_notes_are_kept_by_both():
    body = b"\x00\x90\x3c\x40" + b"\x00\x80\x3c\x00" + b"\x10\x90\x3e\x40" + b"\x10\x80\x3e\x00"
    fast, slow = both(smf([body]))
    assert notes_of(fast) == notes_of(slow) == [(0, 0, 60, 64, None, False), (16, 32, 62, 64, None, False)]


def test_tracks_are_merged_by_absolute_tick():
    conductor = [
        X("track_name", name="Song Title"),
        X("copyright", text="(c) 2024 Someone"),
        X("set_tempo", tempo=500000),
        X("time_signature", numerator=6, denominator=8),
        X("key_signature", key="Ebm"),
        X("marker", text="Intro"),
        X("set_tempo", tempo=400000, time=1920),
        X("marker", text="Verse", time=0),
    ]
    melody = [
        X("track_name", name="Lead"),
        X("instrument_name", name="Flute 1"),
        M("program_change", program=73, time=0),
        M("note_on", note=72, velocity=90, time=960),
        M("note_off", note=72, time=960),
        X("set_tempo", tempo=600000, time=960),  # a tempo event outside the conductor track
        X("lyrics", text="la"),
    ]
    fast, slow = both(build([conductor, melody]))
    for score in (fast, slow):
        assert score.ticks_per_quarter == 480
        assert score.tempo_ticks.tolist() == [0, 1920, 2880]
        assert score.tempo_mspq.tolist() == [500000, 400000, 600000]
        assert (score.ts_ticks.tolist(), score.ts_numerator.tolist(), score.ts_denominator.tolist()) == (
            [0],
            [6],
            [8],
        )
        assert (score.ks_sharps.tolist(), score.ks_minor.tolist()) == ([-6], [True])
        assert score.track_names == ("Song Title", "Lead")
        assert score.instrument_names == ("Flute 1",)
        assert score.copyright == ("(c) 2024 Someone",)
        assert score.markers == ("Intro", "Verse")
        assert score.has_lyrics
        assert notes_of(score) == [(960, 1920, 72, 90, 73, False)]
        assert [p.name for p in score.parts] == ["Lead"]
    # symusic: the conductor track has no note, the melody one part: its channel is proven
    assert fast.parts[0].channel == 0 and slow.parts[0].channel == 0
    assert slow.parts[0].track == 1 and slow.note_track.tolist() == [1]


def test_program_changes_split_parts_and_drum_channel_is_flagged():
    track = [
        X("track_name", name="Band"),
        M("program_change", channel=0, program=33),
        M("note_on", channel=0, note=40, velocity=100),
        M("note_on", channel=9, note=36, velocity=110),
        M("note_off", channel=0, note=40, time=240),
        M("note_off", channel=9, note=36),
        M("program_change", channel=0, program=34),
        M("note_on", channel=0, note=43, velocity=100),
        M("note_off", channel=0, note=43, time=240),
    ]
    fast, slow = both(build([track]))
    expected = [(0, 240, 36, 110, None, True), (0, 240, 40, 100, 33, False), (240, 480, 43, 100, 34, False)]
    assert notes_of(fast) == notes_of(slow) == expected
    assert slow.program_changes.tolist() == [[0, 0, 33], [240, 0, 34]]
    assert fast.program_changes.shape == (0, 3)  # symusic keeps no program-change events
    # symusic: one MTrk, three parts, told apart by walking the (small) track: the channels are proven
    assert {p.program: p.channel for p in fast.parts} == {33: 0, 34: 0, None: 9}
    assert sorted(slow.note_channel.tolist()) == [0, 0, 9]


def part_channels(score: Score) -> list[tuple[int | None, int | None, bool, int]]:
    """(channel, program, drum flag, notes) of each part, sorted: what the instruments of a file are made of."""
    counts = np.bincount(score.note_part, minlength=len(score.parts))
    rows = [(p.channel, p.program, p.is_drum, int(c)) for p, c in zip(score.parts, counts, strict=True)]
    return sorted(rows, key=lambda r: tuple((v is None, v or 0) for v in r))


def test_three_parts_on_three_channels_keep_their_channels():
    """A three-part song as sequencers write it (a part per track, one program per channel 1-3): symusic's
    parts get their real channels, as mido's do, not the 'channel 1' symusic leaves them at."""
    conductor = [X("track_name", name="Purcell"), X("set_tempo", tempo=600000), X("time_signature", numerator=3, denominator=4)]
    voices = []
    for channel, program, pitches in ((0, 40, (72, 74, 76)), (1, 41, (64, 65, 67)), (2, 42, (48, 50, 52))):
        track = [X("track_name", name=f"Voice {channel + 1}"), M("program_change", channel=channel, program=program)]
        for pitch in pitches:
            track += [M("note_on", channel=channel, note=pitch, velocity=80), M("note_off", channel=channel, note=pitch, time=480)]
        voices.append(track)
    fast, slow = both(build([conductor, *voices]))
    expected = [(0, 40, False, 3), (1, 41, False, 3), (2, 42, False, 3)]
    assert part_channels(fast) == part_channels(slow) == expected


def test_one_track_of_several_channels_is_walked_or_proves_only_the_part_it_can():
    """One track playing several channels (as format 0 files do): symusic lists its parts sorted by (channel,
    program). A small track is walked whole to list them, so every part gets its channel; in a long one
    (over 8 KiB) only the part its first paired note went to is proven, when no other part has its
    program, and nothing else is guessed."""

    def one_track(programs: tuple[int, int, int], repeats: int) -> bytes:
        track = [M("program_change", channel=c, program=p) for c, p in zip((3, 5, 6), programs, strict=True)]
        for _ in range(repeats):
            for channel, pitch in ((3, 60), (5, 62), (6, 64)):
                track += [M("note_on", channel=channel, note=pitch, velocity=90),
                          M("note_off", channel=channel, note=pitch, time=120)]
        return build([track])

    for repeats in (1, 1000):  # 1000: 24 KB of events
        fast, slow = both(one_track((10, 12, 20), repeats))
        assert part_channels(slow) == [(3, 10, False, repeats), (5, 12, False, repeats), (6, 20, False, repeats)]
        if repeats == 1:
            assert part_channels(fast) == part_channels(slow)
        else:
            assert part_channels(fast) == [(3, 10, False, repeats), (None, 12, False, repeats), (None, 20, False, repeats)]
        fast, slow = both(one_track((10, 10, 20), repeats))  # two parts with program 10
        assert part_channels(slow) == [(3, 10, False, repeats), (5, 10, False, repeats), (6, 20, False, repeats)]
        if repeats == 1:
            assert part_channels(fast) == part_channels(slow)
        else:  # which part with program 10 is on channel index 3 cannot be told: none is guessed
            assert part_channels(fast) == [(None, 10, False, repeats)] * 2 + [(None, 20, False, repeats)]


def test_the_walk_pairs_notes_as_symusic_does_zero_length_ones_too():
    """A note switched off at the tick it starts is a part of its own for symusic (channel 11, program 12
    here, as in freedink's 1003.mid): the walk that lists the parts must count it, or no channel is proven."""
    track = [M("program_change", channel=10, program=12), M("note_on", channel=10, note=45, velocity=64),
             M("note_on", channel=10, note=45, velocity=0), M("program_change", channel=2, program=40),
             M("note_on", channel=2, note=60, velocity=90), M("note_off", channel=2, note=60, time=240)]
    fast, slow = both(build([track]))
    assert part_channels(fast) == part_channels(slow) == [(2, 40, False, 1), (10, 12, False, 1)]


def test_a_track_too_long_to_walk_leaves_channels_unknown():
    """A conductor track longer than the walk's budget might hide notes: nothing is guessed."""
    conductor = [X("set_tempo", tempo=500000 + i, time=10) for i in range(700)]
    melody = [M("program_change", channel=4, program=5), M("note_on", channel=4, note=60, velocity=90),
              M("note_off", channel=4, note=60, time=120)]
    fast, slow = both(build([conductor, melody]))
    assert part_channels(slow) == [(4, 5, False, 1)]
    assert part_channels(fast) == [(None, 5, False, 1)]


def test_symusic_never_states_a_channel_mido_contradicts_on_real_files():
    real = corpus.real_corpus()
    stated = 0
    for path in sorted(real.rglob("*")):
        if path.suffix.lower() not in (".mid", ".midi", ".kar", ".rmi"):
            continue
        data = path.read_bytes()
        try:
            fast, slow = parse(data), parse(data, suspect=True)
        except ParseError:
            continue
        if fast.parser != "symusic" or slow.parser != "mido":
            continue
        truth: dict[tuple[int, bool], int] = {}
        for c, _, d, n in part_channels(slow):
            truth[(c, d)] = truth.get((c, d), 0) + n
        said: dict[tuple[int, bool], int] = {}
        for c, _, d, n in part_channels(fast):
            if c is not None:
                said[(c, d)] = said.get((c, d), 0) + n
        for key, notes in said.items():  # symusic drops notes never switched off: at most mido's count
            assert 0 < notes <= truth.get(key, 0), (path.name, key, notes, truth)
        stated += len(said)
    assert stated >= 50


@pytest.mark.parametrize("bank", [120, 127])
def test_drum_bank_select_marks_the_part(bank):
    track = [
        M("control_change", channel=3, control=0, value=bank),
        M("control_change", channel=3, control=32, value=0),
        M("program_change", channel=3, program=0),
        M("note_on", channel=3, note=38, velocity=100),
        M("note_off", channel=3, note=38, time=120),
        M("control_change", channel=4, control=0, value=121),
        M("note_on", channel=4, note=60, velocity=100),
        M("note_off", channel=4, note=60, time=120),
    ]
    fast, slow = both(build([track]))
    for score in (fast, slow):
        flags = {
            int(score.note_pitch[score.note_part == i][0]): p.drum_bank for i, p in enumerate(score.parts)
        }
        assert flags == {38: True, 60: False}
    assert slow.bank_selects.tolist() == [[0, 3, 0, bank], [0, 3, 32, 0], [120, 4, 0, 121]]


def test_data_byte_above_127_falls_back_to_mido_with_clipping():
    body = b"\x00\x90\x3c\xc8" + b"\x60\x80\x3c\x00"  # velocity 200: symusic refuses
    score = parse(smf([body]))
    assert score.parser == "mido"
    assert notes_of(score) == [(0, 96, 60, 127, None, False)]


def test_riff_wrapped_file_is_unwrapped():
    inner = smf([b"\x00\x90\x3c\x40\x60\x80\x3c\x00"])
    data = b"RIFF" + struct.pack("<I", len(inner) + 12) + b"RMIDdata" + struct.pack("<I", len(inner)) + inner
    fast, slow = both(data)
    assert notes_of(fast) == notes_of(slow) == [(0, 96, 60, 64, None, False)]


def test_file_without_notes_is_a_fact_not_an_error():
    fast, slow = both(smf([b"\x00\xff\x51\x03\x07\xa1\x20"]))
    for score in (fast, slow):
        assert len(score.note_start) == 0 and score.parts == ()
        assert score.tempo_mspq.tolist() == [500000]
        assert score.note_start.dtype == np.int64 and score.note_part.dtype == np.int32


def test_karaoke_text_counts_as_lyrics():
    body = b"\x00\xff\x01\x13@KMIDI KARAOKE FILE" + b"\x00\x90\x3c\x40\x60\x80\x3c\x00"
    fast, slow = both(smf([body]))
    assert fast.has_lyrics and slow.has_lyrics


def test_truncated_file_fails_cleanly_and_its_header_walk_stops_at_the_end():
    body = b"\x00\xff\x03\x04Keys\x00\x90\x3c\x40\x60\x80\x3c\x00"
    cut = smf([body])[:-3]  # the chunk length now runs past the end of the data
    with pytest.raises(ParseError) as info:
        parse(cut)
    assert info.value.error_class == "parse_failed"
    assert "symusic" in info.value.message and "mido" in info.value.message
    assert scan_track_headers(cut, 14)[:3] == (("Keys",), (), ())
    assert scan_track_headers(cut[:25], 14)[:3] == (("",), (), ())  # cut inside the name: nothing invented


def test_non_utf8_names_are_read_as_latin1():
    body = b"\x00\xff\x03\x04Caf\xe9\x00\x90\x3c\x40\x60\x80\x3c\x00"
    assert parse(smf([body])).track_names == ("Café",)


@pytest.mark.parametrize(
    ("data", "error_class"),
    [
        (b"", "empty"),
        (b"hello, this is text and not a MIDI file", "not_midi"),
        (b"MThd\x00\x00\x00\x06\x00\x01", "bad_header"),
        (b"MThd\x00\x00\x00\x02\x00\x01\x00\x01\x01\xe0", "bad_header"),
        (smf([b"\x00\x90\x3c\x40"], tpq=0), "bad_header"),
        (smf([b"\x00\x90\x3c\x40"], tpq=0xE728), "smpte_division"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90", "parse_failed"),
        (smf([b"\x00\xf4\x01\x02"]), "parse_failed"),
    ],
)
def test_error_classes(data, error_class):
    for suspect in (False, True):
        with pytest.raises(ParseError) as info:
            parse(data, suspect=suspect)
        assert info.value.error_class == error_class
        assert info.value.message
        assert error_class in ERROR_CLASSES


def test_every_error_class_is_documented_in_words():
    assert set(ERROR_CLASSES) == {"empty", "not_midi", "bad_header", "smpte_division", "parse_failed"}
    assert all(isinstance(v, str) and len(v) > 10 for v in ERROR_CLASSES.values())


def test_score_arrays_have_the_documented_types():
    track = [M("note_on", note=60, velocity=127), M("note_off", note=60, time=10)]
    for score in both(build([track])):
        assert score.note_start.dtype == np.int64
        assert score.note_end.dtype == np.int64
        assert score.note_pitch.dtype == np.int16
        assert score.note_velocity.dtype == np.int16
        assert score.note_velocity.tolist() == [127]  # symusic stores int8: 127 must survive
        assert score.tempo_ticks.dtype == np.int64 and score.ks_minor.dtype == bool


def _smf(tracks: list[bytes]) -> bytes:
    head = b"MThd" + struct.pack(">IHHH", 6, 1, min(len(tracks), 0xFFFF), 96)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def test_a_channel_set_up_by_another_track_takes_the_last_setup():
    """A track that plays on a channel it never set up takes the program of the last other track that
    did (later tracks win), whichever order they come in."""
    setup = [b"\x00\xc0\x21\x00\xff\x2f\x00", b"\x00\xc0\x28\x00\xb0\x00\x7f\x00\xff\x2f\x00"]
    play = b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00"
    heads = scan_track_headers(_smf([setup[0], play, setup[1]]), 14)
    assert [(i.channel, i.program, i.bank) for i in heads.inherited] == [(0, 40, 127)]
    heads = scan_track_headers(_smf([setup[1], setup[0], play]), 14)
    assert [(i.channel, i.program, i.bank) for i in heads.inherited] == [(0, 33, 127)]


def test_thousands_of_tracks_are_read_in_linear_time():
    """Found by the fuzzer: a file of 8,000 short tracks took the header walk over 30 s (each track looked
    through every other one), so analysis timed out. 20,000 tracks now take a fraction of a second."""
    import time

    tracks = [bytes((0, 0xC0 | (i % 15), i % 128, 0, 0x90 | ((i + 1) % 15), 60, 64, 0x60, 0x80 | ((i + 1) % 15),
                     60, 64, 0, 0xFF, 0x2F, 0)) for i in range(20_000)]
    started = time.perf_counter()
    heads = scan_track_headers(_smf(tracks), 14)
    assert time.perf_counter() - started < 5  # was minutes
    assert len(heads.inherited) == 20_000
