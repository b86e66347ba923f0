"""`import --prune` marks missing only what the walk could have seen: a root that is gone (an unmounted
drive), or a folder or archive that cannot be read, keeps every path under it present, and says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

from runner import importer
from tests import corpus


@pytest.fixture(scope="session")
def songs() -> list[Path]:
    real = corpus.real_corpus()
    return sorted(p for p in real.rglob("*.mid") if p.stat().st_size > 2000)[:4]


def missing_paths(dsn: str) -> dict[str, bool]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT path, missing_since IS NOT NULL FROM midi.file_paths").fetchall())


def test_a_missing_root_is_not_pruned_and_the_result_says_so(dsn: str, tmp_path: Path, songs: list[Path]) -> None:
    home, drive = tmp_path / "home", tmp_path / "mnt" / "drive"
    for folder, song in ((home / "a", songs[0]), (drive / "pack", songs[1]), (drive / "pack", songs[2])):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(song, folder / song.name)
    importer.run_import(dsn, [home, drive])
    assert set(missing_paths(dsn).values()) == {False}

    drive.rename(tmp_path / "mnt" / "unmounted")  # the drive is gone
    (home / "a" / songs[0].name).rename(home / songs[0].name)  # and a file really moved at home
    result = importer.run_import(dsn, [home, drive], prune=True)
    rows = missing_paths(dsn)
    assert rows[str(drive / "pack" / songs[1].name)] is False
    assert rows[str(drive / "pack" / songs[2].name)] is False
    assert rows[str(home / "a" / songs[0].name)] is True  # what could be looked at is still pruned
    assert rows[str(home / songs[0].name)] is False
    assert result.not_pruned == [str(drive)]
    assert importer.result_dict(result)["not_pruned"] == [str(drive)]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT error_class FROM midi.import_errors WHERE path = %s", [str(drive)]).fetchone() == (
            "not_found",)


def test_an_unreadable_archive_keeps_its_members_and_the_cli_says_so(dsn: str, tmp_path: Path, songs: list[Path]) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copyfile(songs[0], root / "loose.mid")
    pack = root / "pack.zip"
    with zipfile.ZipFile(pack, "w") as z:
        for song in songs[1:]:
            z.write(song, f"inner/{song.name}")
    importer.run_import(dsn, [root])
    members = [f"{pack}!inner/{song.name}" for song in songs[1:]]
    assert all(missing_paths(dsn)[m] is False for m in members)

    pack.write_bytes(b"PK\x03\x04 this archive was damaged in transfer")
    (root / "loose.mid").unlink()
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", "--prune", str(root)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"--prune: nothing marked missing under 1 path(s) that could not be read: {pack}" in proc.stderr
    rows = missing_paths(dsn)
    assert [rows[m] for m in members] == [False] * len(members)
    assert rows[str(root / "loose.mid")] is True


def test_without_prune_nothing_is_reported(dsn: str, tmp_path: Path, songs: list[Path]) -> None:
    shutil.copyfile(songs[0], tmp_path / "a.mid")
    result = importer.run_import(dsn, [tmp_path, tmp_path / "nowhere"])
    assert result.not_pruned == [] and "not_pruned" not in importer.result_dict(result)
