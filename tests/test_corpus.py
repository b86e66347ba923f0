"""tests.corpus: the real corpus from Debian packages, and the derived bad files and archives."""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import blake3
import pytest

from runner.midifile import MidiRejected, inspect
from tests import corpus as corpus_mod
from tests.corpus import (
    CORRUPT_KINDS,
    PACKAGES,
    CorpusError,
    default_cache_dir,
    make_corrupt,
    read_manifest,
    real_corpus,
    write_bad_archives,
)

TRACK = b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00"
GOOD = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0" + (b"MTrk" + struct.pack(">I", len(TRACK)) + TRACK) * 2


@pytest.fixture(scope="module")
def corpus() -> Path:
    return real_corpus()


def test_real_corpus_manifest_matches_the_files(corpus: Path) -> None:
    rows = read_manifest(corpus)
    assert len(rows) >= 30
    assert rows == sorted(rows)
    packages = {rel.split("/", 1)[0] for rel, _, _ in rows}
    assert packages <= set(PACKAGES)
    assert len(packages) >= 5
    on_disk = {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()} - {"MANIFEST"}
    assert on_disk == {rel for rel, _, _ in rows}
    for rel, size, digest in rows:
        data = (corpus / rel).read_bytes()
        assert (len(data), blake3.blake3(data).hexdigest()) == (size, digest)
        assert rel.lower().endswith((".mid", ".midi", ".kar", ".rmi"))
        inspect(data)  # every real file is at least structurally MIDI


def test_real_corpus_is_a_no_op_once_built(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("real_corpus ran a command although the MANIFEST exists")

    monkeypatch.setattr(corpus_mod.subprocess, "run", refuse)
    before = (corpus / "MANIFEST").stat().st_mtime_ns
    assert real_corpus(corpus.parent) == corpus
    assert (corpus / "MANIFEST").stat().st_mtime_ns == before


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIDICENTER_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("MIDICENTER_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "midicenter"


def test_nothing_fetched_raises_naming_the_packages(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="midicenter-no-such-package"):
        real_corpus(tmp_path, packages=["midicenter-no-such-package"])
    assert not (tmp_path / "real").exists()


def build_deb(folder: Path) -> Path:
    """A tiny .deb holding MIDI files in several spellings, a gzipped one, a symlink and other files."""
    root = folder / "pkg"
    share = root / "usr" / "share" / "fake"
    (share / "songs").mkdir(parents=True)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        "Package: fake-midi\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: test package\n"
    )
    (share / "songs" / "One.MID").write_bytes(GOOD)
    (share / "songs" / "two.kar").write_bytes(GOOD + b"k")
    (share / "three.mid.gz").write_bytes(gzip.compress(GOOD + b"g"))
    (share / "readme.txt").write_text("not midi")
    (share / "alias.mid").symlink_to("songs/One.MID")
    deb = folder / "fake-midi_1.0_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True
    )
    return deb


def test_build_from_a_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deb = build_deb(tmp_path)

    def fake_download(package: str, dest: Path) -> Path | None:
        if package != "fake-midi":
            return None
        return Path(shutil.copy(deb, dest))

    monkeypatch.setattr(corpus_mod, "_download", fake_download)
    monkeypatch.setattr(corpus_mod, "_lists_missing", lambda: False)
    cache = tmp_path / "cache"
    # A crashed earlier build (no MANIFEST) is thrown away and redone.
    (cache / "real" / "stale").mkdir(parents=True)
    real = real_corpus(cache, packages=["fake-midi", "unavailable"])
    rows = read_manifest(real)
    assert [rel for rel, _, _ in rows] == [
        "fake-midi/usr/share/fake/songs/One.MID",
        "fake-midi/usr/share/fake/songs/two.kar",
        "fake-midi/usr/share/fake/three.mid",
    ]
    assert (real / "fake-midi/usr/share/fake/three.mid").read_bytes() == GOOD + b"g"
    assert "# skipped packages: unavailable" in (real / "MANIFEST").read_text()
    assert not (real / "stale").exists()
    assert [p.name for p in cache.iterdir() if p.name.startswith("corpus-")] == []


def test_apt_update_runs_once_when_lists_are_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deb = build_deb(tmp_path)
    calls: list[list[str]] = []
    state = {"updated": False}

    def fake_download(package: str, dest: Path) -> Path | None:
        return Path(shutil.copy(deb, dest)) if state["updated"] else None

    real_run = corpus_mod._run

    def fake_run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if cmd[:2] == ["apt-get", "update"]:
            state["updated"] = True
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return real_run(cmd, cwd)

    monkeypatch.setattr(corpus_mod, "_download", fake_download)
    monkeypatch.setattr(corpus_mod, "_run", fake_run)
    monkeypatch.setattr(corpus_mod, "_lists_missing", lambda: True)
    real = real_corpus(tmp_path / "cache", packages=["fake-a", "fake-b"])
    assert [c for c in calls if c[:2] == ["apt-get", "update"]] == [["apt-get", "update"]]
    assert {rel.split("/")[0] for rel, _, _ in read_manifest(real)} == {"fake-a", "fake-b"}


# ---------------------------------------------------------------- derived bad files


def test_make_corrupt_kinds() -> None:
    outcomes: dict[str, str | tuple[str, ...]] = {}
    for kind in CORRUPT_KINDS:
        data = make_corrupt(GOOD, kind)
        assert make_corrupt(GOOD, kind) == data  # deterministic
        try:
            outcomes[kind] = inspect(data).warnings
        except MidiRejected as exc:
            outcomes[kind] = exc.error_class
    assert outcomes == {
        "zero_byte": "empty",
        "garbage": "not_midi",
        "header_only": ("no_tracks", "track_count_mismatch"),
        "truncated_track": ("truncated_track", "track_count_mismatch"),
        "wrong_chunk_length": ("truncated_track",),
        "short_chunk_length": ("trailing_garbage", "track_count_mismatch"),
        "trailing_garbage": ("trailing_garbage",),
        "riff_wrapped": (),
        "flipped_header": "bad_header",
    }
    info = inspect(make_corrupt(GOOD, "riff_wrapped"))
    assert info.is_rmid and info.num_tracks == 2
    odd = GOOD[:-1] + b"\x00\x00"  # odd length: the RIFF data chunk gets a pad byte
    assert len(make_corrupt(odd, "riff_wrapped")) % 2 == 0


def test_make_corrupt_refuses_unknown_kinds_and_non_smf() -> None:
    with pytest.raises(ValueError, match="unknown corrupt kind"):
        make_corrupt(GOOD, "nope")
    with pytest.raises(ValueError, match="MThd"):
        make_corrupt(b"RIFF....", "header_only")


def test_write_bad_archives(tmp_path: Path) -> None:
    made = write_bad_archives(tmp_path / "bad", GOOD, bomb_size=2 * 1024 * 1024)
    assert set(made) == {"corrupt_member", "truncated", "bomb"}
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(made["truncated"])
    with zipfile.ZipFile(made["corrupt_member"]) as zf, pytest.raises((zipfile.BadZipFile, zlib.error)):
        zf.read("song.mid")
    with zipfile.ZipFile(made["bomb"]) as zf:
        (info,) = zf.infolist()
        assert info.file_size == 2 * 1024 * 1024
        assert info.file_size / info.compress_size > 200
