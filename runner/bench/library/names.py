"""How the generated library is named and laid out: categories, genres, manufacturers and the words of
file names; sample packs (collections) with their naming habits; one file name."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from runner.bench.library.parts import _ALT_MAJOR, _ALT_MINOR, MAJOR_KEYS, MINOR_KEYS, key_name

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
