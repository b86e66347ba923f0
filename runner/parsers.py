"""Parse one MIDI file's bytes into a parser-agnostic `Score` of numpy arrays.

symusic is the fast path (C++, tick time); mido with `clip=True` is the fallback when symusic refuses the
file or when the import's structural read flagged it as suspect (symusic can abort the whole process on some
malformed input, mido only raises). Both produce the same `Score`, so `runner.features` never knows which
parser ran, and a test checks that both give the same facts on real files.

What symusic does not expose, and how the shape copes with it:

- symusic splits each MTrk into one track per (channel, program), lists an MTrk's tracks sorted by
  (channel, program), and keeps no channel number, only `is_drum` (channel 10). A `Part` is that unit in
  both paths (the mido path splits the same way); its `channel` is the real channel with mido. With
  symusic it is 9 for drum parts, and for the others it is proven from the track bytes
  (`runner.trackheads`): `scan_track_headers` walks each MTrk to the first note symusic pairs and notes
  the (channel, program) symusic files it under; when every MTrk is accounted for and each one that
  plays notes gave symusic exactly one part, the parts map onto the MTrks in order; else a small file's
  tracks are walked whole to list the parts symusic makes of them (`track_keys`); else, when only one
  MTrk plays notes, the one part with that program gets that channel. Anything else stays None
  (unknown), never a stand-in such as channel 1.
- A part's `program` is None when no program change set it (the player's default instrument, not
  piano): with mido, no program change on its channel before the note; with symusic, program 0 that no
  program change of its MTrk (before its first paired note) or of another track's setup gave it.
- symusic keeps no program-change or bank-select events: with symusic `program_changes` and `bank_selects`
  are empty and the parts carry the program; GM2/XG drum bank selects are read from each part's controls.
- symusic applies a program change only to notes of its own MTrk; a synthesizer applies it to the channel,
  whatever track plays it. The mido path gives each note the program and bank its channel had when the
  note started; the symusic path gets the same from the track headers: a track whose first note plays a
  channel that only another track's header set up (a setup track, drum tracks sharing one kit, a left
  hand on the right hand's channel) takes that program and bank (`_inherit_channel_setup`).
- symusic drops notes that are never switched off; the mido path ends them at the end of their track.
- symusic keeps neither copyright, instrument-name events nor the names of tracks without notes: those come
  from `scan_track_headers`, a bounded walk of each MTrk's leading events, used by both paths.
"""

from __future__ import annotations

import io
import resource
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
import symusic  # at module level: an import statement run per file costs ~12 us
import symusic.core

from runner.trackheads import Headers, Inherited, assign_channels, scan_track_headers

__all__ = ["ERROR_CLASSES", "ParseError", "Part", "Score", "parse"]

ERROR_CLASSES: dict[str, str] = {
    "empty": "the data has 0 bytes",
    "not_midi": "no MThd header at the start of the data, after a RIFF RMID wrapper, or in its first 512 bytes",
    "bad_header": "the MThd chunk is shorter than 6 bytes or its division is 0 ticks per quarter note",
    "smpte_division": "SMPTE time division (frames per second): timing without quarter notes is not analyzed",
    "parse_failed": "both symusic and mido refused the events of the file",
}
"""Every `ParseError.error_class`, with its one-line meaning. A file without notes is not an error."""

_KARAOKE_MARK = b"@KMIDI"  # .kar files carry their lyrics as text events announced by this
_DRUM_BANKS = (120, 127)  # bank select MSB of GM2 rhythm kits (0x78) and XG drum kits (0x7F)
_symusic_from_midi = symusic.core.ScoreTick.from_midi  # the factory's dispatch costs ~9 us per call
_MIDO_BYTES_PER_BYTE = 128  # memory mido needs per byte of MIDI data (measured: ~100; a message is an object)

_MAJOR_KEYS = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR_KEYS = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
_MIDO_KEYS: dict[str, tuple[int, bool]] = {
    **{key: (i - 7, False) for i, key in enumerate(_MAJOR_KEYS)},
    **{key + "m": (i - 7, True) for i, key in enumerate(_MINOR_KEYS)},
}
"""mido's key names -> (sharps, minor): index 7 is no sharp or flat."""


class ParseError(Exception):
    """The file could not be parsed; `error_class` is a key of ERROR_CLASSES."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message


@dataclass(frozen=True, slots=True)
class Part:
    """Notes of one MTrk on one channel with one program: the unit symusic calls a track."""

    track: int  # MTrk index, -1 when the parser does not say (symusic)
    channel: int | None  # 0-15, None when the parser cannot tell (symusic, see assign_channels)
    program: int | None  # GM program 0-127 in effect (the kit on a drum channel); None: none was set
    is_drum: bool  # MIDI channel 10 (index 9)
    drum_bank: bool  # a GM2 (MSB 120) or XG (MSB 127) drum bank was selected on it
    name: str  # the MTrk's track name ('' when none)


@dataclass(slots=True)
class Score:
    """One parsed file in tick time: notes as parallel numpy arrays plus the timing and text events."""

    parser: str  # 'symusic' or 'mido'
    ticks_per_quarter: int
    note_start: np.ndarray  # int64 ticks
    note_end: np.ndarray  # int64 ticks, >= note_start
    note_pitch: np.ndarray  # int16 0-127
    note_velocity: np.ndarray  # int16 1-127
    note_part: np.ndarray  # int32 index into parts
    parts: tuple[Part, ...]
    tempo_ticks: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )  # int64, sorted, all tracks
    tempo_mspq: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # microseconds per quarter
    ts_ticks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts_numerator: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts_denominator: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ks_ticks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ks_sharps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))  # -7..7, negative = flats
    ks_minor: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    program_changes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))  # tick, ch, prog
    bank_selects: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # tick, ch, cc, val
    track_names: tuple[str, ...] = ()  # one per MTrk, '' when unnamed
    instrument_names: tuple[str, ...] = ()
    copyright: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    has_lyrics: bool = False

    @property
    def note_channel(self) -> np.ndarray:
        """Channel of each note (-1 where the parser cannot tell)."""
        chans = np.fromiter((-1 if p.channel is None else p.channel for p in self.parts), np.int16, len(self.parts))
        return chans[self.note_part] if len(self.parts) else np.zeros(0, np.int16)

    @property
    def note_track(self) -> np.ndarray:
        """MTrk index of each note (-1 where the parser does not say)."""
        tracks = np.fromiter((p.track for p in self.parts), np.int32, len(self.parts))
        return tracks[self.note_part] if len(self.parts) else np.zeros(0, np.int32)



def parse(data: bytes, *, suspect: bool = False) -> Score:
    """Parse MIDI bytes: symusic first, mido when symusic raises or `suspect` is set.

    A suspect file goes to mido first and to symusic only if mido refuses it too.
    """
    smf = _locate_smf(data)
    header_end, tpq = _read_header(smf)
    heads = scan_track_headers(smf, header_end, int.from_bytes(smf[10:12], "big"))
    order = (_parse_mido, _parse_symusic) if suspect else (_parse_symusic, _parse_mido)
    errors = []
    for fn in order:
        try:
            score = fn(smf, tpq, heads)
        except MemoryError:
            raise  # the worker reports it as the file's out_of_memory error, not as a parser refusal
        except Exception as exc:  # noqa: BLE001 - any refusal means: try the other parser
            errors.append(f"{fn.__name__[7:]}: {type(exc).__name__}: {exc}")
            continue
        if score.parser == "symusic" and heads.inherited:
            _inherit_channel_setup(score, heads.inherited)
        score.track_names = heads.names
        score.instrument_names = heads.instruments
        score.copyright = heads.copyright
        score.has_lyrics = score.has_lyrics or _KARAOKE_MARK in smf
        return score
    raise ParseError("parse_failed", "; ".join(errors)[:500])


def _locate_smf(data: bytes) -> bytes:
    """The standard MIDI file inside `data`: all of it, or the MThd found after a RIFF/MacBinary prefix."""
    if not data:
        raise ParseError("empty", "the data has 0 bytes")
    if data[:4] == b"MThd":
        return data
    at = data.find(b"MThd", 0, 512)
    if at < 0:
        raise ParseError("not_midi", f"no MThd header, the data starts with {data[:8]!r}")
    return data[at:]


def _read_header(smf: bytes) -> tuple[int, int]:
    """(offset of the first chunk after MThd, ticks per quarter) or ParseError."""
    if len(smf) < 14:
        raise ParseError("bad_header", f"MThd needs 14 bytes, only {len(smf)} present")
    hlen = int.from_bytes(smf[4:8], "big")
    if hlen < 6:
        raise ParseError("bad_header", f"MThd length is {hlen}, expected 6")
    division = int.from_bytes(smf[12:14], "big")
    if division & 0x8000:
        raise ParseError("smpte_division", f"SMPTE division {division:#06x}")
    if division == 0:
        raise ParseError("bad_header", "division is 0 ticks per quarter note")
    return 8 + hlen, division



def _inherit_channel_setup(score: Score, inherited: tuple[Inherited, ...]) -> None:
    """Give symusic parts the program (and drum bank) their channel got from another track.

    symusic applies a program change only to notes of its own MTrk, but a synthesizer applies it to the
    channel whatever track plays it. The part is found by the track's first note (tick and pitch) among
    parts still at symusic's default program 0 or without one (or drum parts); mido's path does this for
    every note.
    """
    parts = list(score.parts)
    done: set[int] = set()
    for inh in inherited:
        for k, part in enumerate(parts):
            if k in done or (part.program not in (0, None) and not part.is_drum) or part.is_drum != (inh.channel == 9):
                continue
            mine = score.note_part == k
            if not np.any((score.note_start[mine] == inh.tick) & (score.note_pitch[mine] == inh.pitch)):
                continue
            done.add(k)
            program = part.program if inh.program is None else inh.program
            drum_bank = part.drum_bank or (inh.bank is not None and inh.bank in _DRUM_BANKS)
            parts[k] = replace(part, program=program, drum_bank=drum_bank)
            break
    score.parts = tuple(parts)



def _parse_symusic(smf: bytes, tpq: int, heads: Headers) -> Score:
    """The fast path: symusic's C++ reader, one numpy copy per part."""
    score = _symusic_from_midi(smf, False)
    tracks = score.tracks
    starts: list[np.ndarray] = []
    durs: list[np.ndarray] = []
    pitches: list[np.ndarray] = []
    vels: list[np.ndarray] = []
    found: list[tuple[int, bool, bool, str]] = []  # program, is_drum, drum bank, name of each part
    check_banks = any(smf.find(b"\x00" + bytes((v,)), 14) >= 0 for v in _DRUM_BANKS)
    has_lyrics = False
    for t in tracks:
        if t.lyrics:
            has_lyrics = True
        notes = t.notes
        if not len(notes):
            continue
        arr = notes.numpy()
        starts.append(arr["time"])
        durs.append(arr["duration"])
        pitches.append(arr["pitch"])
        vels.append(arr["velocity"])
        is_drum = bool(t.is_drum)
        bank = False
        if check_banks and not is_drum and len(t.controls):
            cc = t.controls.numpy()
            msb = cc["value"][cc["number"] == 0]
            bank = len(msb) > 0 and not set(msb.tolist()).isdisjoint(_DRUM_BANKS)
        found.append((int(t.program), is_drum, bank, t.name))
    channels, explicit = assign_channels([(f[0], f[1]) for f in found], heads.tracks, smf)
    # symusic's program 0 is also its default: a program only when a program change of the MTrk set it
    parts = [Part(-1, channel, program if program or set_by_change else None, is_drum, bank, name)
             for (program, is_drum, bank, name), channel, set_by_change in zip(found, channels, explicit, strict=True)]
    if parts:
        counts = np.fromiter((len(a) for a in starts), np.int64, len(starts))
        start = np.concatenate(starts).astype(np.int64)
        end = start + np.concatenate(durs)
        pitch = np.concatenate(pitches).astype(np.int16)
        # symusic stores velocity as int8: 128..255 never occur (clipped to 127 by MIDI itself)
        velocity = np.concatenate(vels).astype(np.int16)
        part = np.repeat(np.arange(len(parts), dtype=np.int32), counts)
    else:
        start = end = np.zeros(0, np.int64)
        pitch = velocity = np.zeros(0, np.int16)
        part = np.zeros(0, np.int32)
    tempos = score.tempos.numpy()
    ts = score.time_signatures.numpy()
    ks = score.key_signatures.numpy()
    return Score(
        parser="symusic",
        ticks_per_quarter=tpq,
        note_start=start,
        note_end=end,
        note_pitch=pitch,
        note_velocity=velocity,
        note_part=part,
        parts=tuple(parts),
        tempo_ticks=tempos["time"].astype(np.int64),
        tempo_mspq=tempos["mspq"].astype(np.int64),
        ts_ticks=ts["time"].astype(np.int64),
        ts_numerator=ts["numerator"].astype(np.int64),
        ts_denominator=ts["denominator"].astype(np.int64),
        ks_ticks=ks["time"].astype(np.int64),
        ks_sharps=ks["key"].astype(np.int16),
        ks_minor=ks["tonality"].astype(bool),
        markers=tuple(t for m in score.markers if (t := m.text.replace("\x00", "").strip())),
        has_lyrics=has_lyrics,
    )


def _mido_fits(size: int) -> None:
    """MemoryError, before mido starts, when the process's address-space limit cannot hold what mido needs
    for `size` bytes: near the limit, pure Python code does not fail cleanly (it crashes or thrashes)."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return
    try:
        with open("/proc/self/statm", "rb") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        used = 0
    need = size * _MIDO_BYTES_PER_BYTE
    if used + need > limit:
        raise MemoryError(f"mido would need about {need >> 20} MiB for {size} bytes; {(limit - used) >> 20} MiB left")


def _parse_mido(smf: bytes, tpq: int, heads: Headers | None = None) -> Score:  # noqa: ARG001 - one signature
    """The fallback: mido with clip=True, paired into notes here (FIFO per channel and pitch).

    Program and bank select are channel state over all tracks in time order, as a synthesizer sees them:
    each note gets the program and bank MSB its channel had when it started.
    """
    import mido

    _mido_fits(len(smf))

    mid = mido.MidiFile(file=io.BytesIO(smf), clip=True)
    raw: list[tuple[int, int, int, int, int, int]] = []  # start, end, pitch, velocity, channel, track
    programs: list[tuple[int, int, int]] = []
    banks: list[tuple[int, int, int, int]] = []
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int, bool]] = []
    markers: list[tuple[int, str]] = []
    track_names: list[str] = []
    has_lyrics = False
    for ti, track in enumerate(mid.tracks):
        name = ""
        tick = 0
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = {}
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), deque()).append((tick, msg.velocity))
            elif kind == "note_off" or kind == "note_on":
                queue = open_notes.get((msg.channel, msg.note))
                if queue:
                    start, vel = queue.popleft()
                    raw.append((start, tick, msg.note, vel, msg.channel, ti))
            elif kind == "program_change":
                programs.append((tick, msg.channel, msg.program))
            elif kind == "control_change":
                if msg.control in (0, 32):
                    banks.append((tick, msg.channel, msg.control, msg.value))
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif kind == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "key_signature":
                sharps, minor = _MIDO_KEYS[msg.key]
                keys.append((tick, sharps, minor))
            elif kind == "track_name":
                name = _mido_text(msg.name)
            elif kind == "marker":
                markers.append((tick, msg.text))
            elif kind == "lyrics":
                has_lyrics = True
        for (channel, pitch), queue in open_notes.items():
            for start, vel in queue:  # never switched off: ends with its track
                raw.append((start, tick, pitch, vel, channel, ti))
        track_names.append(name)

    program_at = _channel_state([(t, c, p) for t, c, p in programs])
    bank_at = _channel_state([(t, c, v) for t, c, cc, v in banks if cc == 0])
    parts: list[Part] = []
    index: dict[tuple[int, int, int, bool], int] = {}
    note_rows: list[tuple[int, int, int, int, int]] = []
    for start, end, pitch, vel, channel, ti in raw:
        prog = program_at(channel, start)
        drum_bank = bank_at(channel, start) in _DRUM_BANKS
        pkey = (ti, channel, prog, drum_bank)
        pi = index.get(pkey)
        if pi is None:
            pi = index[pkey] = len(parts)
            parts.append(Part(ti, channel, prog, channel == 9, drum_bank, track_names[ti]))
        note_rows.append((start, end, pitch, vel, pi))
    notes = np.array(note_rows, dtype=np.int64).reshape(-1, 5)
    if len(notes):
        notes = notes[np.lexsort((notes[:, 4], notes[:, 0]))]
    tempo = np.array(tempos, dtype=np.int64).reshape(-1, 2)
    tempo = tempo[np.argsort(tempo[:, 0], kind="stable")]
    sig = np.array(sigs, dtype=np.int64).reshape(-1, 3)
    sig = sig[np.argsort(sig[:, 0], kind="stable")]
    key = np.array(keys, dtype=np.int64).reshape(-1, 3)
    key = key[np.argsort(key[:, 0], kind="stable")]
    markers.sort(key=lambda m: m[0])
    return Score(
        parser="mido",
        ticks_per_quarter=tpq,
        note_start=notes[:, 0].copy(),
        note_end=notes[:, 1].copy(),
        note_pitch=notes[:, 2].astype(np.int16),
        note_velocity=notes[:, 3].astype(np.int16),
        note_part=notes[:, 4].astype(np.int32),
        parts=tuple(parts),
        tempo_ticks=tempo[:, 0].copy(),
        tempo_mspq=tempo[:, 1].copy(),
        ts_ticks=sig[:, 0].copy(),
        ts_numerator=sig[:, 1].copy(),
        ts_denominator=sig[:, 2].copy(),
        ks_ticks=key[:, 0].copy(),
        ks_sharps=key[:, 1].astype(np.int16),
        ks_minor=key[:, 2].astype(bool),
        program_changes=np.array(programs, dtype=np.int64).reshape(-1, 3),
        bank_selects=np.array(banks, dtype=np.int64).reshape(-1, 4),
        markers=tuple(t for _, m in markers if (t := _mido_text(m))),
        has_lyrics=has_lyrics,
    )


def _channel_state(events: list[tuple[int, int, int]]):
    """value_at(channel, tick): the value of the last (tick, channel, value) event at or before tick, else
    None (no event set it).

    Events at one tick keep their track order (a stable sort), so the later track wins.
    """
    by_channel: dict[int, tuple[list[int], list[int]]] = {}
    for tick, channel, value in sorted(events, key=lambda e: e[0]):
        ticks, values = by_channel.setdefault(channel, ([], []))
        ticks.append(tick)
        values.append(value)

    def value_at(channel: int, tick: int) -> int | None:
        found = by_channel.get(channel)
        if found is None:
            return None
        i = bisect_right(found[0], tick)
        return found[1][i - 1] if i else None

    return value_at


def _mido_text(text: str) -> str:
    """mido decodes meta text as Latin-1: re-read the bytes as UTF-8 like symusic does."""
    return text.encode("latin-1", "replace").decode("utf-8", "replace").replace("\x00", "").strip()
