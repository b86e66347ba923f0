"""Runners on several machines: a path prefix map reads a library mounted elsewhere, and a file a runner
cannot reach is left pending for a runner that can (never failed).

The two-machine case is played on one machine: the library is imported from `nas/`, then half of its
folders move to `mac/`, where only the runner given `--path-map <nas>=<mac>` looks for them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import analyzer, importer
from runner.pathmap import PathMap, parse_map, reachable_folder
from tests import corpus
from tests.test_analyze import assert_every_file_accounted, fetch, one, real_files


@pytest.fixture(scope="module")
def real() -> Path:
    try:
        return corpus.real_corpus()
    except corpus.CorpusError as exc:  # a missing corpus is a failure, never a silent skip
        pytest.fail(f"no real MIDI corpus: {exc}")


def test_the_longest_prefix_wins_and_only_at_a_component_boundary() -> None:
    m = parse_map(["/mnt/nas=/Volumes/nas", "/mnt/nas/loops=/data/loops/", "/=/chroot"])
    assert m.apply("/mnt/nas/a.mid") == "/Volumes/nas/a.mid"
    assert m.apply("/mnt/nas/loops/b.mid") == "/data/loops/b.mid"
    assert m.apply("/mnt/nas2/c.mid") == "/chroot/mnt/nas2/c.mid"  # not under /mnt/nas: only "/" matches
    assert m.apply("/mnt/nas/x.zip!in/d.mid") == "/Volumes/nas/x.zip!in/d.mid"
    assert m.apply_bytes(b"/mnt/nas/\xff.mid") == b"/Volumes/nas/\xff.mid"
    assert m.apply_bytes(b"/mnt/nasty/e.mid") == b"/chroot/mnt/nasty/e.mid"
    assert PathMap([("/a", "/b")]).apply("/c/a/d.mid") == "/c/a/d.mid"
    assert not parse_map([])
    for bad in ("/mnt/nas", "relative=/x", "/x=relative", "=/x", "/x="):
        with pytest.raises(ValueError):
            parse_map([bad])


def test_a_missing_folder_is_unreachable_and_a_missing_file_in_a_present_folder_is_not(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    assert reachable_folder(str(tmp_path / "here" / "gone.mid"))
    assert reachable_folder(str(tmp_path / "here" / "gone.zip") + "!inner/x.mid")
    assert not reachable_folder(str(tmp_path / "elsewhere" / "a.mid"))
    assert not reachable_folder(str(tmp_path / "elsewhere" / "a.zip") + "!x.mid")
    assert not reachable_folder("elsewhere/\ufffd.mid", str(tmp_path / "elsewhere").encode() + b"/\xff.mid")
    assert reachable_folder("here/\ufffd.mid", str(tmp_path / "here").encode() + b"/\xff.mid")


def _library(real: Path, root: Path, n_folders: int = 6) -> dict[str, list[str]]:
    """Copies of real songs (distinct contents) in n_folders folders under root; {folder: file names}."""
    songs = [p for p in real_files(real) if p.suffix.lower() in (".mid", ".midi", ".kar")]
    per = max(1, min(8, len(songs) // n_folders))
    layout: dict[str, list[str]] = {}
    for i in range(n_folders):
        folder = root / f"set{i}"
        folder.mkdir(parents=True)
        for song in songs[i * per:(i + 1) * per]:
            shutil.copyfile(song, folder / song.name)
        layout[folder.name] = sorted(p.name for p in folder.iterdir())
    return layout


def _analyze(dsn: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--quiet", "--workers", "1",
           "--batch-size", "3", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runners_one_through_a_path_map_share_a_library_half_of_which_only_the_map_reaches(
    dsn: str, real: Path, tmp_path: Path
) -> None:
    nas, mac = tmp_path / "nas", tmp_path / "mac"
    layout = _library(real, nas)
    importer.run_import(dsn, [nas])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    assert n_files == sum(len(v) for v in layout.values()) and n_files >= 12
    moved = sorted(layout)[::2]  # half of the folders exist only where the second machine mounts them
    mac.mkdir()
    for name in moved:
        shutil.move(nas / name, mac / name)
    only_mapped = sum(len(layout[n]) for n in moved)
    # the first runner sees the stored paths as they are; the second reads <nas> at <mac>
    procs = [_analyze(dsn), _analyze(dsn, "--path-map", f"{nas}={mac}")]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    plain, mapped = (json.loads(out) for out, _ in outs)
    # every file analyzed exactly once, none failed: an unreachable file is not an error
    assert plain["analyzed"] + mapped["analyzed"] == n_files, (plain, mapped)
    assert plain["errors"] == mapped["errors"] == 0, (plain, mapped)
    assert plain["analyzed"] == n_files - only_mapped and mapped["analyzed"] == only_mapped
    assert plain["unreachable"] > 0 and mapped["unreachable"] > 0, (plain, mapped)
    assert fetch(dsn, "SELECT count(*) FROM midi.analysis_errors UNION ALL SELECT count(*) FROM midi.analysis_retries") == [
        (0,), (0,)]
    assert one(dsn, "SELECT count(*) FROM midi.files WHERE analyzed_at IS NULL") == 0
    assert_every_file_accounted(dsn)
    # the catalog keeps the paths as imported: the map is how one runner reads them, not a rename
    assert one(dsn, "SELECT count(*) FROM midi.file_paths WHERE path NOT LIKE %s", [f"{nas}/%"]) == 0


def test_a_runner_that_cannot_reach_a_file_leaves_it_pending_not_failed(dsn: str, real: Path, tmp_path: Path) -> None:
    nas, mac = tmp_path / "nas", tmp_path / "mac"
    layout = _library(real, nas, n_folders=2)
    importer.run_import(dsn, [nas])
    n_files = one(dsn, "SELECT count(*) FROM midi.files")
    mac.mkdir()
    shutil.move(nas / "set1", mac / "set1")
    away = len(layout["set1"])
    (nas / "set0" / layout["set0"][0]).unlink()  # a file deleted in a folder that is here: vanished, an error
    first = analyzer.run_analysis(dsn, workers=1, batch_files=2)
    assert (first.analyzed, first.errors, first.unreachable) == (n_files - away - 1, 1, away)
    assert first.error_classes == {"vanished": 1}
    assert one(dsn, "SELECT count(*) FROM midi.analysis_errors") == 1
    assert one(dsn, "SELECT midi.analysis_pending(%s, NULL)", [analyzer.ANALYZER_VERSION]) == away + 1
    # run again on the same machine: no attempt counted against the unreachable files
    analyzer.run_analysis(dsn, workers=1, batch_files=2)
    assert one(dsn, "SELECT count(*) FROM midi.analysis_retries WHERE file_id IN (SELECT file_id FROM"
                    " midi.file_paths WHERE path LIKE %s)", [f"{nas}/set1/%"]) == 0
    # the machine that mounts it elsewhere takes them
    second = analyzer.run_analysis(dsn, workers=1, path_map=parse_map([f"{nas}={mac}"]))
    # (the deleted file's folder is not under <mac> either: from there it is unreachable, not vanished again)
    assert (second.analyzed, second.errors, second.unreachable) == (away, 0, 1)
    assert one(dsn, "SELECT count(*) FROM midi.musical_metadata") == n_files - 1
