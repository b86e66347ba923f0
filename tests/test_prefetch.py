"""Reads in flight ahead of the readers (runner/prefetch.py): evicted files are in the page cache once advised
(checked with mincore, which looks without reading), the walk hands files over ahead of
the reader in order, files the reader already passed are not fetched, and nothing blocks on a FIFO."""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import time
from pathlib import Path

import pytest

from runner import prefetch, scan
from runner.bench.importbench import evict
from tests import corpus

pytestmark = pytest.mark.skipif(not prefetch.available() or not sys.platform.startswith("linux"),
                                reason="needs posix_fadvise and mincore (Linux)")


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mmap.restype = ctypes.c_void_p
_LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
_MAP_FAILED = ctypes.c_void_p(-1).value


def resident(path: Path) -> bool:
    """Whether every page of the file is in the page cache: mincore(2) on a mapping of it, which looks without
    reading (a read that may not wait, preadv RWF_NOWAIT, starts the very readahead it would check for)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        addr = _LIBC.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr == _MAP_FAILED:
            raise OSError(ctypes.get_errno(), "mmap")
        try:
            vec = (ctypes.c_ubyte * ((size + mmap.PAGESIZE - 1) // mmap.PAGESIZE))()
            if _LIBC.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
            return all(b & 1 for b in vec)
        finally:
            _LIBC.munmap(addr, size)
    finally:
        os.close(fd)


@pytest.fixture
def cold_tree(tmp_path: Path) -> list[Path]:
    """600 real MIDI files in 3 folders, written to disk and evicted from the page cache."""
    songs = sorted(corpus.real_corpus().rglob("*.mid"))[:20]
    out = []
    for i in range(600):
        p = tmp_path / f"d{i % 3}" / f"{i:04d}.mid"
        p.parent.mkdir(exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(songs[i % len(songs)].read_bytes() + i.to_bytes(4, "big"))  # distinct pages
            fh.flush()
            os.fsync(fh.fileno())  # dirty pages cannot be evicted
        out.append(p)
    evict([str(p) for p in out])
    if any(resident(p) for p in out):
        pytest.skip("this filesystem keeps the files cached (posix_fadvise DONTNEED has no effect)")
    return out


def wait_for(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_advised_files_are_fetched_into_the_page_cache(cold_tree: list[Path]) -> None:
    with prefetch.Prefetcher(8) as fetch:
        fetch.ahead(str(p) for p in cold_tree[:100])
        assert wait_for(lambda: all(resident(p) for p in cold_tree[:100]))
    assert not any(resident(p) for p in cold_tree[100:])  # only what was handed over


def test_the_walk_hands_files_over_ahead_of_the_reader(cold_tree: list[Path]) -> None:
    """While the reader holds the first file, the next `window` files are fetched; the walk's order is kept."""
    root = cold_tree[0].parent.parent
    stats = scan.ScanStats()
    walk = scan.iter_candidates([root], stats=stats)
    seen = []
    with prefetch.Prefetcher(16) as fetch:
        items = prefetch.read_ahead(walk, lambda c: c.fs_path, fetch, window=50)
        first = next(items)
        seen.append(first.path)
        ahead = sorted(cold_tree)[1:51]
        assert wait_for(lambda: all(resident(p) for p in ahead))
        assert not any(resident(p) for p in sorted(cold_tree)[60:])  # not beyond the window
        seen += [c.path for c in items]
    assert seen == [str(p) for p in sorted(cold_tree)]
    assert stats.midi_candidates == len(cold_tree)


def test_files_the_reader_passed_are_not_fetched(cold_tree: list[Path]) -> None:
    fetch = prefetch.Prefetcher(4)
    fetch.reached = 10**9  # the reader is past everything handed over from here on
    fetch.ahead(str(p) for p in cold_tree[:50])
    assert wait_for(lambda: fetch.skipped + fetch.advised + fetch.cached == 50)
    fetch.close()
    assert (fetch.skipped, fetch.advised, fetch.cached) == (50, 0, 0)
    assert not any(resident(p) for p in cold_tree[:50])


def test_read_ahead_keeps_order_and_every_item() -> None:
    with prefetch.Prefetcher(2) as fetch:
        assert list(prefetch.read_ahead(iter(range(1000)), lambda i: None, fetch, window=7)) == list(range(1000))
        assert list(prefetch.read_ahead(iter(range(3)), lambda i: None, fetch, window=7)) == [0, 1, 2]


def test_a_fifo_or_a_missing_file_is_skipped_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "song.mid"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert prefetch.advise(str(fifo)) is None
    assert prefetch.advise(str(tmp_path / "gone.mid")) is None
    assert prefetch.advise(os.fsencode(tmp_path)) is None  # a directory
    assert time.monotonic() - started < 1


def test_a_cached_library_is_only_sampled_until_a_file_is_not(cold_tree: list[Path]) -> None:
    """Files found cached are left alone; after WARM_AFTER in a row only every SAMPLE_EVERY-th file is looked
    at, and one not cached brings the look-ahead back for every file."""
    warm, cold = cold_tree[:300], cold_tree[300:]
    for p in warm:
        p.read_bytes()
    assert prefetch.advise(str(warm[0])) == "cached"
    with prefetch.Prefetcher(1) as fetch:  # one thread: files are looked at in order
        fetch.ahead(str(p) for p in warm)
        assert wait_for(lambda: fetch.sparse)
        settled = fetch.cached
        with fetch.count_lock:  # the thread cannot leave the sparse mode while these are handed over
            fetch.ahead(str(p) for p in cold[:prefetch.SAMPLE_EVERY * 2])
        assert wait_for(lambda: fetch.advised == 2)  # of 128 files handed over, 2 were looked at
        assert not fetch.sparse
        looked = fetch.cached + fetch.advised
        fetch.ahead(str(p) for p in cold[prefetch.SAMPLE_EVERY * 2:prefetch.SAMPLE_EVERY * 2 + 20])
        assert wait_for(lambda: fetch.advised + fetch.cached == looked + 20)  # every file again
        time.sleep(0.2)
        assert fetch.advised == 2 + 20
    assert settled <= len(warm)
    assert all(resident(p) for p in cold[prefetch.SAMPLE_EVERY * 2:prefetch.SAMPLE_EVERY * 2 + 20])
