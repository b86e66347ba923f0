"""`midicenter export` on a real imported library: bytes from a present path (canonical gone: another one;
zip members from their archive; non-UTF-8 names by their exact bytes), every file checked against its
BLAKE3 (a mismatch is reported, not written), copies or links, folders or one zip, the manifest, re-runs
that write nothing, collisions with files already there, a read-only destination and a destination inside
the library, and the catalog streamed as CSV or JSON lines."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import mido
import psycopg
import pytest
from blake3 import blake3
from click.testing import CliRunner

from runner import export, importer, prefetch
from runner.cli import cli
from tests.midi_build import build


def song(pitch: int, n: int = 4, name: str = "") -> bytes:
    """A small distinct MIDI file (its notes differ by pitch and count)."""
    msgs = [mido.MetaMessage("track_name", name=name)] if name else []
    for i in range(n):
        msgs += [mido.Message("note_on", note=pitch + i % 3, velocity=90, time=0 if i == 0 else 240),
                 mido.Message("note_off", note=pitch + i % 3, velocity=0, time=240)]
    return build([msgs])


LIB: dict[str, bytes] = {
    "Loopforge/Deep Grooves/Bass_124_Am.mid": song(40),
    "Loopforge/Deep Grooves/copy/Bass_124_Am.mid": song(40),  # the same content at a second path
    "Loopforge/Deep Grooves/Lead_128_F.MID": song(72),
    "Chord Club/Lofi Keys/Chords_90_C.mid": song(60),
    "Odd/line\nbreak.mid": song(50),
    "Odd/" + "é" * 120 + ".mid": song(52),  # a 244-byte name
}
ZIP_MEMBERS: dict[str, bytes] = {
    "keys/Keys_96_G.mid": song(55),
    "../escape.mid": song(57),  # a member name that climbs out: read by name, written inside the destination
    "a/../../../tmp/escape2.mid": song(58),
}
NON_UTF8 = b"Odd/caf\xe9_Pad.mid"


def make_library(root: Path) -> Path:
    for rel, data in LIB.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with zipfile.ZipFile(root / "Chord Club" / "pack.zip", "w") as zf:
        for name, data in ZIP_MEMBERS.items():
            zf.writestr(name, data)
    os.makedirs(os.path.join(os.fsencode(root), b"Odd"), exist_ok=True)
    with open(os.path.join(os.fsencode(root), NON_UTF8), "wb") as fh:
        fh.write(song(62))
    return root


@pytest.fixture
def library(dsn: str, tmp_path: Path) -> tuple[str, Path]:
    root = make_library(tmp_path / "lib")
    result = importer.run_import(dsn, [root])
    assert result.errors == 0 and result.files_new == len(LIB) - 1 + len(ZIP_MEMBERS) + 1
    return dsn, root


def contents() -> set[bytes]:
    return {*LIB.values(), *ZIP_MEMBERS.values(), song(62)}


def file_id(dsn: str, pattern: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT id FROM midi.files WHERE filepath LIKE %s", [pattern]).fetchone()[0]


def manifest(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def tree(dest: Path) -> dict[str, bytes]:
    """Every file under dest (relative path: bytes), the manifest left out."""
    out = {}
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            full = Path(dirpath, name)
            rel = full.relative_to(dest).as_posix()
            if rel != export.MANIFEST:
                out[rel] = full.read_bytes()
    return out


def snapshot(dest: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime in ns) of everything under dest, the manifest included."""
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in dest.rglob("*")}


def run(dsn: str, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--dsn", dsn, *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


# ------------------------------------------------------------------------------------------------- copy


@pytest.mark.parametrize("threads", [1, 4])
def test_copy_writes_every_file_checked_and_a_rerun_writes_nothing(library, tmp_path: Path, threads: int) -> None:
    dsn, root = library
    dest = tmp_path / "out"
    result = export.export(dsn, {}, dest, export.ExportOptions(threads=threads))
    n = len(contents())
    assert (result.files, result.written, result.copied, result.errors, result.hashes_checked) == (n, n, n, 0, n)
    files = tree(dest)
    assert set(files.values()) == contents() and len(files) == n
    for rel in files:
        assert "/" not in rel and not rel.startswith(".")  # flat, nothing hidden, nothing outside
    # members named ../escape.mid and a/../../../tmp/escape2.mid land inside the destination, nowhere else
    assert sorted(tmp_path.rglob("escape*.mid")) == [dest / "escape.mid", dest / "escape2.mid"]
    rows = manifest(dest / export.MANIFEST)
    assert len(rows) == n
    for row in rows:
        data = (dest / row["dest"]).read_bytes()
        assert blake3(data).hexdigest() == row["content_hash"] and int(row["bytes"]) == len(data)
        assert row["status"] == "ok" and row["mode"] == "copy" and row["source"].startswith(str(root))
    by_name = {r["dest"]: r for r in rows}
    assert by_name["Keys_96_G.mid"]["source"] == f"{root}/Chord Club/pack.zip!keys/Keys_96_G.mid"
    assert by_name["escape.mid"]["source"] == f"{root}/Chord Club/pack.zip!../escape.mid"
    assert by_name["line_break.mid"]["source"] == f"{root}/Odd/line\nbreak.mid"
    assert by_name["caf\ufffd_Pad.mid"]["source"] == f"{root}/Odd/caf\ufffd_Pad.mid"
    assert (dest / "caf\ufffd_Pad.mid").read_bytes() == song(62)  # read through path_bytes, the exact name
    assert (dest / ("é" * 120 + ".mid")).read_bytes() == LIB["Odd/" + "é" * 120 + ".mid"]

    before = snapshot(dest)
    again = export.export(dsn, {}, dest, export.ExportOptions(threads=threads))
    assert (again.files, again.written, again.present, again.errors) == (n, 0, n, 0)
    assert snapshot(dest) == before  # not one file rewritten, the manifest included
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_rename_keep_tree_and_filters(library, tmp_path: Path) -> None:
    dsn, _root = library
    dest = tmp_path / "named"
    result = export.export(dsn, {"q": "bass"}, dest,
                           export.ExportOptions(template="{bpm}_{key}_{category}_{name}", keep_tree=True))
    assert result.files == 1
    assert tree(dest) == {"Loopforge/Deep Grooves/124_Am_Bass_124_Am.mid": LIB["Loopforge/Deep Grooves/Bass_124_Am.mid"]}
    # a 600-byte rendering is cut to the 255-byte limit and still written
    long = export.export(dsn, {}, tmp_path / "long", export.ExportOptions(template="{name}_{name}_{name}"))
    assert long.errors == 0 and long.written == len(contents())
    assert max(len(p.encode()) for p in tree(tmp_path / "long")) <= 255
    ids = [file_id(dsn, "%Chords_90_C.mid"), file_id(dsn, "%Lead_128_F.MID")]
    picked = export.export(dsn, None, tmp_path / "ids", export.ExportOptions(ids=ids))
    assert sorted(tree(tmp_path / "ids")) == ["Chords_90_C.mid", "Lead_128_F.mid"] and picked.files == 2


def test_canonical_path_gone_another_path_is_used(library, tmp_path: Path) -> None:
    dsn, root = library
    (root / "Loopforge/Deep Grooves/Bass_124_Am.mid").unlink()
    result = export.export(dsn, {"q": "bass"}, tmp_path / "out")
    assert (result.written, result.errors) == (1, 0)
    (row,) = manifest(tmp_path / "out" / export.MANIFEST)
    assert row["source"] == f"{root}/Loopforge/Deep Grooves/copy/Bass_124_Am.mid"
    assert (tmp_path / "out/Bass_124_Am.mid").read_bytes() == song(40)
    (root / "Loopforge/Deep Grooves/copy/Bass_124_Am.mid").unlink()
    gone = export.export(dsn, {"q": "bass"}, tmp_path / "gone")
    assert (gone.written, gone.errors, gone.error_classes) == (0, 1, {"missing": 1})
    assert manifest(tmp_path / "gone" / export.MANIFEST)[0]["status"] == "missing"
    assert tree(tmp_path / "gone") == {}


def test_a_hash_mismatch_is_reported_and_not_written(library, tmp_path: Path) -> None:
    dsn, root = library
    changed = root / "Chord Club/Lofi Keys/Chords_90_C.mid"
    changed.write_bytes(song(61))  # edited after import: the catalog's hash no longer holds
    result = CliRunner().invoke(cli, ["--dsn", dsn, "export", "--to", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors"] == 1 and summary["error_classes"] == {"hash_mismatch": 1}
    assert summary["first_errors"][0]["dest"] == "Chords_90_C.mid"
    assert not (tmp_path / "out/Chords_90_C.mid").exists()
    assert song(61) not in tree(tmp_path / "out").values()
    assert summary["written"] == len(contents()) - 1
    row = next(r for r in manifest(tmp_path / "out" / export.MANIFEST) if r["dest"] == "Chords_90_C.mid")
    assert (row["status"], row["source"]) == ("hash_mismatch", str(changed))


def test_a_zip_member_is_read_from_its_archive(library, tmp_path: Path) -> None:
    dsn, root = library
    member = file_id(dsn, "%pack.zip!keys/Keys_96_G.mid")
    result = export.export(dsn, {}, tmp_path / "out", export.ExportOptions(ids=[member]))
    assert tree(tmp_path / "out") == {"Keys_96_G.mid": ZIP_MEMBERS["keys/Keys_96_G.mid"]}
    assert result.written == 1
    # the archive is damaged: the member cannot be had, the run goes on
    (root / "Chord Club/pack.zip").write_bytes(b"PK\x03\x04 not a zip any more")
    broken = export.export(dsn, {}, tmp_path / "broken")
    assert broken.error_classes == {"unreadable": len(ZIP_MEMBERS)}
    assert broken.written == len(contents()) - len(ZIP_MEMBERS)


def test_names_already_taken_by_other_files_get_a_suffix(library, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "Chords_90_C.mid").write_bytes(b"the user's own file")
    dsn, _root = library
    first = export.export(dsn, {}, dest)
    assert first.renamed_on_collision == 1 and first.errors == 0
    assert (dest / "Chords_90_C.mid").read_bytes() == b"the user's own file"  # never overwritten
    assert (dest / "Chords_90_C~2.mid").read_bytes() == LIB["Chord Club/Lofi Keys/Chords_90_C.mid"]
    before = snapshot(dest)
    again = export.export(dsn, {}, dest)
    assert (again.written, again.present) == (0, len(contents())) and snapshot(dest) == before


# ------------------------------------------------------------------------------------------------ links


def test_link_makes_hard_links_and_copies_zip_members(library, tmp_path: Path) -> None:
    dsn, root = library
    dest = tmp_path / "links"
    result = export.export(dsn, {}, dest, export.ExportOptions(link=True))
    assert result.hardlinked == len(LIB) - 1 + 1  # every plain file (one content has two paths)
    assert result.copied == len(ZIP_MEMBERS)
    src = root / "Loopforge/Deep Grooves/Lead_128_F.MID"
    assert (dest / "Lead_128_F.mid").stat().st_ino == src.stat().st_ino
    modes = {r["dest"]: r["mode"] for r in manifest(dest / export.MANIFEST)}
    assert modes["Lead_128_F.mid"] == "hardlink" and modes["Keys_96_G.mid"] == "copy"
    assert set(tree(dest).values()) == contents()
    again = export.export(dsn, {}, dest, export.ExportOptions(link=True))
    assert again.written == 0 and again.present == len(contents())


def test_link_falls_back_to_a_symlink_across_file_systems(library, tmp_path: Path) -> None:
    dsn, root = library
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second file system (/dev/shm) for a cross-device link")
    dest = Path(shm, f"midicenter-export-test-{os.getpid()}")
    try:
        result = export.export(dsn, {"q": "lead"}, dest, export.ExportOptions(link=True))
        assert result.symlinked == 1
        link = dest / "Lead_128_F.mid"
        assert link.is_symlink() and os.readlink(link) == str(root / "Loopforge/Deep Grooves/Lead_128_F.MID")
        assert link.read_bytes() == LIB["Loopforge/Deep Grooves/Lead_128_F.MID"]
    finally:
        shutil.rmtree(dest, ignore_errors=True)


# -------------------------------------------------------------------------------------------------- zip


def test_zip_archive_with_manifest_and_unchanged_rerun(library, tmp_path: Path) -> None:
    dsn, _root = library
    out = tmp_path / "pick.zip"
    result = export.export(dsn, {}, out, export.ExportOptions(zip=True, keep_tree=True))
    assert result.written == len(contents()) and result.zip_unchanged is False
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[-1] == export.MANIFEST
        assert {zf.read(n) for n in names[:-1]} == contents()
        for n in names:
            assert not n.startswith("/") and ".." not in n.split("/"), n
        rows = list(csv.DictReader(io.StringIO(zf.read(export.MANIFEST).decode())))
        assert len(rows) == len(contents()) and all(r["mode"] == "zip" for r in rows)
    stamp = out.stat().st_mtime_ns, out.stat().st_ino
    again = export.export(dsn, {}, out, export.ExportOptions(zip=True, keep_tree=True))
    assert again.zip_unchanged is True and (out.stat().st_mtime_ns, out.stat().st_ino) == stamp
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------------------- destinations


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make a folder unwritable even for root: chattr +i when running as root, chmod otherwise."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot make a folder read-only as root here (chattr: {done.stderr.decode().strip()})")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_read_only_destination_is_a_clear_error_and_leaves_nothing_half_written(library, tmp_path: Path) -> None:
    dsn, _root = library
    dest = tmp_path / "ro"
    dest.mkdir()
    with read_only(dest):
        result = CliRunner().invoke(cli, ["--dsn", dsn, "export", "--to", str(dest)])
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert "\n" not in line and line.startswith("midicenter: error: cannot write") and str(dest) in line, line
        assert list(dest.iterdir()) == []
    # a folder of the tree is read-only: the files before it are whole, nothing partial is left anywhere
    blocked = tmp_path / "tree" / "Loopforge" / "Deep Grooves"
    blocked.mkdir(parents=True)
    with read_only(blocked):
        with pytest.raises(export.DestinationError, match="cannot write"):
            export.export(dsn, {}, tmp_path / "tree", export.ExportOptions(keep_tree=True))
        written = tree(tmp_path / "tree")
        assert all(blake3(d).digest() in {blake3(c).digest() for c in contents()} for d in written.values())
        assert not [p for p in (tmp_path / "tree").rglob("*") if p.name.startswith(".")]
        assert not (tmp_path / "tree" / export.MANIFEST).exists()


def test_a_destination_inside_the_library_is_refused_unless_allowed(library) -> None:
    dsn, root = library
    inside = root / "Loopforge" / "exported"
    result = run(dsn, "export", "--to", str(inside), code=1)
    assert "inside the imported folder" in result.stderr and not inside.exists()
    run(dsn, "export", "--zip", str(root / "all.zip"), code=1)
    ok = export.export(dsn, {"q": "lead"}, inside, export.ExportOptions(inside_library=True))
    assert ok.written == 1
    # the library's own files are never touched: a name that is taken there gets a suffix
    same_folder = root / "Loopforge" / "Deep Grooves"
    before = {p: p.read_bytes() for p in same_folder.rglob("*.*")}
    again = export.export(dsn, {}, same_folder, export.ExportOptions(inside_library=True))
    assert again.errors == 0
    assert all(p.read_bytes() == data for p, data in before.items())


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_summary_usage_errors_and_no_progress_off_a_terminal(library, tmp_path: Path) -> None:
    dsn, _root = library
    result = run(dsn, "export", "lead", "--to", str(tmp_path / "a"))
    assert "written" in result.stdout and result.stderr == ""  # no progress drawn off a terminal
    assert run(dsn, "export", "--to", str(tmp_path / "b"), "--quiet").stderr == ""
    run(dsn, "export", code=2)
    run(dsn, "export", "--to", str(tmp_path / "c"), "--zip", str(tmp_path / "c.zip"), code=2)
    run(dsn, "export", "--zip", str(tmp_path / "c.zip"), "--link", code=2)
    run(dsn, "export", "--catalog", "--zip", str(tmp_path / "c.zip"), code=2)
    run(dsn, "export", "--to", str(tmp_path / "c"), "--ids", "1,x", code=2)
    run(dsn, "export", "--to", str(tmp_path / "c"), "--key", "Hm", code=2)
    saved = run(dsn, "saved", "save", "leads", "lead")
    assert saved.exit_code == 0
    summary = json.loads(run(dsn, "export", "--saved", "leads", "--to", str(tmp_path / "s"), "--json").stdout)
    assert summary["files"] == 1 and sorted(tree(tmp_path / "s")) == ["Lead_128_F.mid"]
    assert run(dsn, "export", "--saved", "nope", "--to", str(tmp_path / "n"), code=1).stderr.startswith(
        "midicenter: error: database error: no saved search named nope")


# ---------------------------------------------------------------------------------------------- catalog


def test_catalog_streams_csv_and_json_lines(library, tmp_path: Path) -> None:
    dsn, _root = library
    n = len(contents())
    result = run(dsn, "export", "--catalog")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    with psycopg.connect(dsn) as conn:
        columns = [c.name for c in conn.execute("SELECT * FROM midi.catalog LIMIT 0").description]
    assert list(rows[0]) == columns and len(rows) == n
    assert sorted(int(r["id"]) for r in rows) == [int(r["id"]) for r in rows]
    assert any("line\nbreak" in r["filepath"] for r in rows)  # CSV quoting keeps a newline inside a value
    out = tmp_path / "cat.jsonl"
    summary = json.loads(run(dsn, "export", "--catalog", "--format", "jsonl", "--to", str(out), "--json").stdout)
    lines = out.read_bytes().decode().splitlines()
    objs = [json.loads(x) for x in lines]
    assert summary["rows"] == n == len(objs) and list(objs[0]) == columns
    assert {o["content_hash"] for o in objs} == {blake3(c).hexdigest() for c in contents()}
    weird = next(o for o in objs if "line" in o["filename"])
    assert weird["paths"] == [weird["filepath"]] and "\n" in weird["filepath"]
    narrowed = [json.loads(x) for x in run(dsn, "export", "--catalog", "--format", "jsonl", "bass").stdout.splitlines()]
    assert [o["filename"] for o in narrowed] == ["Bass_124_Am.mid"]
    assert len(narrowed[0]["paths"]) == 2


def test_progress_on_a_terminal_counts_files_and_errors(library, tmp_path: Path) -> None:
    from tests.test_cli_commands import MIDICENTER, draws, on_terminal

    dsn, root = library
    (root / "Odd/line\nbreak.mid").write_bytes(b"changed")  # one file that cannot be had
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "export", "--json", "--to", str(tmp_path / "t")])
    assert code == 0, shown
    n = len(contents())
    assert json.loads(out)["files"] == n
    last = draws(shown)[-1]
    m = re.fullmatch(r"export: ([\d,]+)/([\d,]+) files +100% \|.*\| [\d,]+ files/s, \S+ left, (\d+) errors", last)
    assert m and (int(m.group(1)), int(m.group(2)), int(m.group(3))) == (n, n, 1), last
    code, out, shown = on_terminal([MIDICENTER, "--dsn", dsn, "export", "--quiet", "--json", "--to", str(tmp_path / "q")])
    assert code == 0 and json.loads(out)["written"] == n - 1 and shown == ""


def test_catalog_into_a_folder_or_an_unwritable_place_is_one_clear_error(library, tmp_path: Path) -> None:
    dsn, _root = library
    (tmp_path / "adir").mkdir()
    for target in (tmp_path / "adir", tmp_path / "missing" / "cat.csv"):
        result = run(dsn, "export", "--catalog", "--to", str(target), code=1)
        assert result.stderr.startswith("midicenter: error: cannot write") and result.stderr.count("\n") == 1
    assert list((tmp_path / "adir").iterdir()) == []
    (tmp_path / "adir.zip").mkdir()
    run(dsn, "export", "--zip", str(tmp_path / "adir.zip"), code=2)  # a usage error: --zip names a file
    with pytest.raises(export.DestinationError, match="cannot write"):
        export.export(dsn, {}, tmp_path / "adir.zip", export.ExportOptions(zip=True))
    assert not list(tmp_path.glob(".*partial"))



@pytest.mark.parametrize("threads", [1, 4])
def test_a_file_named_like_another_files_suffix_loses_nothing(dsn: str, tmp_path: Path, threads: int) -> None:
    """Two files named a.mid (the second gets a~<id>.mid from SQL) and a third file whose own name is that
    a~<id>.mid: all three are written, none over another, and a re-run writes nothing."""
    lib = tmp_path / "lib"
    for i, folder in enumerate(("One", "Two")):
        (lib / folder).mkdir(parents=True)
        (lib / folder / "a.mid").write_bytes(song(30 + i))
    importer.run_import(dsn, [lib])
    second = max(file_id(dsn, "%/One/a.mid"), file_id(dsn, "%/Two/a.mid"))
    (lib / "Three").mkdir()
    (lib / "Three" / f"a~{second}.mid").write_bytes(song(40))
    importer.run_import(dsn, [lib])
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute("SELECT dest FROM midi.export_rows()")]
    assert sorted(names) == ["a.mid", f"a~{second}.mid", f"a~{second}.mid"]  # what SQL alone can say
    dest = tmp_path / "out"
    result = export.export(dsn, {}, dest, export.ExportOptions(threads=threads))
    assert (result.written, result.errors, result.renamed_on_collision) == (3, 0, 1)
    files = tree(dest)
    assert sorted(files.values()) == sorted([song(30), song(31), song(40)])
    assert len(files) == 3 and f"a~{second}~2.mid" in files
    again = export.export(dsn, {}, dest, export.ExportOptions(threads=threads))
    assert (again.written, again.present) == (0, 3)


# ------------------------------------------------------------------------------- rows fetched ahead


def test_rows_fetched_ahead_keep_their_order_and_an_error_comes_after_the_rows_before_it() -> None:
    def rows() -> Iterator[int]:
        yield from range(10)
        raise psycopg.OperationalError("the server went away")

    got: list[int] = []
    with prefetch.Ahead(rows(), batch=3) as ahead, pytest.raises(psycopg.OperationalError, match="went away"):
        got.extend(ahead)
    assert got == list(range(10))  # the last, partial batch too


def test_leaving_early_stops_the_fetching_thread_and_closes_the_rows_there() -> None:
    closed_in: list[str] = []

    def rows() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed_in.append(threading.current_thread().name)  # a cursor's transaction ends where it was used

    started = time.monotonic()
    with prefetch.Ahead(rows(), batch=100) as ahead:
        first = next(iter(ahead))
    assert first == 0
    assert closed_in == ["midicenter-ahead"]
    assert time.monotonic() - started < 10


def test_the_threads_option_reaches_the_export(library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn, _ = library
    seen: list[int] = []
    real = export.export
    monkeypatch.setattr(export, "export", lambda *a, **k: seen.append(a[3].threads) or real(*a, **k))
    for threads in ("1", "3"):
        dest = tmp_path / f"out-{threads}"
        r = CliRunner().invoke(cli, ["--dsn", dsn, "export", "--json", "-q", "--threads", threads, "--to", str(dest)])
        assert r.exit_code == 0, r.output
        data = json.loads(r.output)
        assert data["written"] == data["files"] > 0 and data["errors"] == 0
    assert seen == [1, 3]
    bad = CliRunner().invoke(cli, ["--dsn", dsn, "export", "--threads", "0", "--to", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--threads" in bad.output
