"""Building a generated library: one file (notes rendered to bytes), then the whole library written in one
streaming pass, cached by its parameters."""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from runner.bench.library.manifest import COLUMNS, Truth, _marker_path, _row, manifest_path
from runner.bench.library.names import (
    _CATS,
    _MANUFACTURERS,
    _RENAMES,
    _STRUCTURE,
    DRUM_CATEGORIES,
    FULL_MIX,
    _Collection,
    _filename,
    _letters,
    _new_collection,
)
from runner.bench.library.parts import _drums, _meter, _part, _plan, key_name
from runner.bench.library.smf import Block, _keysig, _meta, _smf, _tempo, _timesig, _track

# Part of the cache key: bump it whenever the bytes written for a given seed change.
GENERATOR_VERSION = 2
MIN_SIZE = 150
MAX_SIZE = 50_000

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
