"""A generated sample-pack MIDI library with known truth, for the import and analysis benchmarks.

``generate(root, n)`` writes ``root/lib-<n>-s<seed>/`` laid out as real packs are
(``manufacturer/collection/category[/sub]/name.mid``) with the true BPM, key, meter and drum flag of every
file recorded in a manifest, so the benchmarks can score what the analyzer finds. Everything streams: one
random generator drives the whole run in file order, files are written as they are made, and the manifest
is written row by row, so memory stays flat and the same seed gives the same bytes.

The manifest and the completion marker sit *beside* the library (``lib-<n>-s<seed>.manifest.tsv`` and
``lib-<n>-s<seed>.complete``), not inside it, so an import of the library folder sees exactly the files
the manifest lists: MIDI files (kind ``midi``) and a few non-MIDI files (kind ``other``).
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import os
import random
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TextIO

# Part of the cache key: bump it whenever the bytes written for a given seed change.
GENERATOR_VERSION = 2
MIN_SIZE = 150
MAX_SIZE = 50_000

# ---------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------

MAJOR_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
# Other spellings that real file names use for the same tonic.
_ALT_MAJOR = {1: "Db", 3: "D#", 6: "Gb", 8: "G#", 10: "A#"}
_ALT_MINOR = {1: "Db", 3: "D#", 6: "Gb", 8: "Ab", 10: "A#"}
# Key-signature meta events: sharps (+) or flats (-) of each canonical key.
_SF_MAJOR = (0, 7, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)
_SF_MINOR = (-3, 4, -1, -6, 1, -4, 3, -2, 5, 0, -5, 2)

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_HARMONIC = (0, 2, 3, 5, 7, 8, 11)

# Four-chord templates (scale degrees) that start and end on the tonic, so the key is audible.
_PROGS_MAJOR = ((0, 3, 4, 0), (0, 4, 5, 0), (0, 5, 3, 0), (0, 1, 4, 0), (0, 4, 3, 0), (0, 3, 1, 0))
_PROGS_MINOR = (
    (0, 5, 6, 0),
    (0, 3, 4, 0),
    (0, 6, 4, 0),
    (0, 3, 6, 0),
    (0, 5, 4, 0),
    (0, 2, 6, 0),
    (0, 4, 3, 0),
)

# Melody weights per scale degree: tonic and dominant emphasis, third next.
_DEGREE_WEIGHTS_MAJOR = (5.0, 2.0, 3.0, 1.5, 5.0, 1.5, 1.5)
_DEGREE_WEIGHTS_MINOR = (5.0, 2.0, 4.0, 1.5, 5.0, 1.5, 1.5)


def key_name(tonic: int, minor: bool) -> str:
    """Canonical key name: C C# D Eb E F F# G Ab A Bb B, minors with a trailing m (Abm, Bbm)."""
    return MINOR_KEYS[tonic] if minor else MAJOR_KEYS[tonic]


def _scale(minor: bool, degree: int) -> tuple[int, ...]:
    """The scale used over a chord: harmonic minor over V in minor keys, else natural minor or major."""
    if minor:
        return _HARMONIC if degree == 4 else _MINOR
    return _MAJOR


@functools.lru_cache(maxsize=256)
def _chord(minor: bool, degree: int, size: int) -> tuple[int, ...]:
    """Semitone offsets above the tonic of the triad or seventh chord built on a scale degree."""
    scale = _scale(minor, degree)
    out = []
    for i in range(size):
        idx = degree + 2 * i
        out.append(scale[idx % 7] + 12 * (idx // 7))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _melody_weights(minor: bool, degree: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Scale offsets and cumulative weights for melody notes over one chord (chord tones favoured)."""
    scale = _scale(minor, degree)
    if degree == 0:
        # over the home chord the line stays on its tones (root, third, fifth), with a neighbour note
        weights = [4.0, 1.0, 3.0, 0.0, 4.0, 0.0, 1.0]
    else:
        weights = list(_DEGREE_WEIGHTS_MINOR if minor else _DEGREE_WEIGHTS_MAJOR)
        for i in (0, 2, 4):
            weights[(degree + i) % 7] += 1.0
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return scale, tuple(cum)


# ---------------------------------------------------------------------------------------------------
# Catalogue: categories, genres, manufacturers, words
# ---------------------------------------------------------------------------------------------------

DRUM_CATEGORIES = ("Drums", "Kick", "Snare", "Hats", "Percussion")
MELODIC_CATEGORIES = ("Bass", "Chords", "Pads", "Leads", "Melodies", "Arps", "Keys", "Strings", "Brass", "FX")
FULL_MIX = "Full Mix"
CATEGORIES = DRUM_CATEGORIES + MELODIC_CATEGORIES + (FULL_MIX,)


@dataclass(frozen=True)
class _Cat:
    """How one category looks on disk and in its notes."""

    weight: float
    programs: tuple[int, ...]
    folders: tuple[str, ...]  # folder-name variants, the first the most common
    subs: tuple[str, ...]  # deeper folders some packs use
    words: tuple[str, ...]  # words for file names


_CATS: dict[str, _Cat] = {
    "Drums": _Cat(
        14,
        (),
        ("Drums", "Drum Loops", "Beats"),
        ("Top Loops", "Fills", "Full Kit", "Breaks"),
        ("Drums", "Beat", "Drum Loop", "Groove", "Full Drums", "Top"),
    ),
    "Kick": _Cat(5, (), ("Kick", "Kicks"), ("808 Kicks", "Four To The Floor"), ("Kick", "Kick Loop", "BD")),
    "Snare": _Cat(
        4, (), ("Snare", "Snares & Claps"), ("Claps", "Rims"), ("Snare", "Clap", "SD", "Snare Roll")
    ),
    "Hats": _Cat(
        5,
        (),
        ("Hats", "Hi Hats", "HiHats"),
        ("Open Hats", "Closed Hats"),
        ("Hats", "HiHat", "Hat Loop", "HH"),
    ),
    "Percussion": _Cat(
        5,
        (),
        ("Percussion", "Perc"),
        ("Shakers", "Congas", "Tops"),
        ("Perc", "Percussion", "Shaker", "Conga", "Bongo"),
    ),
    "Bass": _Cat(
        12,
        tuple(range(32, 40)),
        ("Bass", "Basslines", "Bass Loops"),
        ("Sub Bass", "Reese", "808 Bass", "Synth Bass"),
        ("Bass", "Bassline", "Sub", "Sub Bass", "Reese"),
    ),
    "Chords": _Cat(
        10,
        (0, 1, 2, 4, 5, 16, 17, 18, 19),
        ("Chords", "Chord Progressions"),
        ("Stabs", "Progressions"),
        ("Chords", "Chord", "Stab", "Progression"),
    ),
    "Pads": _Cat(
        6, tuple(range(88, 96)), ("Pads", "Pad"), ("Atmos", "Evolving"), ("Pad", "Pads", "Atmos", "Warm Pad")
    ),
    "Leads": _Cat(
        8, tuple(range(80, 88)), ("Leads", "Lead"), ("Plucks", "Hooks"), ("Lead", "Synth Lead", "Pluck")
    ),
    "Melodies": _Cat(
        9,
        tuple(range(0, 16)) + tuple(range(24, 32)) + tuple(range(64, 80)),
        ("Melodies", "Melody Loops"),
        ("Toplines", "Hooks"),
        ("Melody", "Mel", "Topline", "Hook"),
    ),
    "Arps": _Cat(
        6,
        tuple(range(80, 88)) + tuple(range(8, 16)),
        ("Arps", "Arpeggios"),
        ("Sequences",),
        ("Arp", "Arpeggio", "Seq"),
    ),
    "Keys": _Cat(
        5,
        tuple(range(0, 8)),
        ("Keys", "Piano"),
        ("Piano", "Rhodes", "Organ"),
        ("Keys", "Piano", "Rhodes", "EP"),
    ),
    "Strings": _Cat(
        3,
        (48, 49, 50, 51),
        ("Strings",),
        ("Ensemble", "Pizzicato"),
        ("Strings", "Violin", "Cello", "Ensemble"),
    ),
    "Brass": _Cat(
        2,
        tuple(range(56, 64)),
        ("Brass", "Horns"),
        ("Stabs", "Section"),
        ("Brass", "Horns", "Trumpet", "Brass Stab"),
    ),
    "FX": _Cat(
        2, tuple(range(96, 104)), ("FX", "SFX"), ("Risers", "Impacts"), ("FX", "Riser", "Sweep", "Uplifter")
    ),
    FULL_MIX: _Cat(
        2,
        (),
        ("Full Mix", "Full Mixes", "Songs"),
        ("Construction Kits", "Arrangements"),
        ("Full Mix", "Song", "Full", "Arrangement"),
    ),
}

# name, file-name prefix, BPM range, drum style, share of odd meters (3/4, 6/8, 7/8)
_GENRES: tuple[tuple[str, str, int, int, str, float], ...] = (
    ("Deep House", "DeepHouse", 118, 124, "four", 0.0),
    ("Tech House", "TechHouse", 124, 128, "four", 0.0),
    ("Techno", "Techno", 125, 140, "four", 0.0),
    ("Melodic Techno", "MelodicTechno", 120, 126, "four", 0.0),
    ("Trance", "Trance", 132, 140, "four", 0.0),
    ("Progressive House", "ProgHouse", 122, 128, "four", 0.0),
    ("Afro House", "AfroHouse", 118, 124, "four", 0.05),
    ("Disco", "Disco", 112, 124, "four", 0.0),
    ("Drum & Bass", "DnB", 170, 176, "dnb", 0.0),
    ("Jungle", "Jungle", 160, 170, "dnb", 0.0),
    ("Dubstep", "Dubstep", 140, 140, "half", 0.0),
    ("Trap", "Trap", 130, 150, "trap", 0.0),
    ("Drill", "Drill", 140, 145, "trap", 0.0),
    ("Hip Hop", "HipHop", 85, 98, "break", 0.02),
    ("Boom Bap", "BoomBap", 86, 96, "break", 0.0),
    ("Lo-Fi", "LoFi", 70, 90, "break", 0.05),
    ("R&B", "RnB", 62, 80, "break", 0.05),
    ("Pop", "Pop", 95, 125, "break", 0.05),
    ("Future Bass", "FutureBass", 140, 160, "half", 0.0),
    ("Synthwave", "Synthwave", 80, 118, "four", 0.0),
    ("UK Garage", "UKG", 130, 134, "break", 0.0),
    ("Reggaeton", "Reggaeton", 90, 100, "break", 0.0),
    ("Funk", "Funk", 95, 112, "break", 0.02),
    ("Soul", "Soul", 70, 100, "break", 0.1),
    ("Jazz", "Jazz", 90, 160, "break", 0.3),
    ("Cinematic", "Cinematic", 60, 120, "break", 0.4),
    ("Ambient", "Ambient", 60, 90, "four", 0.3),
    ("Latin", "Latin", 95, 125, "break", 0.15),
    ("Hardstyle", "Hardstyle", 150, 155, "four", 0.0),
    ("Chillout", "Chillout", 80, 110, "break", 0.1),
)

# Invented labels; a few carry characters an importer must quote correctly (', &, non-ASCII, digits).
_MANUFACTURERS = (
    "Loopmasters",
    "Groove Foundry",
    "MIDI Kingdom",
    "Sonic Tile",
    "Wavebox Audio",
    "Studio Forty",
    "Night Owl Samples",
    "Red Room Audio",
    "Chord Cartel",
    "Pulse Division",
    "Deep Data Loops",
    "Blue Lantern",
    "Producer's Choice",
    "MIDI & More",
    "Böse Beats",
    "Sample-Lab",
    "K-Tone",
    "808 Collective",
    "Harmonic Supply",
    "Basement Tapes Co",
    "Neon Grid",
    "Low End Theory Audio",
    "Velvet Keys",
    "Circuit Bent",
    "Stereo Monks",
    "Hook Factory",
    "Tempo Tribe",
    "Analog Attic",
    "Function Forms",
    "Drumhaus",
    "Cloud Nine Sounds",
    "Raw Cuts",
    "Urban Melodics",
    "Crate Diggers Union",
    "Polyphonic Labs",
    "Soundweave",
    "Gold Fader",
    "Prime Notes",
    "Westside Loops",
    "Aether Audio",
)
_SUFFIXES = (
    "Essentials",
    "Grooves",
    "Sessions",
    "Toolkit",
    "Anthems",
    "Vibes",
    "Foundations",
    "MIDI Pack",
    "Loops",
    "Construction Kits",
    "Elements",
    "Nights",
    "Underground",
    "Classics",
    "Heat",
    "Signature Series",
    "Starter Pack",
    "Collection",
    "Motifs",
    "Selections",
)
_STRUCTURE = (
    "Intro",
    "Verse",
    "Chorus",
    "Fill",
    "Loop",
    "Break",
    "Drop",
    "Hook",
    "Bridge",
    "Outro",
    "Build",
    "Groove",
    "Main",
    "Alt",
)
# Words that look like keys or tempi but are not: chord symbols, drum machines, versions, bar counts.
_TRAPS_CHORD = ("Cmaj7", "Dm7", "Fmaj7", "G7", "Am9", "Bbmaj9", "Gsus4", "Emin7")
_TRAPS_DRUM = ("808", "909", "707")
_TRAPS_ANY = ("v2", "V3", "x2", "4bar", "8 Bars", "2bars", "Vol 3")
_BPM_FORMATS = ("{}bpm", "{}_BPM", "{} BPM", "{}BPM", "{}Bpm", "{}")
# (minor, major) key formats; a bare major tonic is used only for sharps and flats (a lone "A" is ambiguous).
_KEY_FORMATS = (
    ("{}m", "{}maj"),
    ("{}m", "{}"),
    ("{} min", "{} maj"),
    ("{}_minor", "{}_major"),
    ("{}min", "{}maj"),
    ("{} Minor", "{} Major"),
    ("{}m", "{}Maj"),
    ("{}m", "{} major"),
)
_SEPARATORS = ("_", "_", "_", " ", " ", "-", " - ", ".")
_ORDERS = ("pcsbki", "pcsbki", "pcskbi", "pcsikb", "bkpcs", "ipcsbk", "pcbks", "cpsbk")
_RENAMES = ("Copy of {}", "{} - Copy", "{}_copy", "{} copy", "{}_alt", "{}_old", "{} (copy)", "{}_final")

_GM_PERC = (54, 56, 60, 61, 62, 63, 64, 69, 70, 75, 76, 77, 82)
_TOMS = (50, 48, 47, 45, 43, 41)

# ---------------------------------------------------------------------------------------------------
# Standard MIDI File bytes
# ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _vlq(n: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _meta(kind: int, data: bytes) -> bytes:
    """A meta event at delta time 0."""
    return b"\x00\xff" + bytes((kind,)) + _vlq(len(data)) + data


def _tempo(bpm: float) -> bytes:
    """Set-tempo meta: microseconds per quarter note, rounded so the BPM recovers to 2 decimals."""
    return _meta(0x51, round(60_000_000 / bpm).to_bytes(3, "big"))


def _timesig(num: int, den: int) -> bytes:
    """Time-signature meta (denominator as a power of two, 24 clocks per quarter, 8 32nds per quarter)."""
    return _meta(0x58, bytes((num, den.bit_length() - 1, 96 // den, 8)))


def _keysig(tonic: int, minor: bool) -> bytes:
    """Key-signature meta of a key (sharps/flats count, major/minor flag)."""
    sf = (_SF_MINOR if minor else _SF_MAJOR)[tonic]
    return _meta(0x59, bytes((sf & 0xFF, 1 if minor else 0)))


# A block is notes that start together and stop together: (start tick, duration, ((pitch, velocity), ...)).
# Every generator yields non-overlapping blocks in time order, so a track encodes in one linear pass.
Block = tuple[int, int, tuple[tuple[int, int], ...]]


def _track(head: bytes, blocks: list[Block], channel: int, off_style: int, end: int) -> bytes:
    """One MTrk chunk: head events at time 0, then the blocks, then end-of-track at tick ``end``.

    ``off_style`` 0 writes note-off with velocity 64, 1 note-off with velocity 0, 2 note-on with velocity 0
    (all three occur in the wild). No running status.
    """
    out = bytearray(head)
    on = 0x90 | channel
    if off_style == 2:
        off, off_vel = on, 0
    else:
        off, off_vel = 0x80 | channel, 64 if off_style == 0 else 0
    now = 0
    vlq = _vlq
    for start, dur, notes in blocks:
        delta = start - now
        for pitch, vel in notes:
            out += vlq(delta)
            out.extend((on, pitch, vel))
            delta = 0
        delta = dur
        for pitch, _vel in notes:
            out += vlq(delta)
            out.extend((off, pitch, off_vel))
            delta = 0
        now = start + dur
    out += vlq(max(0, end - now))
    out += b"\xff\x2f\x00"
    return b"MTrk" + len(out).to_bytes(4, "big") + bytes(out)


def _smf(fmt: int, ppq: int, tracks: list[bytes]) -> bytes:
    """Header chunk plus track chunks."""
    head = (
        b"MThd\x00\x00\x00\x06"
        + fmt.to_bytes(2, "big")
        + len(tracks).to_bytes(2, "big")
        + ppq.to_bytes(2, "big")
    )
    return head + b"".join(tracks)


# ---------------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------------

Plan = list[tuple[int, int, int]]  # chord slots: (start step, length in steps, scale degree)


def _meter(num: int, den: int) -> tuple[int, tuple[int, ...]]:
    """Sixteenth steps per bar and the steps where beats fall (7/8 grouped 2+2+3)."""
    spb = num * 16 // den
    if den == 4:
        return spb, tuple(range(0, spb, 4))
    if num == 6:
        return spb, (0, 6)
    return spb, (0, 4, 8)


def _plan(rng: random.Random, minor: bool, bars: int, spb: int) -> Plan:
    """Chord slots over the loop: a four-chord template, one chord per bar beyond four bars."""
    prog = rng.choice(_PROGS_MINOR if minor else _PROGS_MAJOR)
    total = bars * spb
    if bars <= 4:
        degrees: tuple[int, ...] = prog
    else:
        degrees = prog * (bars // 4) + prog[: bars % 4]
    n = len(degrees)
    if n == 4:
        # the tonic chords at both ends last longer, as a loop that resolves home does
        bounds = [0, total * 3 // 10, total // 2, total * 7 // 10, total]
    else:
        bounds = [total * i // n for i in range(n + 1)]
    return [(bounds[i], bounds[i + 1] - bounds[i], degrees[i]) for i in range(n)]


def _vel(rng: random.Random, lo: int, hi: int) -> int:
    """A velocity in [lo, hi)."""
    return lo + int(rng.random() * (hi - lo))


def _mono(
    notes: list[tuple[int, int, int]], step: int, gate: float, rng: random.Random, lo: int, hi: int
) -> list[Block]:
    """Blocks of a monophonic line given (start step, length in steps, pitch)."""
    out: list[Block] = []
    for s, ln, p in notes:
        out.append((s * step, max(1, int(ln * step * gate)), ((p, _vel(rng, lo, hi)),)))
    return out


def _near(pc_pitch: int, prev: int, lo: int, hi: int) -> int:
    """The octave of a pitch class nearest to the previous note, kept inside [lo, hi]."""
    p = pc_pitch + 12 * round((prev - pc_pitch) / 12)
    while p < lo:
        p += 12
    while p > hi:
        p -= 12
    return p


def _voicings(
    rng: random.Random, tonic: int, minor: bool, size: int, bass: bool
) -> dict[int, tuple[int, ...]]:
    """One voicing per scale degree: a triad or seventh chord around middle C, optionally over its root."""
    inversion = rng.randrange(3)
    out = {}
    base = 48 + tonic
    for degree in range(7):
        # a home chord with a seventh blurs the key (Am7 is C6): double its root instead
        offs = _chord(minor, 0, 3) + (12,) if degree == 0 and size == 4 else _chord(minor, degree, size)
        notes = [base + o for o in offs]
        for _ in range(inversion if degree else 0):
            notes.append(notes.pop(0) + 12)
        while notes[-1] > 79:
            notes = [n - 12 for n in notes]
        if bass:
            root = 36 + tonic + offs[0]
            while root >= notes[0]:
                root -= 12
            notes.insert(0, root)
        out[degree] = tuple(notes)
    return out


def _chordal(
    rng: random.Random,
    plan: Plan,
    step: int,
    voicing: dict[int, tuple[int, ...]],
    hit: int,
    gate: float,
    lo: int,
    hi: int,
) -> list[Block]:
    """Chords on every slot: held for the slot (hit 0) or repeated every ``hit`` steps."""
    out: list[Block] = []
    for s0, ln, degree in plan:
        pitches = voicing[degree]
        h = hit or ln
        t = 0
        while t < ln:
            length = min(h, ln - t)
            v = _vel(rng, lo, hi)
            out.append(((s0 + t) * step, max(1, int(length * step * gate)), tuple((p, v) for p in pitches)))
            t += h
    return out


def _bass(
    rng: random.Random, plan: Plan, tonic: int, minor: bool, pattern: tuple[int, ...], sub: bool
) -> list[tuple[int, int, int]]:
    """A bass line on the chord roots, with octaves, fifths and thirds; it starts and ends on the tonic."""
    low = 28 + (tonic - 28) % 12
    notes = []
    for s0, ln, degree in plan:
        offs = _chord(minor, degree, 3)
        root = low + offs[0]
        if root > 45:
            root -= 12
        if degree == 0:
            # the home chord is outlined (root held, then third and fifth): the line alone tells key and mode
            half = max(1, ln // 2)
            quarter = (ln - half) // 2
            for start, length, p in (
                (0, half, root),
                (half, quarter, root + offs[2] - offs[0]),
                (half + quarter, ln - half - quarter, root + offs[1] - offs[0]),
            ):
                if length > 0:
                    notes.append((s0 + start, length, p))
            continue
        t = 0
        i = 0
        while t < ln:
            d = min(pattern[i % len(pattern)], ln - t)
            r = rng.random()
            if t == 0 or r < 0.5 or (sub and r < 0.7):
                p = root
            elif r < 0.6:
                p = root + 12
            elif r < 0.7:
                p = root + offs[2] - offs[0]
            elif r < 0.92:
                p = root + offs[1] - offs[0]
            else:
                t += d  # a rest
                i += 1
                continue
            i += 1
            notes.append((s0 + t, d, p))
            t += d
        if degree != 0 and notes and notes[-1][0] >= s0 and notes[-1][1] > 1:
            # an approach note on the slot's last step: the leading tone or the second, which name the key
            s, d, p = notes[-1]
            step_off = _scale(minor, 4)[6] - 12 if rng.random() < 0.5 else 2
            notes[-1] = (s, d - 1, p)
            notes.append((s + d - 1, 1, low + step_off + (12 if low + step_off < 28 else 0)))
    return notes


def _melody(
    rng: random.Random, plan: Plan, tonic: int, minor: bool, lo: int, hi: int, durations: tuple[int, ...]
) -> list[tuple[int, int, int]]:
    """A line of scale notes weighted towards tonic, dominant and chord tones; first and last on the tonic."""
    home = _near(lo + (tonic - lo) % 12, (lo + hi) // 2, lo, hi)
    prev = home
    # the line resolves: the second half of the closing home chord is one held tonic
    last_start, last_len, _ = plan[-1]
    resolve = last_start + last_len // 2
    notes: list[tuple[int, int, int]] = []
    for s0, ln, degree in plan:
        scale, cum = _melody_weights(minor, degree)
        top = cum[-1]
        t = 0
        while t < ln and s0 + t < resolve:
            d = min(rng.choice(durations), ln - t, resolve - s0 - t)
            if not notes:
                d = min(max(d, 4), ln - t, resolve - s0 - t)
            elif len(notes) == 1:
                prev = _near(tonic + scale[2], prev, lo, hi)  # the third, which tells the mode
            elif rng.random() < 0.1:
                t += d
                continue
            else:
                off = scale[bisect.bisect(cum, rng.random() * top)]
                prev = _near(tonic + off, prev, lo, hi)
            notes.append((s0 + t, d, prev))
            t += d
    notes.append((resolve, last_start + last_len - resolve, _near(tonic, prev, lo, hi)))
    return notes


def _arp(
    rng: random.Random, plan: Plan, voicing: dict[int, tuple[int, ...]], rate: int, shape: int
) -> list[tuple[int, int, int]]:
    """Chord tones one after another (up, down or up-down) every ``rate`` steps."""
    notes = []
    for s0, ln, degree in plan:
        tones = list(voicing[degree])
        tones.append(tones[0] + 12)
        if shape == 1:
            tones.reverse()
        elif shape == 2:
            tones = tones + tones[-2:0:-1]
        t = 0
        i = 0
        while t < ln:
            notes.append((s0 + t, min(rate, ln - t), tones[i % len(tones)]))
            i += 1
            t += rate
    return notes


def _fx(plan: Plan, tonic: int, minor: bool) -> list[tuple[int, int, int]]:
    """A riser: a held tonic, third and dominant, then a scale run up to the tonic an octave higher."""
    total = plan[-1][0] + plan[-1][1]
    base = 48 + tonic
    scale = _MINOR if minor else _MAJOR
    run = [base + 12 + o for o in scale] + [base + 24]
    run_len = min(len(run), max(2, total // 4))
    held = total - run_len
    a, b = held // 2, held * 3 // 4
    notes = [(0, a, base), (a, b - a, base + scale[2]), (b, held - b, base + 7)]
    start = held
    for i in range(run_len - 1):
        notes.append((start + i, 1, run[len(run) - run_len + i]))
    notes.append((total - 1, 1, base + 24))
    return [n for n in notes if n[1] > 0]


def _drums(
    rng: random.Random,
    parts: str,
    style: str,
    bars: int,
    spb: int,
    beats: tuple[int, ...],
    step: int,
    fill: bool,
) -> list[Block]:
    """A drum loop on GM notes: k kick, s snare/clap, h hats, p percussion, c crash; optional tom fill."""
    four = spb == 16
    pattern: list[list[tuple[int, int]]] = [[] for _ in range(spb)]
    if "k" in parts:
        kick = 35 if rng.random() < 0.2 else 36
        if style == "four":
            steps: tuple[int, ...] = beats
        elif not four:
            steps = beats[:1] + ((beats[2],) if len(beats) > 2 and rng.random() < 0.5 else ())
        elif style == "dnb":
            steps = (0, 10)
        elif style == "trap":
            steps = rng.choice(((0, 7, 11), (0, 3, 10, 14), (0, 6, 11)))
        elif style == "half":
            steps = rng.choice(((0, 14), (0, 3, 14)))
        else:
            steps = rng.choice(((0, 10), (0, 7, 10), (0, 3, 10), (0, 8, 11)))
        for s in steps:
            pattern[s].append((kick, 115))
    if "s" in parts:
        snare = rng.choice((38, 38, 40, 39, 37))
        if four and style in ("trap", "half"):
            steps = (8,)
        elif four:
            steps = (4, 12)
        elif len(beats) == 2:
            steps = (beats[1],)
        else:
            steps = beats[1:]
        for s in steps:
            pattern[s].append((snare, 105))
    if "h" in parts:
        every = 1 if style == "trap" or rng.random() < 0.35 else 2
        open_hat = style == "four" and rng.random() < 0.6
        for s in range(0, spb, every):
            if open_hat and s % 4 == 2:
                pattern[s].append((46, 90))
            else:
                pattern[s].append((42 if rng.random() < 0.9 else 44, 70 if s % 4 else 95))
    if "p" in parts:
        for note in rng.sample(_GM_PERC, 2 + rng.randrange(2)):
            for s in range(spb):
                if rng.random() < 0.3:
                    pattern[s].append((note, 60 + rng.randrange(40)))
    out: list[Block] = []
    dur = max(1, step // 2)
    for bar in range(bars):
        fill_from = spb // 2 if fill and bar == bars - 1 else spb
        base = bar * spb
        for s in range(spb):
            if s >= fill_from:
                hits: list[tuple[int, int]] = [(_TOMS[(s - fill_from) % 6], 90 + rng.randrange(30))]
            else:
                hits = [(n, max(1, min(127, v + rng.randrange(-12, 13)))) for n, v in pattern[s]]
                if "s" in parts and rng.random() < 0.06:
                    hits.append((38, 30 + rng.randrange(20)))  # ghost note
                if "c" in parts and s == 0 and bar % 4 == 0:
                    hits.append((49, 100))
            if hits:
                # a drum machine never hits the same note twice at once
                seen: dict[int, int] = {}
                for n, v in hits:
                    seen.setdefault(n, v)
                out.append(((base + s) * step, dur, tuple(seen.items())))
    return out


# ---------------------------------------------------------------------------------------------------
# Collections and file names
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Style:
    """How one pack names its files."""

    sep: str
    camel: bool
    lower: bool
    order: str
    bpm_fmt: str
    key_fmt: tuple[str, str]
    p_bpm: float
    p_key: float
    p_struct: float
    idx_fmt: str


@dataclass
class _Collection:
    """One sample pack: its place, its habits (exporter, naming, key signatures) and its music."""

    manufacturer: str
    name: str
    genre: tuple[str, str, int, int, str, float]
    prefix: str
    ppq: int
    fmt: int
    keysig: str  # none | true | c (a lone C-major signature whatever the key)
    off_style: int
    ext: str
    style: _Style
    size: int
    cats: list[str]
    cum: list[float]
    folders: dict[str, str]
    subs: dict[str, tuple[str, ...]]
    fixed_bpm: float | None
    keys: list[tuple[int, bool]] | None
    counters: dict[str, int] = field(default_factory=dict)


def _new_collection(rng: random.Random, manufacturers: list[str], used: set[str], mean: int) -> _Collection:
    """Draw a pack with its own name, genre, exporter habits, categories and naming style."""
    manufacturer = rng.choice(manufacturers)
    genre = rng.choice(_GENRES)
    name = f"{genre[0]} {rng.choice(_SUFFIXES)}"
    vol = rng.randint(1, 5) if rng.random() < 0.3 else 0
    while True:
        full = f"{name} Vol {vol}" if vol else name
        if f"{manufacturer}/{full}".lower() not in used:
            break
        vol += 1
    used.add(f"{manufacturer}/{full}".lower())
    kind = rng.random()
    if kind < 0.2:
        pool: tuple[str, ...] = DRUM_CATEGORIES
    elif kind < 0.45:
        pool = MELODIC_CATEGORIES + (FULL_MIX,)
    else:
        pool = CATEGORIES
    cats = [c for c in pool if rng.random() < 0.6] or [rng.choice(pool)]
    cum = []
    total = 0.0
    for c in cats:
        total += _CATS[c].weight
        cum.append(total)
    folders = {c: (_CATS[c].folders[0] if rng.random() < 0.7 else rng.choice(_CATS[c].folders)) for c in cats}
    subs = {c: (_CATS[c].subs if rng.random() < 0.15 else ()) for c in cats}
    bare_ok = rng.random() < 0.25
    style = _Style(
        sep=rng.choice(_SEPARATORS),
        camel=rng.random() < 0.4,
        lower=rng.random() < 0.15,
        order=rng.choice(_ORDERS),
        bpm_fmt=rng.choice(_BPM_FORMATS if bare_ok else _BPM_FORMATS[:-1]),
        key_fmt=rng.choice(_KEY_FORMATS),
        p_bpm=rng.choice((0.0, 0.7, 0.9, 1.0, 1.0, 1.0)),
        p_key=rng.choice((0.0, 0.6, 0.9, 1.0, 1.0)),
        p_struct=rng.choice((0.0, 0.3, 0.6)),
        idx_fmt=rng.choice(("{:02d}", "{:02d}", "{}", "{:03d}", "")),
    )
    e = rng.random()
    ext = ".MID" if e < 0.04 else ".midi" if e < 0.07 else ".Mid" if e < 0.08 else ".mid"
    fixed_bpm = None
    if rng.random() < 0.35:
        fixed_bpm = float(rng.randint(genre[2], genre[3]))
    keys = None
    if rng.random() < 0.3:
        keys = [(rng.randrange(12), rng.random() < 0.6) for _ in range(rng.randint(1, 3))]
    prefix_pick = rng.random()
    if prefix_pick < 0.6:
        prefix = genre[1]
    elif prefix_pick < 0.8:
        prefix = "".join(w[0] for w in full.split() if w[0].isalpha()).upper()
    else:
        prefix = full.split()[-1] if not vol else full.split()[0]
    return _Collection(
        manufacturer=manufacturer,
        name=full,
        genre=genre,
        prefix=prefix,
        ppq=rng.choice((96, 480, 480, 960, 960)),
        fmt=0 if rng.random() < 0.6 else 1,
        keysig="none" if (k := rng.random()) < 0.3 else "true" if k < 0.78 else "c",
        off_style=rng.choice((0, 0, 1, 2, 2)),
        ext=ext,
        style=style,
        size=max(1, rng.randint(mean // 2, mean * 3 // 2)),
        cats=cats,
        cum=cum,
        folders=folders,
        subs=subs,
        fixed_bpm=fixed_bpm,
        keys=keys,
    )


def _words(text: str, style: _Style) -> str:
    """Descriptive words in the pack's case and joining habit."""
    words = text.replace("-", " ").split()
    if style.camel:
        joined = "".join(w[:1].upper() + w[1:] for w in words)
        return joined.lower() if style.lower else joined
    if style.lower:
        words = [w.lower() for w in words]
    return style.sep.strip().join(words) if style.sep.strip() else " ".join(words)


def _fmt_bpm(bpm: float) -> str:
    """A BPM without needless decimals: 124, 87.5, 92.25."""
    return f"{bpm:.2f}".rstrip("0").rstrip(".")


def _letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA: a per-folder counter written without digits."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _filename(
    rng: random.Random,
    col: _Collection,
    cat: str,
    bpm: float,
    key: tuple[int, bool] | None,
    struct: str | None,
    idx: int,
) -> tuple[str, float | None, str | None]:
    """A file stem in the pack's style, and the BPM and key it really states (filename-parser truth).

    A bare tempo ("124") is written only when no other number is in the name, and a lone index is
    dropped when it could pass for a tempo, so the stated truth is what a careful parser can read.
    """
    st = col.style
    tokens: dict[str, str] = {}
    tokens["p"] = _words(col.prefix, st)
    cat_word = rng.choice(_CATS[cat].words)
    if rng.random() < 0.1:
        if cat in ("Chords", "Keys", "Pads"):
            trap = rng.choice(_TRAPS_CHORD)
        elif cat in ("Bass", "Kick", "Drums"):
            trap = rng.choice(_TRAPS_DRUM)
        else:
            trap = rng.choice(_TRAPS_ANY)
        cat_word = f"{cat_word} {trap}" if rng.random() < 0.7 else f"{trap} {cat_word}"
    tokens["c"] = _words(cat_word, st)
    if struct:
        tokens["s"] = _words(struct, st)
    if st.idx_fmt and rng.random() < 0.8:
        tokens["i"] = st.idx_fmt.format(idx)
    name_key = None
    if key is not None and rng.random() < st.p_key:
        tonic, minor = key
        alt = _ALT_MINOR if minor else _ALT_MAJOR
        canonical = MINOR_KEYS[tonic][:-1] if minor else MAJOR_KEYS[tonic]
        spelled = alt[tonic] if tonic in alt and rng.random() < 0.15 else canonical
        fmt = st.key_fmt[0] if minor else st.key_fmt[1]
        if not minor and fmt == "{}" and len(spelled) == 1:
            fmt = "{}maj"
        tokens["k"] = fmt.format(spelled)
        name_key = key_name(tonic, minor)
    name_bpm = None
    if rng.random() < st.p_bpm:
        text = _fmt_bpm(bpm)
        fractional = "." in text
        if not (fractional and st.sep == "."):
            fmt = st.bpm_fmt
            others = "".join(tokens[k] for k in st.order if k in tokens)
            if fmt == "{}" and (fractional or any(ch.isdigit() for ch in others)):
                fmt = "{}bpm"
            tokens["b"] = fmt.format(text)
            name_bpm = bpm
    if "b" not in tokens and 40 <= idx <= 250:
        # without a tempo in the name, an index in tempo range would read as one: leave it out
        tokens.pop("i", None)
    stem = st.sep.join(tokens[k] for k in st.order if k in tokens)
    return stem, name_bpm, name_key


# ---------------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Made:
    """A generated MIDI file and its truth (before it has a path)."""

    data: bytes
    bpm: float
    key: str | None
    category: str
    time_signature: str
    is_drum: bool
    has_drums: bool
    fmt: int
    ppq: int
    key_meta: str | None
    name_bpm: float | None
    name_key: str | None


def _part(rng: random.Random, cat: str, plan: Plan, tonic: int, minor: bool, step: int) -> list[Block]:
    """The notes of one melodic category over a chord plan."""
    if cat == "Bass":
        pattern = rng.choice(((4,), (2,), (3, 3, 2), (1, 1, 2), (8,), (6, 2), (2, 2, 4), (3, 1)))
        notes = _bass(rng, plan, tonic, minor, pattern, sub=rng.random() < 0.2)
        return _mono(notes, step, 0.5 + rng.random() * 0.45, rng, 80, 120)
    if cat in ("Chords", "Keys", "Brass", "Pads", "Strings"):
        held = cat in ("Pads", "Strings") or rng.random() < 0.2
        mode = rng.randrange(3)
        voicing = _voicings(rng, tonic, minor, 4 if mode == 2 else 3, mode == 1)
        hit = 0 if held else rng.choice((4, 2, 3, 6, 8))
        gate = 0.97 if held else 0.4 + rng.random() * 0.5
        return _chordal(rng, plan, step, voicing, hit, gate, 60, 110)
    if cat == "Arps":
        voicing = _voicings(rng, tonic, minor, 3, False)
        notes = _arp(rng, plan, voicing, rng.choice((1, 1, 2, 3)), rng.randrange(3))
        return _mono(notes, step, 0.5 + rng.random() * 0.4, rng, 70, 115)
    if cat == "FX":
        return _mono(_fx(plan, tonic, minor), step, 0.98, rng, 60, 110)
    durations = rng.choice(((1, 2, 2, 2, 4, 4), (2, 2, 3, 4, 4, 6, 8), (1, 1, 2, 2, 3, 4)))
    lo = 55 if cat == "Melodies" else 60
    notes = _melody(rng, plan, tonic, minor, lo, lo + 24, durations)
    return _mono(notes, step, 0.6 + rng.random() * 0.35, rng, 70, 120)


def _render(
    rng: random.Random,
    col: _Collection,
    cat: str,
    bpm: float,
    key: tuple[int, bool] | None,
    ts: tuple[int, int],
    bars: int,
    title: str,
    fill: bool,
) -> tuple[bytes, int, str | None]:
    """The bytes of one file, its MIDI format, and what its key-signature meta says (None when absent)."""
    ppq = col.ppq
    step = ppq // 4
    spb, beats = _meter(*ts)
    total = bars * spb * step
    head = _meta(0x03, title.encode("utf-8", "replace"))
    if rng.random() < 0.1:
        head += _meta(0x02, f"(c) {col.manufacturer}".encode())
    head += _timesig(*ts)
    key_meta = None
    if col.keysig == "c":
        head += _keysig(0, False)
        key_meta = "C"
    elif col.keysig == "true" and key is not None:
        head += _keysig(*key)
        key_meta = key_name(*key)
    head += _tempo(bpm)
    drum_kit = b"\x00\xc9\x00" if rng.random() < 0.3 else b""
    tracks: list[tuple[str, bytes, list[Block], int]] = []  # (name, head events, blocks, channel)
    if cat in DRUM_CATEGORIES:
        parts = {"Drums": "ksh", "Kick": "k", "Snare": "s", "Hats": "h", "Percussion": "p"}[cat]
        if cat == "Drums":
            parts += ("p" if rng.random() < 0.3 else "") + ("c" if rng.random() < 0.3 else "")
        blocks = _drums(rng, parts, col.genre[4], bars, spb, beats, step, fill and cat == "Drums")
        tracks.append((cat, drum_kit, blocks, 9))
    elif cat == FULL_MIX:
        assert key is not None
        tonic, minor = key
        plan = _plan(rng, minor, bars, spb)
        fill_bars = rng.random() < 0.5
        tracks.append(
            ("Drums", drum_kit, _drums(rng, "kshc", col.genre[4], bars, spb, beats, step, fill_bars), 9)
        )
        for ch, (name, part) in enumerate(
            (
                ("Bass", "Bass"),
                ("Chords", rng.choice(("Chords", "Pads", "Keys"))),
                ("Lead", "Melodies"),
                ("Arp", "Arps"),
            )
        ):
            if name == "Arp" and rng.random() < 0.5:
                continue
            program = rng.choice(_CATS[part].programs)
            tracks.append(
                (name, bytes((0, 0xC0 | ch, program)), _part(rng, part, plan, tonic, minor, step), ch)
            )
    else:
        assert key is not None
        tonic, minor = key
        plan = _plan(rng, minor, bars, spb)
        ch = 0 if rng.random() < 0.8 else rng.randrange(1, 4)
        program = rng.choice(_CATS[cat].programs)
        tracks.append((cat, bytes((0, 0xC0 | ch, program)), _part(rng, cat, plan, tonic, minor, step), ch))
    fmt = 1 if cat == FULL_MIX or len(tracks) > 1 else col.fmt
    if fmt == 0:
        name, events, blocks, ch = tracks[0]
        data = _smf(0, ppq, [_track(head + events, blocks, ch, col.off_style, total)])
        if len(data) < MIN_SIZE:
            pad = _meta(0x01, b"Created with midicenter bench " + b"-" * (MIN_SIZE - len(data)))
            data = _smf(0, ppq, [_track(head + pad + events, blocks, ch, col.off_style, total)])
    else:
        chunks = [_track(head, [], 0, 0, total)]
        for name, events, blocks, ch in tracks:
            chunks.append(_track(_meta(0x03, name.encode()) + events, blocks, ch, col.off_style, total))
        data = _smf(1, ppq, chunks)
        if len(data) < MIN_SIZE:
            pad = _meta(0x01, b"Created with midicenter bench " + b"-" * (MIN_SIZE - len(data)))
            chunks[0] = _track(head + pad, [], 0, 0, total)
            data = _smf(1, ppq, chunks)
    return data, fmt, key_meta


def _make(
    rng: random.Random,
    col: _Collection,
    cat: str,
    title_hint: str,
    bpm: float,
    key: tuple[int, bool] | None,
    struct: str | None,
) -> tuple[bytes, int, str | None, tuple[int, int]]:
    """Bytes of one file with its meter and bar count drawn; long songs are halved until under MAX_SIZE."""
    odd = col.genre[5] + 0.02
    ts = (4, 4)
    if rng.random() < odd:
        ts = rng.choice(((3, 4), (3, 4), (3, 4), (6, 8), (6, 8), (7, 8)))
    if cat == FULL_MIX:
        bars = rng.choice((16, 16, 24, 32, 32, 48, 64, 96))
    elif cat in DRUM_CATEGORIES:
        bars = rng.choice((1, 2, 2, 4, 4, 8))
    elif cat in ("Melodies", "Leads"):
        bars = rng.choice((2, 2, 4, 4, 4, 8, 8))
    else:
        bars = rng.choice((1, 2, 2, 4, 4, 4, 8, 8))
    fill = struct == "Fill" or rng.random() < 0.2
    while True:
        data, fmt, key_meta = _render(rng, col, cat, bpm, key, ts, bars, title_hint, fill)
        if len(data) <= MAX_SIZE or bars <= 4:
            return data, fmt, key_meta, ts
        bars //= 2


# ---------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------


class Truth(NamedTuple):
    """One manifest row: what a generated file really is.

    ``path`` and ``duplicate_of`` are relative to the library folder, with ``/`` separators. ``kind`` is
    ``midi`` or ``other`` (a non-MIDI file: only path, manufacturer, collection, category and size are set).
    ``key`` is the musical key in canonical form (None for drum parts). ``is_drum``: every note is on
    channel 10; ``has_drums``: some notes are (drum parts and full mixes). ``key_meta`` is what the
    key-signature event says (a lone ``C`` may be a sequencer default), ``name_bpm``/``name_key`` what the
    file name states; None when absent.
    """

    path: str
    kind: str
    bpm: float | None
    key: str | None
    category: str
    manufacturer: str
    collection: str
    time_signature: str | None
    is_drum: bool
    has_drums: bool
    duplicate_of: str | None
    size: int
    format: int | None
    ppq: int | None
    key_meta: str | None
    name_bpm: float | None
    name_key: str | None


COLUMNS = Truth._fields


def _row(values: tuple[object, ...]) -> str:
    """One TSV line; None and False become empty and 0."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif isinstance(v, bool):
            out.append("1" if v else "0")
        elif isinstance(v, float):
            out.append(_fmt_bpm(v))
        else:
            out.append(str(v))
    return "\t".join(out) + "\n"


def manifest_path(lib: Path) -> Path:
    """Where the manifest of a library folder lives (beside it)."""
    return lib.parent / f"{lib.name}.manifest.tsv"


def _marker_path(lib: Path) -> Path:
    return lib.parent / f"{lib.name}.complete"


def truth(lib: Path) -> Iterator[Truth]:
    """Stream the manifest of a generated library, one typed row at a time."""

    def num(s: str) -> float | None:
        return float(s) if s else None

    def opt(s: str) -> str | None:
        return s or None

    with open(manifest_path(Path(lib)), encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n").split("\t")
        if tuple(header) != COLUMNS:
            raise ValueError(f"unexpected manifest header in {manifest_path(Path(lib))}")
        for line in f:
            c = line.rstrip("\n").split("\t")
            yield Truth(
                path=c[0],
                kind=c[1],
                bpm=num(c[2]),
                key=opt(c[3]),
                category=c[4],
                manufacturer=c[5],
                collection=c[6],
                time_signature=opt(c[7]),
                is_drum=c[8] == "1",
                has_drums=c[9] == "1",
                duplicate_of=opt(c[10]),
                size=int(c[11]),
                format=int(c[12]) if c[12] else None,
                ppq=int(c[13]) if c[13] else None,
                key_meta=opt(c[14]),
                name_bpm=num(c[15]),
                name_key=opt(c[16]),
            )


# ---------------------------------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------------------------------


def _params(n_files: int, seed: int, dup_ratio: float) -> dict[str, object]:
    return {"version": GENERATOR_VERSION, "n_files": n_files, "seed": seed, "dup_ratio": dup_ratio}


def _complete(lib: Path, params: dict[str, object]) -> bool:
    """True when the library was fully written with these parameters."""
    try:
        marker = json.loads(_marker_path(lib).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        all(marker.get(k) == v for k, v in params.items()) and lib.is_dir() and manifest_path(lib).is_file()
    )


def _wav_stub(rng: random.Random) -> bytes:
    """A tiny valid PCM WAVE file (16-bit mono, a few silent samples)."""
    frames = rng.randrange(0, 400)
    data = b"\x00\x00" * frames
    fmt = (
        (1).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + (44100).to_bytes(4, "little")
        + (88200).to_bytes(4, "little")
        + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
    )
    body = (
        b"WAVE"
        + b"fmt "
        + len(fmt).to_bytes(4, "little")
        + fmt
        + b"data"
        + len(data).to_bytes(4, "little")
        + data
    )
    return b"RIFF" + len(body).to_bytes(4, "little") + body


class _Writer:
    """Writes files under the library folder (creating folders once) and their manifest rows."""

    def __init__(self, lib: Path, manifest: TextIO) -> None:
        self.lib = str(lib)
        self.manifest = manifest
        self.dirs: set[str] = set()
        self.midi = 0
        self.other = 0
        self.dups = 0
        self.bytes = 0

    def write(self, rel: str, data: bytes) -> None:
        folder, _, _ = rel.rpartition("/")
        if folder not in self.dirs:
            os.makedirs(os.path.join(self.lib, folder), exist_ok=True)
            self.dirs.add(folder)
        fd = os.open(os.path.join(self.lib, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self.bytes += len(data)

    def other_file(self, rel: str, data: bytes, col: _Collection, category: str) -> None:
        self.write(rel, data)
        self.other += 1
        row = Truth(
            path=rel, kind="other", bpm=None, key=None, category=category, manufacturer=col.manufacturer,
            collection=col.name, time_signature=None, is_drum=False, has_drums=False, duplicate_of=None,
            size=len(data), format=None, ppq=None, key_meta=None, name_bpm=None, name_key=None,
        )  # fmt: skip
        self.manifest.write(_row(row))

    def midi_file(self, rel: str, made: _Made, col: _Collection, duplicate_of: str | None) -> None:
        self.write(rel, made.data)
        self.midi += 1
        self.dups += duplicate_of is not None
        row = Truth(
            path=rel, kind="midi", bpm=made.bpm, key=made.key, category=made.category,
            manufacturer=col.manufacturer, collection=col.name, time_signature=made.time_signature,
            is_drum=made.is_drum, has_drums=made.has_drums, duplicate_of=duplicate_of, size=len(made.data),
            format=made.fmt, ppq=made.ppq, key_meta=made.key_meta, name_bpm=made.name_bpm,
            name_key=made.name_key,
        )  # fmt: skip
        self.manifest.write(_row(row))

    def end_collection(self) -> None:
        self.dirs.clear()


def _readme(col: _Collection) -> bytes:
    return (
        f"{col.name}\nby {col.manufacturer}\n\n{len(col.cats)} categories of royalty-free MIDI loops for "
        f"{col.genre[0]}.\nTempo and key are in every file name.\n"
    ).encode()


def _build(
    lib: Path,
    manifest: TextIO,
    n_files: int,
    seed: int,
    dup_ratio: float,
    progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    """Write n_files MIDI files (plus a few non-MIDI ones) and their manifest rows, in one stream."""
    rng = random.Random(seed)
    manufacturers = rng.sample(_MANUFACTURERS, rng.randint(20, 40))
    mean = min(320, max(8, n_files // 50))
    used: set[str] = set()
    # Sources for duplicates: files of the current pack (renamed copies) and a sample of earlier packs
    # (copies under another collection). Both bounded, so memory does not grow with the library.
    recent: list[tuple[str, str, _Made]] = []  # (path inside the collection, library path, made)
    older: deque[tuple[str, str, _Made]] = deque(maxlen=256)
    w = _Writer(lib, manifest)
    done = 0
    while done < n_files:
        col = _new_collection(rng, manufacturers, used, mean)
        base = f"{col.manufacturer}/{col.name}"
        taken: set[str] = set()
        if rng.random() < 0.6:
            name = rng.choice(("readme.txt", "README.txt", "Readme.TXT", "License.txt"))
            w.other_file(f"{base}/{name}", _readme(col), col, "")
        seen_recent = 0
        for _ in range(min(col.size, n_files - done)):
            made_dup = False
            if (recent or older) and rng.random() < dup_ratio:
                made_dup = _duplicate(rng, w, col, base, taken, recent, older)
            if not made_dup:
                inner, rel, made = _original(rng, col, base, taken)
                w.midi_file(rel, made, col, None)
                seen_recent += 1
                entry = (inner, rel, made)
                if len(recent) < 64:
                    recent.append(entry)
                else:
                    j = rng.randrange(seen_recent)
                    if j < 64:
                        recent[j] = entry
                if rng.random() < 0.01:
                    wav = rel.rpartition(".")[0] + ".wav"
                    if wav.lower() not in taken:
                        taken.add(wav.lower())
                        w.other_file(wav, _wav_stub(rng), col, made.category)
            done += 1
            if progress is not None and done % 1000 == 0:
                progress(done, n_files)
        if recent:
            older.extend(rng.sample(recent, min(16, len(recent))))
        recent = []
        w.end_collection()
    if progress is not None:
        progress(done, n_files)
    return {"midi_files": w.midi, "other_files": w.other, "duplicates": w.dups, "bytes": w.bytes}


def _original(rng: random.Random, col: _Collection, base: str, taken: set[str]) -> tuple[str, str, _Made]:
    """Draw and render one new file of the pack; returns (path inside the pack, library path, made)."""
    cat = col.cats[bisect.bisect(col.cum, rng.random() * col.cum[-1])]
    folder = col.folders[cat]
    subs = col.subs[cat]
    if subs and rng.random() < 0.6:
        folder = f"{folder}/{rng.choice(subs)}"
    lo, hi = col.genre[2], col.genre[3]
    if col.fixed_bpm is not None:
        bpm = col.fixed_bpm
    elif rng.random() < 0.04:
        bpm = rng.randint(lo, hi) + rng.choice((0.25, 0.5, 0.5, 0.75))
    else:
        bpm = float(rng.randint(lo, hi))
    is_drum = cat in DRUM_CATEGORIES
    key = None
    if not is_drum:
        key = rng.choice(col.keys) if col.keys else (rng.randrange(12), rng.random() < 0.6)
    struct = rng.choice(_STRUCTURE) if rng.random() < col.style.p_struct else None
    count = col.counters.get(folder, 0) + 1
    col.counters[folder] = count
    stem, name_bpm, name_key = _filename(rng, col, cat, bpm, key, struct, count)
    inner = f"{folder}/{stem}{col.ext}"
    if inner.lower() in taken:
        # a letter, as packs do ("Groove B"): a number here could pass for a tempo
        inner = f"{folder}/{stem}{col.style.sep}{_letters(count)}{col.ext}"
        while inner.lower() in taken:
            inner = f"{inner[: -len(col.ext)]}x{col.ext}"
    taken.add(inner.lower())
    data, fmt, key_meta, ts = _make(rng, col, cat, stem, bpm, key, struct)
    made = _Made(
        data=data,
        bpm=bpm,
        key=key_name(*key) if key else None,
        category=cat,
        time_signature=f"{ts[0]}/{ts[1]}",
        is_drum=is_drum,
        has_drums=is_drum or cat == FULL_MIX,
        fmt=fmt,
        ppq=col.ppq,
        key_meta=key_meta,
        name_bpm=name_bpm,
        name_key=name_key,
    )
    return inner, f"{base}/{inner}", made


def _duplicate(
    rng: random.Random,
    w: _Writer,
    col: _Collection,
    base: str,
    taken: set[str],
    recent: list[tuple[str, str, _Made]],
    older: deque[tuple[str, str, _Made]],
) -> bool:
    """Copy an earlier file byte for byte: under this pack (from another pack) or renamed (same pack)."""
    from_older = bool(older) and (not recent or rng.random() < 0.6)
    inner, src, made = older[rng.randrange(len(older))] if from_older else recent[rng.randrange(len(recent))]
    folder, _, filename = inner.rpartition("/")
    stem, dot, ext = filename.rpartition(".")
    cat = made.category
    if cat in col.folders:
        folder = col.folders[cat] + folder[len(folder.split("/")[0]) :]
    candidates = [f"{folder}/{filename}"] if from_older else []
    candidates += [f"{folder}/{r.format(stem)}{dot}{ext}" for r in rng.sample(_RENAMES, 3)]
    for cand in candidates:
        if cand.lower() not in taken and f"{base}/{cand}" != src:
            taken.add(cand.lower())
            w.midi_file(f"{base}/{cand}", made, col, src)
            return True
    return False


def generate(
    root: Path,
    n_files: int,
    *,
    seed: int = 1,
    dup_ratio: float = 0.15,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write (once) a library of ``n_files`` MIDI files under ``root/lib-<n>-s<seed>/`` and return its folder.

    Cached: when a completion marker with the same parameters exists, returns at once. Otherwise any
    leftover of an interrupted run is removed and the library is generated into a temporary folder that
    is renamed into place when complete. ``progress(done, total)`` is called every 1,000 files.
    """
    if n_files < 1:
        raise ValueError("n_files must be at least 1")
    if not 0.0 <= dup_ratio < 1.0:
        raise ValueError("dup_ratio must be in [0, 1)")
    root = Path(root)
    lib = root / f"lib-{n_files}-s{seed}"
    params = _params(n_files, seed, dup_ratio)
    if _complete(lib, params):
        return lib
    root.mkdir(parents=True, exist_ok=True)
    marker = _marker_path(lib)
    manifest = manifest_path(lib)
    tmp_lib = root / f".{lib.name}.partial"
    tmp_manifest = root / f".{lib.name}.manifest.partial"
    marker.unlink(missing_ok=True)
    for d in (lib, tmp_lib):
        if d.exists():
            shutil.rmtree(d)
    tmp_lib.mkdir()
    start = time.perf_counter()
    with open(tmp_manifest, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        f.write("\t".join(COLUMNS) + "\n")
        counts = _build(tmp_lib, f, n_files, seed, dup_ratio, progress)
    os.replace(tmp_lib, lib)
    os.replace(tmp_manifest, manifest)
    info = {**params, **counts, "seconds": round(time.perf_counter() - start, 3)}
    tmp_marker = root / f".{lib.name}.complete.partial"
    tmp_marker.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp_marker, marker)
    return lib


def stats(lib: Path) -> dict[str, object]:
    """The counts recorded in a complete library's marker (files, duplicates, bytes, seconds)."""
    return json.loads(_marker_path(Path(lib)).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """``python -m runner.bench.library ROOT N``: generate a library and print where and how fast."""
    ap = argparse.ArgumentParser(
        prog="python -m runner.bench.library",
        description="Generate a sample-pack MIDI library with known truth.",
    )
    ap.add_argument("root", type=Path, help="folder that receives lib-<n>-s<seed>/")
    ap.add_argument("n_files", type=int, help="number of MIDI files (duplicates included)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-ratio", type=float, default=0.15)
    args = ap.parse_args(argv)

    def report(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,}/{total:,} files", end="" if done < total else "\n", file=sys.stderr)

    start = time.perf_counter()
    lib = generate(args.root, args.n_files, seed=args.seed, dup_ratio=args.dup_ratio, progress=report)
    info = stats(lib)
    elapsed = time.perf_counter() - start
    print(
        f"{lib}\t{info['midi_files']} midi, {info['other_files']} other, {info['duplicates']} duplicates, "
        f"{info['bytes']:,} bytes; generated in {info['seconds']} s; this call {elapsed:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
