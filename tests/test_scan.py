"""runner.scan: the streaming walk, zip archives, odd names, symlinks, and every read/scan error class."""

from __future__ import annotations

import inspect as pyinspect
import io
import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import blake3
import pytest

from runner import scan
from runner.scan import (
    READ_ERROR_CLASSES,
    SCAN_ERROR_CLASSES,
    Candidate,
    ReadError,
    ScanError,
    ScanStats,
    iter_candidates,
    read_path,
)
from tests.corpus import make_corrupt, read_manifest, real_corpus, write_bad_archives

TRACK = b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00"
GOOD = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + struct.pack(">I", len(TRACK)) + TRACK
NOBODY = 65534


def walk(*roots: str | bytes | Path, **kwargs: object) -> tuple[list[Candidate | ScanError], ScanStats]:
    stats = ScanStats()
    items = list(iter_candidates(roots, stats=stats, **kwargs))  # type: ignore[arg-type]
    return items, stats


def candidates(items: list[Candidate | ScanError]) -> list[Candidate]:
    return [i for i in items if isinstance(i, Candidate)]


def errors(items: list[Candidate | ScanError]) -> list[ScanError]:
    return [i for i in items if isinstance(i, ScanError)]


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def as_nobody(fn: Callable[[], object]) -> str:
    """Run fn in a forked child with uid/gid nobody (root ignores file modes); return repr or error class.

    When the tests are not run as root, file modes already apply: fn runs in-process.
    """

    def outcome() -> str:
        try:
            return repr(fn())
        except ReadError as exc:
            return f"ReadError:{exc.error_class}"

    if os.geteuid() != 0:
        return outcome()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = outcome()
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            result = f"child failed: {type(exc).__name__}: {exc}"
        os.write(wfd, result.encode("utf-8", "replace"))
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        result = pipe.read().decode()
    os.waitpid(pid, 0)
    return result


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory every user may traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="midicenter-scan-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(path)


# ---------------------------------------------------------------- the walk


def build_tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "sub.mid").mkdir()  # a directory with a MIDI name is walked, not read
    (root / "empty").mkdir()
    for name in ("a.mid", "B.MIDI", "c.Kar", "d.rmi", "e.RMI", ".mid", "sub/x.mid", "sub.mid/inner.mIdI"):
        (root / name).write_bytes(GOOD + name.encode())
    for name in ("notes.txt", "audio.wav", "noext", "sub/y.doc", "a.midx", "mid"):
        (root / name).write_bytes(b"not midi")


def test_walk_takes_midi_names_in_any_case_and_counts_other_files(tmp_path: Path) -> None:
    build_tree(tmp_path)
    items, stats = walk(tmp_path)
    assert errors(items) == []
    got = [(c.rel, c.read()) for c in candidates(items)]
    # Depth-first, each directory sorted by the bytes of its names.
    expected = [".mid", "B.MIDI", "a.mid", "c.Kar", "d.rmi", "e.RMI", "sub/x.mid", "sub.mid/inner.mIdI"]
    assert [rel for rel, _ in got] == expected
    assert all(data == GOOD + rel.encode() for rel, data in got)
    for c in candidates(items):
        assert c.root == str(tmp_path)
        assert c.path == f"{tmp_path}/{c.rel}"
        assert c.path_bytes is None
    assert stats.midi_candidates == 8
    assert stats.other_files == 6
    assert stats.dirs == 4  # root, empty, sub, sub.mid
    assert stats.errors == 0 and stats.archives == 0
    assert stats.as_dict()["midi_candidates"] == 8


def test_walk_is_deterministic(tmp_path: Path) -> None:
    build_tree(tmp_path)
    first = [c.path for c in candidates(walk(tmp_path)[0])]
    second = [c.path for c in candidates(walk(str(tmp_path).encode())[0])]
    assert first == second


def test_candidate_size_before_and_after_read(tmp_path: Path) -> None:
    (tmp_path / "a.mid").write_bytes(GOOD)
    (cand,) = candidates(walk(tmp_path)[0])
    assert cand.size == len(GOOD)  # one stat before reading
    assert cand.read() == GOOD
    assert cand.size == len(GOOD)
    assert repr(cand).startswith("Candidate(")


def test_file_root_zip_root_other_root_and_missing_root(tmp_path: Path) -> None:
    (tmp_path / "one.mid").write_bytes(GOOD)
    (tmp_path / "pack.zip").write_bytes(zip_bytes({"in/two.mid": GOOD}))
    (tmp_path / "text.txt").write_text("x")
    items, stats = walk(
        tmp_path / "one.mid", tmp_path / "pack.zip", tmp_path / "text.txt", tmp_path / "missing"
    )
    one, two, missing = items
    assert isinstance(one, Candidate) and isinstance(two, Candidate)
    assert (one.root, one.rel, one.path) == (f"{tmp_path}/one.mid", "one.mid", f"{tmp_path}/one.mid")
    assert (two.root, two.rel) == (f"{tmp_path}/pack.zip", "pack.zip!in/two.mid")
    assert two.path == f"{tmp_path}/pack.zip!in/two.mid"
    assert isinstance(missing, ScanError) and missing.error_class == "not_found"
    assert stats.other_files == 1 and stats.errors == 1 and stats.archives == 1


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.mid").write_bytes(GOOD)
    monkeypatch.chdir(tmp_path)
    (cand,) = candidates(walk("lib")[0])
    assert cand.root == f"{tmp_path}/lib" and cand.path == f"{tmp_path}/lib/a.mid"


def test_iter_candidates_is_a_streaming_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first file is yielded before the next directory is even listed."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "first.mid").write_bytes(GOOD)
    (tmp_path / "b").mkdir()
    for i in range(2000):
        (tmp_path / "b" / f"{i}.mid").write_bytes(GOOD)
    listed: list[bytes] = []
    real_scandir = os.scandir

    def recording_scandir(path: bytes) -> object:
        listed.append(os.path.basename(path))
        return real_scandir(path)

    monkeypatch.setattr(scan.os, "scandir", recording_scandir)
    gen = iter_candidates([tmp_path], stats=ScanStats())
    assert pyinspect.isgenerator(gen)
    first = next(gen)
    assert isinstance(first, Candidate) and first.rel == "a/first.mid"
    assert b"b" not in listed
    assert sum(1 for _ in gen) == 2000
    assert b"b" in listed


def test_directory_vanishing_during_the_walk(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "first.mid").write_bytes(GOOD)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "second.mid").write_bytes(GOOD)
    stats = ScanStats()
    gen = iter_candidates([tmp_path], stats=stats)
    assert isinstance(next(gen), Candidate)
    shutil.rmtree(tmp_path / "b")
    (err,) = list(gen)
    assert isinstance(err, ScanError) and err.error_class == "vanished"
    assert err.rel == "b" and err.path == f"{tmp_path}/b"
    assert stats.errors == 1


# ---------------------------------------------------------------- read errors


def test_read_file_deleted_between_scan_and_read(tmp_path: Path) -> None:
    (tmp_path / "gone.mid").write_bytes(GOOD)
    (cand,) = candidates(walk(tmp_path)[0])
    (tmp_path / "gone.mid").unlink()
    with pytest.raises(ReadError) as caught:
        cand.read()
    assert caught.value.error_class == "vanished"
    assert "gone.mid" in caught.value.message
    with pytest.raises(ReadError, match="vanished"):
        _ = cand.size


def test_read_parent_replaced_by_a_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.mid").write_bytes(GOOD)
    (cand,) = candidates(walk(tmp_path)[0])
    shutil.rmtree(tmp_path / "d")
    (tmp_path / "d").write_bytes(b"now a file")  # ENOTDIR: the path no longer leads anywhere
    with pytest.raises(ReadError) as caught:
        cand.read()
    assert caught.value.error_class == "vanished"


def test_read_path_became_a_directory(tmp_path: Path) -> None:
    (tmp_path / "x.mid").write_bytes(GOOD)
    (cand,) = candidates(walk(tmp_path)[0])
    (tmp_path / "x.mid").unlink()
    (tmp_path / "x.mid").mkdir()  # fails for root too: EISDIR
    with pytest.raises(ReadError) as caught:
        cand.read()
    assert caught.value.error_class == "not_regular_file"
    assert "directory" in caught.value.message


def test_read_permission_denied(world_dir: Path) -> None:
    (world_dir / "open.mid").write_bytes(GOOD)
    (world_dir / "locked.mid").write_bytes(GOOD)
    (world_dir / "locked.mid").chmod(0)
    opened, locked = candidates(walk(world_dir)[0])[::-1]
    assert locked.rel == "locked.mid"
    assert as_nobody(opened.read) == repr(GOOD)  # control: the directory is reachable as nobody
    assert as_nobody(locked.read) == "ReadError:unreadable"
    assert as_nobody(lambda: read_path(locked.path)) == "ReadError:unreadable"


def test_unreadable_directory_is_reported_and_the_walk_goes_on(world_dir: Path) -> None:
    (world_dir / "a.mid").write_bytes(GOOD)
    (world_dir / "closed").mkdir()
    (world_dir / "closed" / "hidden.mid").write_bytes(GOOD)
    (world_dir / "closed").chmod(0)
    (world_dir / "z.mid").write_bytes(GOOD)

    def summary() -> list[tuple[str, str]]:
        return [(i.rel, i.error_class if isinstance(i, ScanError) else "ok") for i in walk(world_dir)[0]]

    result = as_nobody(summary)
    assert result == repr([("a.mid", "ok"), ("closed", "unreadable"), ("z.mid", "ok")])


def test_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big.mid").write_bytes(GOOD + bytes(1000))
    (cand,) = candidates(walk(tmp_path, max_member_size=100)[0])
    with pytest.raises(ReadError) as caught:
        cand.read()
    assert caught.value.error_class == "too_large"
    assert "100" in caught.value.message
    with pytest.raises(ReadError, match="too_large"):
        read_path(cand.path, max_size=100)


def test_fifo_and_broken_symlinks_named_mid(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.mid")
    (tmp_path / "broken.mid").symlink_to(tmp_path / "nowhere.mid")
    (tmp_path / "self.mid").symlink_to(tmp_path / "self.mid")  # ELOOP
    (tmp_path / "ok.mid").write_bytes(GOOD)
    items, stats = walk(tmp_path)
    by_rel = {i.rel: i for i in items}
    assert isinstance(by_rel["ok.mid"], Candidate)
    for rel, cls in (("pipe.mid", "not_regular_file"), ("broken.mid", "unreadable"), ("self.mid", "unreadable")):
        item = by_rel[rel]
        assert isinstance(item, ScanError) and item.error_class == cls, item
    assert "broken symlink" in by_rel["broken.mid"].message
    assert "FIFO" in by_rel["pipe.mid"].message
    assert stats.errors == 3


def test_fifo_read_never_blocks(tmp_path: Path) -> None:
    (tmp_path / "x.mid").write_bytes(GOOD)
    (cand,) = candidates(walk(tmp_path)[0])
    (tmp_path / "x.mid").unlink()
    os.mkfifo(tmp_path / "x.mid")
    with pytest.raises(ReadError, match="not_regular_file"):
        cand.read()


# ---------------------------------------------------------------- symlinks


def test_symlinks_followed_without_loops(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    outside = tmp_path / "outside"
    (lib / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "o.mid").write_bytes(GOOD)
    (lib / "sub" / "s.mid").write_bytes(GOOD)
    (lib / "sub" / "back").symlink_to(lib)  # a loop: points at an ancestor
    (lib / "link1").symlink_to(outside)
    (lib / "link2").symlink_to(outside)  # same target again: skipped silently
    (lib / "alias.mid").symlink_to(outside / "o.mid")
    items, stats = walk(lib)
    assert [(i.rel, type(i).__name__) for i in items] == [
        ("alias.mid", "Candidate"),
        ("link1/o.mid", "Candidate"),
        ("sub/back", "ScanError"),
        ("sub/s.mid", "Candidate"),
    ]
    loop = items[2]
    assert isinstance(loop, ScanError) and loop.error_class == "symlink_loop"
    assert stats.symlinks_skipped == 1
    assert candidates(items)[0].read() == GOOD


def test_symlinks_not_followed(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (tmp_path / "o.mid").write_bytes(GOOD)
    (tmp_path / "o.zip").write_bytes(zip_bytes({"z.mid": GOOD}))
    (lib / "real.mid").write_bytes(GOOD)
    (lib / "dirlink").symlink_to(tmp_path)
    (lib / "filelink.mid").symlink_to(tmp_path / "o.mid")
    (lib / "ziplink.zip").symlink_to(tmp_path / "o.zip")
    items, stats = walk(lib, follow_symlinks=False)
    assert [i.rel for i in items] == ["real.mid"]
    assert stats.symlinks_skipped == 3


def test_root_symlink_to_a_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.mid").write_bytes(GOOD)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (cand,) = candidates(walk(tmp_path / "link")[0])
    assert cand.path == f"{tmp_path}/link/a.mid"


# ---------------------------------------------------------------- names


ODD_NAMES = [
    "with space.mid",
    "it's.mid",
    'say "hi".mid',
    "tab\there.mid",
    "new\nline.mid",
    "back\\slash.mid",
    "semi;colon $dollar `tick`.mid",
    "ünïcödé 音楽.mid",
    "bang!.mid",
    " leading and trailing .mid",
]


def test_odd_names_round_trip(tmp_path: Path) -> None:
    for i, name in enumerate(ODD_NAMES):
        (tmp_path / name).write_bytes(GOOD + bytes([i]))
    items, _ = walk(tmp_path)
    got = {c.rel: c for c in candidates(items)}
    assert set(got) == set(ODD_NAMES)
    for i, name in enumerate(ODD_NAMES):
        cand = got[name]
        assert cand.path_bytes is None
        assert cand.path == f"{tmp_path}/{name}"
        assert os.path.isfile(cand.path)
        assert cand.read() == GOOD + bytes([i])
        assert read_path(cand.path) == GOOD + bytes([i])


def test_non_utf8_names_are_kept_byte_exact(tmp_path: Path) -> None:
    base = os.fsencode(tmp_path)
    os.mkdir(base + b"/dir\xff")
    with open(base + b"/caf\xe9.mid", "wb") as fh:
        fh.write(GOOD + b"1")
    with open(base + b"/dir\xff/plain.mid", "wb") as fh:
        fh.write(GOOD + b"2")
    with open(base + b"/p\xfe.zip", "wb") as fh:
        fh.write(zip_bytes({"in/m.mid": GOOD + b"3"}))
    items, _ = walk(tmp_path)
    assert errors(items) == []
    cafe, plain, inner = candidates(items)
    assert cafe.path == f"{tmp_path}/caf\ufffd.mid" and cafe.rel == "caf\ufffd.mid"
    assert cafe.path_bytes == base + b"/caf\xe9.mid"
    assert plain.path == f"{tmp_path}/dir\ufffd/plain.mid"
    assert plain.path_bytes == base + b"/dir\xff/plain.mid"
    assert inner.path == f"{tmp_path}/p\ufffd.zip!in/m.mid"
    assert inner.path_bytes == base + b"/p\xfe.zip!in/m.mid"
    for cand, tail in ((cafe, b"1"), (plain, b"2"), (inner, b"3")):
        assert cand.read() == GOOD + tail
        assert read_path(cand.path, cand.path_bytes) == GOOD + tail
    with pytest.raises(ReadError, match="vanished"):
        read_path(cafe.path)  # the display form names no file


def test_non_utf8_root(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path) + b"/r\x80oot"
    os.mkdir(root)
    with open(root + b"/a.mid", "wb") as fh:
        fh.write(GOOD)
    (cand,) = candidates(walk(root)[0])
    assert cand.root == f"{tmp_path}/r\ufffdoot"
    assert cand.path_bytes == root + b"/a.mid"
    assert cand.read() == GOOD


# ---------------------------------------------------------------- zip archives


def test_zip_members_and_nested_zips(tmp_path: Path) -> None:
    deeper = zip_bytes({"x.mid": GOOD + b"x"})
    inner = zip_bytes({"deep/c.mid": GOOD + b"c", "deeper.zip": deeper, "skip.txt": b"t"})
    pack = zip_bytes(
        {
            "Drums/Kick.MID": GOOD + b"k",
            "readme.txt": b"hello",
            "Drums/": b"",
            "inner.zip": inner,
            "Ünï/ü b.kar": GOOD + b"u",
        },
        zipfile.ZIP_STORED,
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pack.ZIP").write_bytes(pack)
    items, stats = walk(tmp_path)
    assert errors(items) == []
    got = candidates(items)
    assert [c.rel for c in got] == [
        "sub/pack.ZIP!Drums/Kick.MID",
        "sub/pack.ZIP!inner.zip!deep/c.mid",
        "sub/pack.ZIP!inner.zip!deeper.zip!x.mid",
        "sub/pack.ZIP!Ünï/ü b.kar",
    ]
    assert [c.read()[-1:] for c in got] == [b"k", b"c", b"x", b"u"]
    for c in got:
        assert c.path == f"{tmp_path}/{c.rel}"
        assert c.path_bytes is None
        assert c.size == len(c.read())
        assert read_path(c.path) == c.read()
    assert stats.archives == 3
    assert stats.other_files == 2  # readme.txt, skip.txt (the directory entry is not a file)


def test_nesting_limit(tmp_path: Path) -> None:
    level3 = zip_bytes({"x.mid": GOOD})
    level2 = zip_bytes({"l3.zip": level3, "y.mid": GOOD})
    (tmp_path / "l1.zip").write_bytes(zip_bytes({"l2.zip": level2}))
    items, _ = walk(tmp_path, max_nesting=2)
    assert [(i.rel, type(i).__name__) for i in items] == [
        ("l1.zip!l2.zip!l3.zip", "ScanError"),
        ("l1.zip!l2.zip!y.mid", "Candidate"),
    ]
    assert items[0].error_class == "nested_too_deep"  # type: ignore[union-attr]
    assert "2" in items[0].message  # type: ignore[union-attr]
    assert len(candidates(walk(tmp_path, max_nesting=3)[0])) == 2


def test_corrupt_zips_and_bomb(tmp_path: Path) -> None:
    made = write_bad_archives(tmp_path, GOOD)
    (tmp_path / "zz_good.mid").write_bytes(GOOD)
    items, stats = walk(tmp_path)
    by_path = {i.path: i for i in items}
    bomb = by_path[f"{made['bomb']}!bomb.mid"]
    assert isinstance(bomb, ScanError) and bomb.error_class == "archive_bomb"
    assert "200:1" in bomb.message
    member = by_path[f"{made['corrupt_member']}!song.mid"]
    assert isinstance(member, ScanError) and member.error_class == "bad_archive"
    trunc = by_path[str(made["truncated"])]
    assert isinstance(trunc, ScanError) and trunc.error_class == "bad_archive"
    assert trunc.rel == "truncated.zip"
    assert isinstance(by_path[f"{tmp_path}/zz_good.mid"], Candidate)  # the walk went on
    assert stats.errors == 3
    with pytest.raises(ReadError, match="archive_bomb"):
        read_path(bomb.path)
    with pytest.raises(ReadError, match="bad_archive"):
        read_path(member.path)
    with pytest.raises(ReadError, match="bad_archive"):
        read_path(f"{made['truncated']}!song.mid")


def test_member_and_total_size_limits(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(
        zip_bytes({"a.mid": GOOD + bytes(500), "b.mid": GOOD + bytes(500), "c.mid": GOOD + bytes(5000)})
    )
    items, _ = walk(tmp_path, max_member_size=2000, max_archive_total=1000)
    assert [(i.rel, getattr(i, "error_class", "ok")) for i in items] == [
        ("p.zip!a.mid", "ok"),
        ("p.zip!b.mid", "archive_bomb"),  # would pass the total
        ("p.zip!c.mid", "archive_bomb"),  # over the member limit
    ]
    assert "member limit of 2000" in items[2].message  # type: ignore[union-attr]
    assert "total limit of 1000" in items[1].message  # type: ignore[union-attr]


def test_encrypted_member(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"secret.mid": GOOD}, zipfile.ZIP_STORED))
    data[6] |= 1  # local header: general purpose flag bit 0 = encrypted
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(data))
    (err,) = walk(tmp_path)[0]
    assert isinstance(err, ScanError) and err.error_class == "encrypted"
    assert err.path == f"{tmp_path}/enc.zip!secret.mid"


def test_only_midi_and_zip_members_are_decompressed(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"broken.txt": b"x" * 5000, "ok.mid": GOOD}))
    start = 30 + len("broken.txt")
    for i in range(start + 2, start + 12):
        data[i] ^= 0x55  # damage the text member only
    (tmp_path / "p.zip").write_bytes(bytes(data))
    items, stats = walk(tmp_path)
    assert [i.rel for i in items] == ["p.zip!ok.mid"] and stats.errors == 0 and stats.other_files == 1


def test_unreadable_zip(world_dir: Path) -> None:
    (world_dir / "p.zip").write_bytes(zip_bytes({"a.mid": GOOD}))
    (world_dir / "p.zip").chmod(0)

    def summary() -> list[tuple[str, str]]:
        return [(i.rel, getattr(i, "error_class", "ok")) for i in walk(world_dir)[0]]

    assert as_nobody(summary) == repr([("p.zip", "unreadable")])


def test_a_zip_named_directory_is_walked(tmp_path: Path) -> None:
    (tmp_path / "folder.zip").mkdir()
    (tmp_path / "folder.zip" / "a.mid").write_bytes(GOOD)
    (cand,) = walk(tmp_path)[0]
    assert isinstance(cand, Candidate) and cand.rel == "folder.zip/a.mid"


# ---------------------------------------------------------------- read_path


def test_read_path_forms(tmp_path: Path) -> None:
    (tmp_path / "plain!name.mid").write_bytes(GOOD + b"p")
    (tmp_path / "a.zip").write_bytes(zip_bytes({"x!y.mid": GOOD + b"z", "n.zip": zip_bytes({"m.mid": GOOD})}))
    assert read_path(f"{tmp_path}/plain!name.mid") == GOOD + b"p"
    assert read_path(f"{tmp_path}/a.zip!x!y.mid") == GOOD + b"z"
    assert read_path(f"{tmp_path}/a.zip!n.zip!m.mid") == GOOD
    with pytest.raises(ReadError, match="vanished"):
        read_path(f"{tmp_path}/a.zip!missing.mid")
    with pytest.raises(ReadError, match="vanished"):
        read_path(f"{tmp_path}/missing.zip!x.mid")
    with pytest.raises(ReadError, match="vanished"):
        read_path(f"{tmp_path}/nothing.mid")


def test_every_error_class_is_documented_and_exercised(tmp_path: Path) -> None:
    """One tree that produces every scan error class (permissions are covered by the as_nobody tests)."""
    write_bad_archives(tmp_path / "bad", GOOD)
    (tmp_path / "enc.zip").write_bytes(b"")
    data = bytearray(zip_bytes({"secret.mid": GOOD}, zipfile.ZIP_STORED))
    data[6] |= 1
    data[data.find(b"PK\x01\x02") + 8] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(data))
    (tmp_path / "deep.zip").write_bytes(
        zip_bytes({"1.zip": zip_bytes({"2.zip": zip_bytes({"x.mid": GOOD})})})
    )
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "up").symlink_to(tmp_path)
    (tmp_path / "broken.mid").symlink_to(tmp_path / "nowhere")
    (tmp_path / "m_first").mkdir()
    (tmp_path / "m_first" / "a.mid").write_bytes(GOOD)
    (tmp_path / "n_gone").mkdir()
    os.mkfifo(tmp_path / "pipe.zip")
    stats = ScanStats()
    gen = iter_candidates([tmp_path, tmp_path / "missing"], stats=stats, max_nesting=2)
    seen = []
    for item in gen:
        if isinstance(item, Candidate) and item.rel == "m_first/a.mid":
            (tmp_path / "n_gone").rmdir()
        if isinstance(item, ScanError):
            seen.append(item.error_class)
    # internal_error is the net under the walk's own bugs: test_a_bug_on_one_entry_costs_that_entry_only
    assert set(seen) == set(SCAN_ERROR_CLASSES) - {"internal_error"}
    assert stats.errors == len(seen)
    for classes in (SCAN_ERROR_CLASSES, READ_ERROR_CLASSES):
        for word, meaning in classes.items():
            assert word.islower() and " " not in word and meaning


# ---------------------------------------------------------------- real files and speed


@pytest.fixture(scope="module")
def corpus() -> Path:
    return real_corpus()


def test_walk_of_the_real_corpus_matches_its_manifest(corpus: Path, tmp_path: Path) -> None:
    manifest = {rel: (size, digest) for rel, size, digest in read_manifest(corpus)}
    items, stats = walk(corpus)
    assert errors(items) == []
    got = {c.rel: c.read() for c in candidates(items)}
    assert set(got) == set(manifest)
    for rel, data in got.items():
        assert (len(data), blake3.blake3(data).hexdigest()) == manifest[rel]
    assert stats.other_files == 1  # the MANIFEST

    # The same files inside a zip (with a RIFF-wrapped copy of each) come out byte-identical.
    with zipfile.ZipFile(tmp_path / "corpus.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in got.items():
            zf.writestr(rel, data)
            zf.writestr(rel + ".rmi", make_corrupt(data, "riff_wrapped"))
    zipped = candidates(walk(tmp_path / "corpus.zip")[0])
    assert len(zipped) == 2 * len(got)
    for cand in zipped:
        inner = cand.rel.split("!", 1)[1]
        if inner.endswith(".rmi"):
            assert cand.read() == make_corrupt(got[inner[:-4]], "riff_wrapped")
        else:
            assert cand.read() == got[inner]



# ---------------------------------------------------------------- one entry's failure costs one entry


def test_a_bug_on_one_entry_costs_that_entry_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk's net under its own bugs (injected: a bug cannot be made on purpose): an exception on one
    directory entry, one subdirectory or one root is that entry's internal_error, and the walk goes on
    with the next entry in the same directory, the next directory and the next root."""
    (tmp_path / "a.mid").write_bytes(GOOD)
    (tmp_path / "b_boom.zip").write_bytes(zip_bytes({"in.mid": GOOD}))
    (tmp_path / "c_dir").mkdir()
    (tmp_path / "c_dir" / "x.mid").write_bytes(GOOD)
    (tmp_path / "d_dir_boom").mkdir()
    (tmp_path / "d_dir_boom" / "y.mid").write_bytes(GOOD)
    (tmp_path / "e.mid").write_bytes(GOOD)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "z.mid").write_bytes(GOOD)
    archive_file, enter, root = scan._Walk.archive_file, scan._Walk.enter, scan._Walk.root

    def boom_archive(self, root, raw, disp, bad, rel):
        if b"boom" in raw:
            raise RuntimeError("injected")
        return archive_file(self, root, raw, disp, bad, rel)

    def boom_enter(self, root, entry, *args):
        if b"boom" in entry.name:
            raise OSError("injected")
        return enter(self, root, entry, *args)

    def boom_root(self, r):
        if os.fsencode(r).endswith(b"nope"):
            raise ValueError("injected")
        return root(self, r)

    monkeypatch.setattr(scan._Walk, "archive_file", boom_archive)
    monkeypatch.setattr(scan._Walk, "enter", boom_enter)
    monkeypatch.setattr(scan._Walk, "root", boom_root)
    items, stats = walk(tmp_path / "nope", tmp_path)
    got = [(i.rel, i.error_class if isinstance(i, ScanError) else "ok") for i in items]
    assert got == [("", "internal_error"), ("a.mid", "ok"), ("b_boom.zip", "internal_error"),
                   ("c_dir/x.mid", "ok"), ("d_dir_boom", "internal_error"), ("e.mid", "ok"),
                   ("other/z.mid", "ok")]
    assert "RuntimeError: injected" in items[2].message
    assert stats.errors == 3


def test_a_shadowed_zip_member_is_not_a_second_location(tmp_path: Path) -> None:
    """Two members of one name: reading the location (and re-reading it at analysis) gives the last one,
    so the scan yields that one only, once, with the bytes read_path returns."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("d.mid", GOOD + b"first")
        zf.writestr("d.mid", GOOD + b"last")
    (tmp_path / "dup.zip").write_bytes(buf.getvalue())
    items, stats = walk(tmp_path)
    (cand,) = items
    assert cand.read() == GOOD + b"last" == read_path(cand.path)
    assert stats.other_files == 1
