"""The musical parts of the generated files: keys, scales and chords, chord plans, and the notes of each
category (bass lines, chords, melodies, arpeggios, effects, drums)."""

from __future__ import annotations

import bisect
import functools
import random

from runner.bench.library.smf import Block

# ---------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------

MAJOR_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
# Other spellings that real file names use for the same tonic.
_ALT_MAJOR = {1: "Db", 3: "D#", 6: "Gb", 8: "G#", 10: "A#"}
_ALT_MINOR = {1: "Db", 3: "D#", 6: "Gb", 8: "Ab", 10: "A#"}
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



# General MIDI drum notes the drum parts draw from.
_GM_PERC = (54, 56, 60, 61, 62, 63, 64, 69, 70, 75, 76, 77, 82)
_TOMS = (50, 48, 47, 45, 43, 41)


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
