"""The generated benchmark library: valid files that carry the truth its manifest claims."""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import types
from collections import Counter
from pathlib import Path

import mido
import numpy as np
import psycopg
import pytest

from runner.bench import library
from runner.bench.library import Truth, generate, manifest_path, truth
from runner.bench.library import names as naming

N_FILES = 1500
SEED = 7

# mido names key signatures by their sharps or flats; the schema has one spelling per key
MIDO_TO_CANONICAL = {"G#m": "Abm", "D#m": "Ebm", "A#m": "Bbm", "Db": "C#", "Gb": "F#", "Cb": "B"}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One library shared by the read-only tests of this module."""
    return generate(tmp_path_factory.mktemp("bench"), N_FILES, seed=SEED)


@pytest.fixture(scope="module")
def rows(lib: Path) -> list[Truth]:
    return list(truth(lib))


def midi_rows(rows: list[Truth]) -> list[Truth]:
    return [r for r in rows if r.kind == "midi"]


def estimate_keys(dsn: str, hists: list[np.ndarray]) -> list[str | None]:
    """The best-correlating Krumhansl-Kessler key of each duration-weighted pitch-class histogram, by
    midi.estimate_key (the profiles live in midi.key_profiles only)."""
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute(
            """SELECT (SELECT e.key::text FROM midi.estimate_key(ARRAY(SELECT jsonb_array_elements_text(h)::float8),
                                                                   'krumhansl') e)
                 FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(h, i) ORDER BY i""",
            [json.dumps([[float(v) for v in h] for h in hists])])]


def read_facts(path: Path) -> dict[str, object]:
    """What mido finds in a file: tempi, meters, key signatures, note channels, pitch-class durations."""
    mf = mido.MidiFile(path)
    facts: dict[str, object] = {"type": mf.type, "ppq": mf.ticks_per_beat}
    tempos, meters, keys, channels = [], [], [], Counter()
    hist = np.zeros(12)
    for track in mf.tracks:
        now = 0
        started: dict[tuple[int, int], int] = {}
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                tempos.append(msg.tempo)
            elif msg.type == "time_signature":
                meters.append(f"{msg.numerator}/{msg.denominator}")
            elif msg.type == "key_signature":
                keys.append(MIDO_TO_CANONICAL.get(msg.key, msg.key))
            elif msg.type == "note_on" and msg.velocity > 0:
                channels[msg.channel] += 1
                started[(msg.channel, msg.note)] = now
            elif msg.type in ("note_off", "note_on"):
                begin = started.pop((msg.channel, msg.note), None)
                if begin is not None and msg.channel != 9:
                    hist[msg.note % 12] += now - begin
    facts.update(tempos=tempos, meters=meters, keys=keys, channels=channels, hist=hist)
    return facts


def test_truth_streams_typed_rows(lib: Path) -> None:
    stream = truth(lib)
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert isinstance(first, Truth)
    assert manifest_path(lib).is_file()
    assert not (lib / "MANIFEST.tsv").exists(), "bookkeeping stays outside the imported tree"


def test_manifest_lists_exactly_the_files_on_disk(lib: Path, rows: list[Truth]) -> None:
    on_disk = {}
    for folder, _dirs, files in os.walk(lib):
        for name in files:
            full = Path(folder) / name
            on_disk[full.relative_to(lib).as_posix()] = full.stat().st_size
    listed = {r.path: r.size for r in rows}
    assert len(listed) == len(rows), "paths are unique"
    assert listed == on_disk
    kinds = Counter(r.kind for r in rows)
    assert kinds["midi"] == N_FILES
    assert 0 < kinds["other"] < N_FILES * 0.1
    assert {r.path.rsplit(".", 1)[-1] for r in rows if r.kind == "other"} >= {"txt"}


def test_layout_looks_like_sample_packs(rows: list[Truth]) -> None:
    midi = midi_rows(rows)
    assert all(r.path.count("/") >= 3 for r in midi), "manufacturer/collection/category/file"
    assert any(r.path.count("/") >= 4 for r in midi), "some deeper folders"
    assert all(r.path.startswith(f"{r.manufacturer}/{r.collection}/") for r in rows)
    assert 10 <= len({r.manufacturer for r in rows}) <= 40
    assert len({(r.manufacturer, r.collection) for r in rows}) >= 20
    assert {r.category for r in midi} == set(library.CATEGORIES)
    exts = Counter(r.path.rsplit(".", 1)[-1] for r in midi)
    assert exts["mid"] > 0.8 * len(midi)
    assert set(exts) - {"mid"}, "a few upper-case or alternative extensions"
    meters = Counter(r.time_signature for r in midi)
    assert meters["4/4"] > 0.8 * len(midi) and len(meters) >= 3
    assert all((r.key is None) == r.is_drum for r in midi)
    assert all(r.ppq in (96, 480, 960) and r.format in (0, 1) for r in midi)


def test_file_names_state_what_the_manifest_says(rows: list[Truth]) -> None:
    midi = midi_rows(rows)
    with_bpm = [r for r in midi if r.name_bpm is not None]
    with_key = [r for r in midi if r.name_key is not None]
    assert 0.4 * len(midi) < len(with_bpm) < len(midi)
    assert 0.2 * len(midi) < len(with_key) < len(midi)
    for r in with_bpm:
        assert r.name_bpm == r.bpm
        assert naming._fmt_bpm(r.bpm) in r.path.rsplit("/", 1)[1]
    for r in with_key:
        assert r.name_key == r.key
    for r in midi:
        numbers = [int(n) for n in re.findall(r"\d+", r.path.rsplit("/", 1)[1].rsplit(".", 1)[0])]
        if len(numbers) == 1 and 40 <= numbers[0] <= 250:
            assert r.name_bpm == numbers[0], f"a lone number in tempo range is the tempo: {r.path}"
    names = " ".join(r.path.rsplit("/", 1)[1] for r in midi)
    for word in ("bpm", "BPM", "Bpm", "808", "_minor", " min", "maj"):
        assert word in names, word
    assert any(chord in names for chord in naming._TRAPS_CHORD), "chord symbols that are not keys"
    assert any("Vol " in r.collection for r in rows), "volume numbers in collection names"


def test_every_file_parses_and_carries_its_truth(lib: Path, rows: list[Truth]) -> None:
    for r in midi_rows(rows):
        facts = read_facts(lib / r.path)
        assert facts["type"] == r.format and facts["ppq"] == r.ppq, r.path
        assert facts["tempos"], r.path
        assert all(round(60_000_000 / t, 2) == r.bpm for t in facts["tempos"]), r.path
        assert facts["meters"] == [r.time_signature], r.path
        assert facts["keys"] == ([r.key_meta] if r.key_meta else []), r.path
        channels: Counter = facts["channels"]
        assert channels, r.path
        if r.is_drum:
            assert set(channels) == {9}, r.path
        elif r.has_drums:
            assert 9 in channels and len(channels) > 1, r.path
        else:
            assert 9 not in channels, r.path


def test_key_signatures_include_sequencer_defaults(rows: list[Truth]) -> None:
    midi = midi_rows(rows)
    with_sig = [r for r in midi if r.key_meta]
    assert 0.25 * len(midi) < len(with_sig) < 0.75 * len(midi)
    assert any(r.key_meta == "C" and r.key not in (None, "C") for r in with_sig), "lone C-major defaults"
    assert any(r.key_meta == r.key and r.key != "C" for r in with_sig)


def test_key_recoverable_from_pitch_class_durations(lib: Path, rows: list[Truth], dsn: str) -> None:
    melodic = [r for r in midi_rows(rows) if r.key and not r.duplicate_of]
    assert len(melodic) > 300
    misses = []
    guesses = estimate_keys(dsn, [read_facts(lib / r.path)["hist"] for r in melodic])
    for r, guess in zip(melodic, guesses, strict=True):
        if guess != r.key:
            misses.append((r.category, r.key, guess))
    accuracy = 1 - len(misses) / len(melodic)
    assert accuracy >= 0.95, (accuracy, Counter(m[0] for m in misses))


def test_duplicates_are_byte_identical_copies(lib: Path, rows: list[Truth]) -> None:
    midi = midi_rows(rows)
    by_path = {r.path: r for r in midi}
    dups = [r for r in midi if r.duplicate_of]
    assert abs(len(dups) / len(midi) - 0.15) < 0.03
    moved = renamed = 0
    for r in dups:
        original = by_path[r.duplicate_of]
        assert original.duplicate_of is None
        assert (lib / r.path).read_bytes() == (lib / original.path).read_bytes()
        assert (r.bpm, r.key, r.category, r.time_signature, r.size) == (
            original.bpm,
            original.key,
            original.category,
            original.time_signature,
            original.size,
        )
        if (r.manufacturer, r.collection) != (original.manufacturer, original.collection):
            moved += 1
        else:
            renamed += 1
    assert moved and renamed, "copies both under other collections and renamed in place"
    digests = Counter(
        hashlib.blake2b((lib / r.path).read_bytes()).digest() for r in midi if not r.duplicate_of
    )
    assert max(digests.values()) == 1, "originals are all distinct"


@pytest.mark.parametrize("ratio", [0.0, 0.3])
def test_dup_ratio_is_honoured(tmp_path: Path, ratio: float) -> None:
    midi = midi_rows(list(truth(generate(tmp_path, 800, seed=3, dup_ratio=ratio))))
    share = sum(1 for r in midi if r.duplicate_of) / len(midi)
    assert abs(share - ratio) < 0.04


def test_sizes_look_like_loops(rows: list[Truth]) -> None:
    sizes = [r.size for r in midi_rows(rows)]
    assert min(sizes) >= 150
    assert max(sizes) <= 50_000
    assert statistics.median(sizes) < 4096
    assert max(r.size for r in midi_rows(rows) if r.category == library.FULL_MIX) > 8000, "some long songs"


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 300, seed=11)
    b = generate(tmp_path / "b", 300, seed=11)
    c = generate(tmp_path / "c", 300, seed=12)
    assert manifest_path(a).read_bytes() == manifest_path(b).read_bytes()
    for r in truth(a):
        assert (a / r.path).read_bytes() == (b / r.path).read_bytes(), r.path
    assert manifest_path(a).read_bytes() != manifest_path(c).read_bytes()


def test_second_call_is_cached(tmp_path: Path) -> None:
    lib = generate(tmp_path, 200, seed=5)
    stamps = {p: p.stat().st_mtime_ns for p in lib.rglob("*")}
    manifest_stamp = manifest_path(lib).stat().st_mtime_ns
    assert generate(tmp_path, 200, seed=5) == lib
    assert {p: p.stat().st_mtime_ns for p in lib.rglob("*")} == stamps
    assert manifest_path(lib).stat().st_mtime_ns == manifest_stamp


def test_interrupted_or_changed_generation_is_redone_cleanly(tmp_path: Path) -> None:
    fresh = manifest_path(generate(tmp_path / "fresh", 200, seed=5)).read_bytes()
    lib = tmp_path / "lib-200-s5"
    (lib / "Half Written/Pack").mkdir(parents=True)
    (lib / "Half Written/Pack/stale.mid").write_bytes(b"MThd")
    (tmp_path / ".lib-200-s5.partial").mkdir()
    assert generate(tmp_path, 200, seed=5) == lib
    assert not (lib / "Half Written").exists()
    assert not (tmp_path / ".lib-200-s5.partial").exists()
    assert manifest_path(lib).read_bytes() == fresh
    generate(tmp_path, 200, seed=5, dup_ratio=0.0)
    assert not any(r.duplicate_of for r in truth(lib)), "other parameters regenerate"


def test_main_prints_the_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert library.main([str(tmp_path), "50", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "lib-50-s2") in out and "50 midi" in out
