"""Musical facts of one parsed file: numpy arithmetic on a `Score`, whichever parser produced it.

Timing comes from the tempo, time-signature and key-signature events of every track merged by absolute
tick, so seconds, BPM and density are right for files that change tempo. The key label itself is derived in
SQL from the stored pitch-class histogram, with the key profiles of the table midi.key_profiles (their one
home: neither this module nor the tests keep a copy).

Definitions that the SQL side relies on:

- `duration_ticks`: where the last note ends (the last tempo, time- or key-signature event if there are no
  notes); events after it are ignored.
- `bpm`: the tempo covering the most real time, rounded to 2 decimals (ties: the earliest);
  `bpm_source` is 'meta' when that tempo comes from a tempo event, 'default' for MIDI's implicit 120
  (the tempo the file plays at, used for seconds; analysis_apply stores no BPM for it).
- `time_signature_*`: the valid time signature covering the most ticks; None without one (MIDI's implied
  4/4 is not a fact of the file).
- `note_density`: notes per second; None when the file lasts no time.
- `instruments`: one entry per (channel, program, drum flag) with its note count and the name of its
  most-played named part; channel and program None where the parser cannot tell (runner.parsers).
- Drum notes: notes on MIDI channel 10, on a channel with a GM2 (MSB 120) or XG (MSB 127) drum bank, or in
  a track named like a drum part (`DRUM_NAME`). Never decided from pitch range. Pitch statistics,
  polyphony, chords, melody and the histogram use the other ("pitched") notes only.
- `polyphony_*`: notes sounding together (ends before starts at the same tick), average weighted by time
  over the instants where at least one pitched note sounds; `is_monophonic` is polyphony_max == 1 (a file
  without pitched notes is not monophonic); `has_chords`: 3+ distinct pitch classes sound at one instant.
- `has_melody`: the top line (highest pitched note sounding at each instant) has at least 4 distinct
  pitches and 8 changes of pitch, changes at least every 2 beats on average (beats at `bpm`), and its
  time-weighted median is C3 (48) or higher, so a bass line, a drum part or a slow pad is not a melody.
- `pitch_class_histogram`: seconds of sounding time per pitch class (C first) of pitched notes, summed over
  notes, normalized to 1 and rounded to 6 decimals; all zeros without pitched notes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

import numpy as np

from runner.parsers import Score

__all__ = [
    "DRUM_NAME",
    "FACT_COLUMNS",
    "KEY_NAMES",
    "Facts",
    "facts",
    "key_from_signature",
]

MAJOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
KEY_NAMES = MAJOR_NAMES + MINOR_NAMES
"""The 24 canonical key names, majors then minors, each by tonic pitch class 0 (C) to 11 (B)."""

DRUM_NAME = re.compile(
    r"\b(drums?|drum ?kit|percussion|perc|kit|kicks?|snares?|hi-?hats?|hats|toms?|cymbals?|claps?|shakers?"
    r"|congas?|bongos?|tambourines?|cowbells?)\b",
    re.IGNORECASE,
)
"""A track whose name matches holds drum notes whatever its channel (loop packs often use channel 1)."""

_DEFAULT_MSPQ = 500_000  # MIDI's tempo before any tempo event: 120 BPM
_EXPAND_LIMIT = 1 << 21  # note x segment cells expanded at once by the polyphony sweep
_MAX_TEXTS = 64  # distinct names, markers kept per list
_MELODY_MIN_PITCHES = 4
_MELODY_MIN_CHANGES = 8
_MELODY_MAX_BEATS = 2.0
_MELODY_MIN_MEDIAN = 48


@dataclass(slots=True)
class Facts:
    """The facts of one file; `as_row()` gives the COPY row in FACT_COLUMNS order."""

    parser: str
    ticks_per_quarter: int
    duration_ticks: int
    duration_seconds: float
    bpm: float
    bpm_source: str
    has_tempo_changes: bool
    tempo_map: list[tuple[int, float]]
    time_signature_numerator: int | None
    time_signature_denominator: int | None
    time_signatures: list[tuple[int, int, int]]
    key_from_signature: str | None
    total_notes: int
    drum_note_count: int
    unique_pitches: int
    pitch_min: int | None
    pitch_max: int | None
    velocity_min: int | None
    velocity_avg: float | None
    velocity_max: int | None
    note_density: float | None
    polyphony_max: int
    polyphony_avg: float
    is_monophonic: bool
    has_chords: bool
    has_melody: bool
    is_percussive: bool
    instruments: list[tuple[int | None, int | None, bool, int, str]]  # channel, program, is_drum, note_count, name
    track_names: list[str]
    instrument_names: list[str]
    copyright: str | None
    markers: list[str]
    has_lyrics: bool
    pitch_class_histogram: list[float]

    def as_row(self) -> tuple:
        """The COPY row: scalars as they are, lists of text or floats as arrays, structures as JSON text."""
        row = [getattr(self, name) for name in _COLUMN_NAMES]
        row[_TEMPO_MAP] = "[" + ",".join([f"[{t},{b!r}]" for t, b in self.tempo_map]) + "]"
        row[_TIME_SIGS] = "[" + ",".join([f"[{t},{a},{b}]" for t, a, b in self.time_signatures]) + "]"
        row[_INSTRUMENTS] = (
            "["
            + ",".join(
                [
                    f'{{"channel":{_json_int(ch)},"program":{_json_int(p)},"is_drum":{"true" if d else "false"},'
                    f'"note_count":{c},"name":{_json_str(n)}}}'
                    for ch, p, d, c, n in self.instruments
                ]
            )
            + "]"
        )
        return tuple(row)


_PG_TYPES = {
    "parser": "text",
    "ticks_per_quarter": "integer",
    "duration_ticks": "bigint",
    "duration_seconds": "double precision",
    "bpm": "double precision",
    "bpm_source": "text",
    "has_tempo_changes": "boolean",
    "tempo_map": "jsonb",
    "time_signature_numerator": "smallint",
    "time_signature_denominator": "smallint",
    "time_signatures": "jsonb",
    "key_from_signature": "text",
    "total_notes": "integer",
    "drum_note_count": "integer",
    "unique_pitches": "smallint",
    "pitch_min": "smallint",
    "pitch_max": "smallint",
    "velocity_min": "smallint",
    "velocity_avg": "double precision",
    "velocity_max": "smallint",
    "note_density": "double precision",
    "polyphony_max": "integer",
    "polyphony_avg": "double precision",
    "is_monophonic": "boolean",
    "has_chords": "boolean",
    "has_melody": "boolean",
    "is_percussive": "boolean",
    "instruments": "jsonb",
    "track_names": "text[]",
    "instrument_names": "text[]",
    "copyright": "text",
    "markers": "text[]",
    "has_lyrics": "boolean",
    "pitch_class_histogram": "double precision[]",
}
FACT_COLUMNS: tuple[tuple[str, str], ...] = tuple((f.name, _PG_TYPES[f.name]) for f in fields(Facts))
"""(column name, PostgreSQL type) of `Facts.as_row()`, in order: the analysis staging table's shape."""
_COLUMN_NAMES = tuple(name for name, _ in FACT_COLUMNS)
_TEMPO_MAP = _COLUMN_NAMES.index("tempo_map")
_TIME_SIGS = _COLUMN_NAMES.index("time_signatures")
_INSTRUMENTS = _COLUMN_NAMES.index("instruments")


def key_from_signature(sharps: int, minor: bool) -> str:
    """Canonical key name of a key-signature event (sharps > 0, flats < 0): (3, True) -> 'F#m'."""
    tonic = (sharps * 7 + (9 if minor else 0)) % 12
    return MINOR_NAMES[tonic] if minor else MAJOR_NAMES[tonic]


def facts(score: Score) -> Facts:
    """Compute every fact of one parsed file (see the module docstring for the definitions)."""
    tpq = score.ticks_per_quarter
    start = score.note_start
    end = score.note_end
    n = len(start)
    parts = score.parts

    if n:
        dur_ticks = int(end.max())
    else:
        dur_ticks = max(
            (int(a.max()) for a in (score.tempo_ticks, score.ts_ticks, score.ks_ticks) if len(a)), default=0
        )

    # Tempo segments inside the file: start tick, microseconds per quarter, from an event or not.
    seg_ticks, seg_mspq, seg_meta = _tempo_segments(score.tempo_ticks, score.tempo_mspq, dur_ticks)
    if len(seg_ticks) == 1:
        scale0 = float(seg_mspq[0]) / (1e6 * tpq)  # seconds per tick
        duration_seconds = dur_ticks * scale0
        bpm = round(60e6 / float(seg_mspq[0]), 2)
        bpm_meta = bool(seg_meta[0])
        changes = False
        tempo_map = [(0, bpm)]
    else:
        scale = seg_mspq / (1e6 * tpq)
        seg_sec = (np.append(seg_ticks[1:], dur_ticks) - seg_ticks) * scale
        sec_start = np.concatenate(([0.0], np.cumsum(seg_sec)[:-1]))
        duration_seconds = float(seg_sec.sum())
        bpms = np.round(60e6 / seg_mspq, 2)
        uniq, first, inv = np.unique(bpms, return_index=True, return_inverse=True)
        cover = np.bincount(inv, weights=seg_sec)
        best = int(first[cover >= cover.max() - 1e-9].min())  # ties: the earliest
        bpm = float(bpms[best])
        bpm_meta = bool(seg_meta[best])
        changes = len(uniq) > 1
        tempo_map = list(zip(seg_ticks.tolist(), bpms.tolist(), strict=True))

    def seconds(ticks: np.ndarray) -> np.ndarray:
        if len(seg_ticks) == 1:
            return ticks * scale0
        k = np.searchsorted(seg_ticks, ticks, side="right") - 1
        return sec_start[k] + (ticks - seg_ticks[k]) * scale[k]

    ts_num, ts_den, ts_list = _time_signature(score, dur_ticks)
    key_sig = _key_signature(score, dur_ticks)

    # Which notes are drums.
    part_drum = np.fromiter(
        (p.is_drum or p.drum_bank or DRUM_NAME.search(p.name) is not None for p in parts), bool, len(parts)
    )
    part_counts = np.bincount(score.note_part, minlength=len(parts)) if n else np.zeros(len(parts), np.int64)
    drum_notes = int(part_counts[part_drum].sum()) if part_drum.any() else 0
    if drum_notes:
        pitched = ~part_drum[score.note_part]
        ps, pe, pp = start[pitched], end[pitched], score.note_pitch[pitched]
    else:
        ps, pe, pp = start, end, score.note_pitch
    npitched = len(ps)

    vel = score.note_velocity
    if n:
        vel_min, vel_max = int(vel.min()), int(vel.max())
        vel_avg = round(int(vel.sum()) / n, 2)
    else:
        vel_min = vel_max = vel_avg = None

    hist = [0.0] * 12
    unique_pitches = 0
    pitch_min = pitch_max = None
    poly_max = 0
    poly_avg = 0.0
    has_chords = has_melody = False
    if npitched:
        counts = np.bincount(pp, minlength=128)
        present = np.flatnonzero(counts)
        unique_pitches = len(present)
        pitch_min, pitch_max = int(present[0]), int(present[-1])
        sounding = pe > ps
        if not sounding.all():
            ps, pe, pp = ps[sounding], pe[sounding], pp[sounding]
        if len(ps):
            pc = pp % 12
            h = np.bincount(pc, weights=seconds(pe) - seconds(ps), minlength=12)
            total = float(h.sum())
            if total > 0:
                hist = np.round(h / total, 6).tolist()
            poly_max, poly_avg, has_chords, has_melody = _sweep(
                ps, pe, pp, pc, total, pitch_min, pitch_max, 60.0 / bpm, seconds
            )

    instruments = _instruments(parts, part_counts, part_drum)
    return Facts(
        parser=score.parser,
        ticks_per_quarter=tpq,
        duration_ticks=dur_ticks,
        duration_seconds=duration_seconds,
        bpm=bpm,
        bpm_source="meta" if bpm_meta else "default",
        has_tempo_changes=changes,
        tempo_map=tempo_map,
        time_signature_numerator=ts_num,
        time_signature_denominator=ts_den,
        time_signatures=ts_list,
        key_from_signature=key_sig,
        total_notes=n,
        drum_note_count=drum_notes,
        unique_pitches=unique_pitches,
        pitch_min=pitch_min,
        pitch_max=pitch_max,
        velocity_min=vel_min,
        velocity_avg=vel_avg,
        velocity_max=vel_max,
        note_density=n / duration_seconds if duration_seconds > 0 else None,
        polyphony_max=poly_max,
        polyphony_avg=poly_avg,
        is_monophonic=poly_max == 1,
        has_chords=has_chords,
        has_melody=has_melody,
        is_percussive=drum_notes > 0,
        instruments=instruments,
        track_names=_distinct(score.track_names),
        instrument_names=_distinct(score.instrument_names),
        copyright=" | ".join(_distinct(score.copyright)) or None,
        markers=_distinct(score.markers),
        has_lyrics=score.has_lyrics,
        pitch_class_histogram=hist,
    )


def _tempo_segments(
    ticks: np.ndarray, mspq: np.ndarray, dur_ticks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tempo segments starting before `dur_ticks` (the first always kept): ticks, mspq, from-event flags.

    Several events at one tick: the last one wins (the order the parser merged tracks in). Before the first
    event MIDI plays at 120 BPM; consecutive equal tempos are merged.
    """
    if len(mspq) and (mspq <= 0).any():
        ok = mspq > 0
        ticks, mspq = ticks[ok], mspq[ok]
    if len(ticks) == 0:
        return np.zeros(1, np.int64), np.full(1, float(_DEFAULT_MSPQ)), np.zeros(1, bool)
    if len(ticks) == 1:
        if ticks[0] == 0 or dur_ticks <= 0:
            return np.zeros(1, np.int64), mspq.astype(np.float64), np.ones(1, bool)
        if ticks[0] >= dur_ticks:
            return np.zeros(1, np.int64), np.full(1, float(_DEFAULT_MSPQ)), np.zeros(1, bool)
    last = np.append(ticks[1:] != ticks[:-1], True)
    ticks, mspq = ticks[last], mspq[last]
    meta = np.ones(len(ticks), bool)
    if ticks[0] > 0:
        ticks = np.concatenate(([0], ticks))
        mspq = np.concatenate(([_DEFAULT_MSPQ], mspq))
        meta = np.concatenate(([False], meta))
    keep = max(1, int(np.searchsorted(ticks, dur_ticks, side="left")))
    ticks, mspq, meta = ticks[:keep], mspq[:keep], meta[:keep]
    if keep > 1:
        new = np.concatenate(([True], mspq[1:] != mspq[:-1]))
        ticks, mspq, meta = ticks[new], mspq[new], meta[new]
    return ticks.astype(np.int64), mspq.astype(np.float64), meta


def _changes(ticks: list[int], values: list, dur_ticks: int) -> list[tuple[int, object]]:
    """Events as (tick, value), last one per tick, consecutive repeats dropped, none at or after the end
    (except the first)."""
    out: list[tuple[int, object]] = []
    for tick, value in zip(ticks, values, strict=True):
        if out and tick >= dur_ticks:
            break
        if out and out[-1][0] == tick:
            out.pop()
        if not out or out[-1][1] != value:
            out.append((tick, value))
    return out


def _most_covering(events: list[tuple[int, object]], dur_ticks: int) -> object:
    """The value covering the most ticks of [0, dur_ticks]; the first event covers from 0; ties: earliest."""
    if len(events) == 1:
        return events[0][1]
    cover: dict[object, int] = {}
    for i, (tick, value) in enumerate(events):
        stop = events[i + 1][0] if i + 1 < len(events) else max(dur_ticks, tick)
        cover[value] = cover.get(value, 0) + stop - (0 if i == 0 else tick)
    top = max(cover.values())
    return next(v for v in cover if cover[v] == top)


# What musical_metadata holds (its CHECKs): a signature outside them (200/4, 3/128, 3/2**32 from a bad
# exponent byte) is not a fact the catalog can store, and is skipped like any other invalid one.
_TS_MAX_NUMERATOR = 64
_TS_DENOMINATORS = frozenset((1, 2, 4, 8, 16, 32, 64))


def _time_signature(
    score: Score, dur_ticks: int
) -> tuple[int | None, int | None, list[tuple[int, int, int]]]:
    """(numerator, denominator) covering the most ticks, and the list of changes; None, None when none."""
    if not len(score.ts_ticks):
        return None, None, []
    nums = score.ts_numerator.tolist()
    dens = score.ts_denominator.tolist()
    ticks = score.ts_ticks.tolist()
    valid = [
        (t, (a, b))
        for t, a, b in zip(ticks, nums, dens, strict=True)
        if 1 <= a <= _TS_MAX_NUMERATOR and b in _TS_DENOMINATORS
    ]
    if not valid:
        return None, None, []
    events = _changes([t for t, _ in valid], [v for _, v in valid], dur_ticks)
    num, den = _most_covering(events, dur_ticks)
    return num, den, [(t, v[0], v[1]) for t, v in events]


def _key_signature(score: Score, dur_ticks: int) -> str | None:
    """Key name of the key signature covering the most ticks; None when absent or only C major."""
    if not len(score.ks_ticks):
        return None
    sharps = score.ks_sharps.tolist()
    minor = score.ks_minor.tolist()
    valid = [
        (t, (s, bool(m)))
        for t, s, m in zip(score.ks_ticks.tolist(), sharps, minor, strict=True)
        if -7 <= s <= 7
    ]
    if all(v == (0, False) for _, v in valid):
        return None  # nothing, or sequencers' default C major
    events = _changes([t for t, _ in valid], [v for _, v in valid], dur_ticks)
    s, m = _most_covering(events, dur_ticks)
    return key_from_signature(s, m)


def _sweep(
    ps: np.ndarray,
    pe: np.ndarray,
    pp: np.ndarray,
    pc: np.ndarray,
    note_seconds: float,
    pmin: int,
    pmax: int,
    beat_seconds: float,
    seconds,
) -> tuple[int, float, bool, bool]:
    """Polyphony max/avg, chords and melody from one sweep over pitched note starts and ends.

    The instants between consecutive distinct start/end ticks are the segments; a note sounds in the
    segments from its start up to (not including) its end, so a note ending where another starts never
    overlaps it. Usually each note is expanded over the segments it covers (their total is the summed
    polyphony, small); when that would be huge (long notes over many thousands of segments), running
    sums of +1 at starts and -1 at ends give the same answers in bounded memory.
    """
    k = len(ps)
    ticks = np.concatenate((ps, pe))
    bounds = np.sort(ticks)  # the distinct ticks (np.unique without its Python overhead, ~2x faster on loops)
    if len(bounds) > 1:
        distinct = np.empty(len(bounds), bool)
        distinct[0] = True
        np.not_equal(bounds[1:], bounds[:-1], out=distinct[1:])
        bounds = bounds[distinct]
    inv = np.searchsorted(bounds, ticks)
    nseg = len(bounds) - 1
    si = inv[:k]
    ei = inv[k:]
    lengths = ei - si
    total = int(lengths.sum())
    dt = np.diff(seconds(bounds))
    if total <= _EXPAND_LIMIT:
        seg = np.repeat(si - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        poly = np.bincount(seg, minlength=nseg)
    else:
        seg = None
        poly = np.cumsum(np.bincount(si, minlength=nseg + 1) - np.bincount(ei, minlength=nseg + 1))[:-1]
    on = poly > 0
    poly_max = int(poly.max())
    on_time = float(dt[on].sum())
    # the time-weighted polyphony summed over time is the total sounding time of all notes
    poly_avg = round(note_seconds / on_time, 4) if on_time > 0 else float(poly_max)

    has_chords = False
    if poly_max >= 3:
        if seg is not None:
            # 16 flags per segment (12 used) read as two uint64 words; the multiply adds up their bytes
            present = np.zeros(nseg * 16, bool)
            present[seg * 16 + np.repeat(pc, lengths)] = True
            words = present.view(np.uint64).reshape(nseg, 2) * np.uint64(0x0101010101010101) >> np.uint64(56)
            has_chords = bool((words[:, 0] + words[:, 1] >= 3).any())
        else:
            flat = np.bincount(si * 12 + pc, minlength=(nseg + 1) * 12) - np.bincount(
                ei * 12 + pc, minlength=(nseg + 1) * 12
            )
            pcs = np.cumsum(flat.reshape(nseg + 1, 12), axis=0)[:-1]
            has_chords = bool(((pcs > 0).sum(axis=1) >= 3).any())

    has_melody = False
    if pmax - pmin + 1 >= _MELODY_MIN_PITCHES and k > _MELODY_MIN_CHANGES:
        if seg is not None:
            top = np.full(nseg, -1, np.int16)
            np.maximum.at(top, seg, np.repeat(pp, lengths))
        else:
            top = _skyline_blocked(si, ei, pp, nseg, pmin, pmax)
        top = top[on]
        moves = int(np.count_nonzero(top[1:] != top[:-1]))
        if moves >= _MELODY_MIN_CHANGES:
            weight = np.bincount(top - pmin, weights=dt[on])
            if np.count_nonzero(weight) >= _MELODY_MIN_PITCHES:
                beats = on_time / beat_seconds / (moves + 1)
                cum = np.cumsum(weight)
                median = pmin + int(np.searchsorted(cum, cum[-1] / 2))
                has_melody = beats <= _MELODY_MAX_BEATS and median >= _MELODY_MIN_MEDIAN
    return poly_max, poly_avg, has_chords, has_melody


def _skyline_blocked(
    si: np.ndarray, ei: np.ndarray, pp: np.ndarray, nseg: int, pmin: int, pmax: int
) -> np.ndarray:
    """Highest sounding pitch per segment (-1 where none) from running counts per (segment, pitch).

    Done in blocks of segments so memory stays bounded whatever the file.
    """
    width = pmax - pmin + 1
    block = max(1, _EXPAND_LIMIT // width)
    rows = np.concatenate((si, ei))
    deltas = np.concatenate((np.ones(len(si), np.int64), np.full(len(ei), -1, np.int64)))
    cols = np.concatenate((pp - pmin, pp - pmin))
    order = np.argsort(rows, kind="stable")
    rows, deltas, cols = rows[order], deltas[order], cols[order]
    out = np.empty(nseg, np.int16)
    carry = np.zeros(width, np.int64)
    for r0 in range(0, nseg, block):
        r1 = min(r0 + block, nseg)
        lo, hi = np.searchsorted(rows, [r0, r1])
        d = np.bincount(
            (rows[lo:hi] - r0) * width + cols[lo:hi], weights=deltas[lo:hi], minlength=(r1 - r0) * width
        )
        counts = np.cumsum(d.reshape(r1 - r0, width), axis=0) + carry
        carry = counts[-1]
        has = counts > 0
        out[r0:r1] = np.where(has.any(axis=1), pmin + width - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    return out


def _instruments(
    parts, part_counts: np.ndarray, part_drum: np.ndarray
) -> list[tuple[int | None, int | None, bool, int, str]]:
    """(channel, program, is_drum, note_count, name) per instrument: parts merged by channel, program and
    drum flag (None, what the parser cannot tell, is one value of its own).

    The name is that of the named part with the most notes (ties: the smallest name), so it does not
    depend on the order a parser lists parts in. A drum part's program is its kit number.
    """
    merged: dict[tuple[int | None, int | None, bool], list] = {}
    for part, count, drum in zip(parts, part_counts.tolist(), part_drum.tolist(), strict=True):
        if not count:
            continue
        row = merged.setdefault((part.channel, part.program, drum), [0, 0, ""])
        row[0] += count
        if part.name and (count > row[1] or (count == row[1] and part.name < row[2]) or not row[2]):
            row[1], row[2] = count, part.name
    order = sorted(merged, key=lambda k: (k[2], k[1] is None, k[1] or 0, k[0] is None, k[0] or 0))
    return [(k[0], k[1], k[2], merged[k][0], merged[k][2]) for k in order]


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(value)


def _json_str(text: str) -> str:
    """A JSON string literal (json.dumps only when escaping is needed)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def _distinct(texts) -> list[str]:
    """Non-empty texts, first occurrence order, at most _MAX_TEXTS."""
    out = list(dict.fromkeys(t for t in texts if t))
    return out[:_MAX_TEXTS]
