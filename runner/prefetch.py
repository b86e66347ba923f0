"""Reads in flight ahead of the readers, for libraries that are not in the page cache.

A cold library is bound by the disk, and a disk (an SSD, a RAID, a network volume) answers many random
reads at once far faster than one after the other: here 5,000 evicted library files read at 1,211 files/s
with one read in flight and 7,442 files/s with 32 (docs/benchmarks.md, `bench import --cold` measures the
ceiling). The import reads its files one by one in its scanning thread and the analysis workers one by one
each, so without help a cold run has one or two reads in flight.

A Prefetcher keeps up to ``threads`` files being fetched ahead of them: each of its threads opens a file
(the open itself may wait for the disk: the directory entry and the inode), asks the kernel to read all of
it into the page cache (posix_fadvise POSIX_FADV_WILLNEED, which queues the reads and returns) and closes
it. The reader then finds the pages cached. A file already cached (its first and last byte read without
waiting) is left alone, and once 256 files in a row were, the library is taken for a cached one: from then
on only every 64th file is looked at, until one is not cached (a warm run pays about 7 us a file for
looking at every file, measured on the 20,000-file generated library). A file that cannot be opened is
skipped: its reader reports it.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TypeVar

THREADS = 32
"""Files fetched at once (the cold-read ceiling flattens out at about 32 reads in flight on this machine)."""
WINDOW = 256
"""How far ahead of the reader the import's walk hands files to the prefetcher."""
WARM_AFTER = 256
"""After this many files in a row found in the page cache the library is taken for a cached one ..."""
SAMPLE_EVERY = 64
"""... and only every 64th file is looked at (a warm import then pays about 1/64 of the look-ahead's cost),
until one of them is not cached."""
_ADVICE = getattr(os, "POSIX_FADV_WILLNEED", None)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)

T = TypeVar("T")


def available() -> bool:
    """Whether this platform can advise the kernel to read ahead (Linux, the BSDs)."""
    return _ADVICE is not None and hasattr(os, "posix_fadvise")


def advise(path: bytes | str) -> str | None:
    """Make sure a whole regular file is in (or on its way into) the page cache: 'cached' when its first and
    last bytes already were (a read that may not wait for the disk, preadv RWF_NOWAIT, got them), else
    'fetched' once the kernel was asked to read all of it (posix_fadvise WILLNEED). None when it cannot be
    opened or is not a regular file (a FIFO is opened non-blocking and never read)."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return None
    try:
        size = os.fstat(fd)
        if not os.path.stat.S_ISREG(size.st_mode):
            return None
        if _cached(fd, size.st_size):
            return "cached"
        os.posix_fadvise(fd, 0, 0, _ADVICE)
        return "fetched"
    except OSError:
        return None
    finally:
        os.close(fd)


_NOWAIT = getattr(os, "RWF_NOWAIT", None)


def _cached(fd: int, size: int) -> bool:
    """Whether the first and the last byte of a file are in the page cache (False where it cannot be told)."""
    if _NOWAIT is None or size == 0:
        return False
    probe = bytearray(1)
    try:
        return all(os.preadv(fd, [probe], at, _NOWAIT) == 1 for at in {0, size - 1})
    except OSError:  # EAGAIN: not cached (the kernel starts reading it); EOPNOTSUPP: no such reads here
        return False


class Prefetcher:
    """Threads that fetch the files handed to ``ahead`` into the page cache. A context manager; ``close``
    stops the threads (files not fetched yet are dropped)."""

    def __init__(self, threads: int = THREADS) -> None:
        self.todo: queue.SimpleQueue[tuple[int, bytes | str] | None] = queue.SimpleQueue()
        self.closed = threading.Event()
        self.count_lock = threading.Lock()
        self.advised = 0
        """Files fetched (advised), found cached, and skipped because the reader had passed them."""
        self.cached = 0
        self.skipped = 0
        self.cached_in_a_row = 0
        self.sparse = False
        """A library found cached (WARM_AFTER files in a row): only every SAMPLE_EVERY-th file is looked at,
        until one is not cached."""
        self.queued = 0
        """Sequence number of the last file handed over."""
        self.reached = 0
        """The reader has read every file handed over up to this sequence number: those are not fetched."""
        self.threads = [threading.Thread(target=self._work, name=f"midicenter-prefetch-{i}", daemon=True)
                        for i in range(max(0, threads) if available() else 0)]
        for t in self.threads:
            t.start()

    def _work(self) -> None:
        while True:
            item = self.todo.get()
            if item is None or self.closed.is_set():
                return
            seq, path = item
            if seq <= self.reached:  # the reader got there first: nothing to gain
                with self.count_lock:
                    self.skipped += 1
                continue
            state = advise(path)
            with self.count_lock:
                if state == "fetched":
                    self.advised += 1
                    self.cached_in_a_row = 0
                    self.sparse = False
                elif state == "cached":
                    self.cached += 1
                    self.cached_in_a_row += 1
                    if self.cached_in_a_row >= WARM_AFTER:
                        self.sparse = True

    def ahead(self, paths: Iterable[bytes | str]) -> None:
        """Fetch these files soon (in the order given, ``threads`` at a time)."""
        if not self.threads:
            return
        for p in paths:
            self.queued += 1
            if not self.sparse or self.queued % SAMPLE_EVERY == 0:
                self.todo.put((self.queued, p))

    def close(self) -> None:
        self.closed.set()
        for _ in self.threads:
            self.todo.put(None)
        for t in self.threads:
            t.join()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_ahead(items: Iterable[T], path_of, prefetcher: Prefetcher, window: int = WINDOW) -> Iterator[T]:
    """Yield ``items`` in their order, handing each item's file (``path_of(item)``, None for none) to the
    prefetcher ``window`` items before it is yielded."""
    buffered: deque[tuple[int, T]] = deque()
    for item in items:
        path = path_of(item)
        if path is not None:
            prefetcher.ahead((path,))
        buffered.append((prefetcher.queued, item))
        if len(buffered) > window:
            seq, first = buffered.popleft()
            prefetcher.reached = seq
            yield first
    while buffered:
        seq, first = buffered.popleft()
        prefetcher.reached = seq
        yield first


class Ahead:
    """The items of an iterator produced one batch ahead, in a thread of their own: a server-side cursor's
    next rows are computed by the server while the caller works through the current ones (on two cores,
    the database's time and the caller's then overlap instead of adding up).

    Iterate it once; ``close()`` (also on an early exit) stops the thread and closes the iterator there, so
    a cursor's transaction ends in the thread that used it. An exception of the iterator is raised by the
    iteration, after the items before it."""

    def __init__(self, items: Iterator[T], batch: int, depth: int = 2) -> None:
        self._items = items
        self._batch = max(1, batch)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="midicenter-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self) -> None:
        chunk: list = []
        try:
            for item in self._items:
                chunk.append(item)
                if len(chunk) >= self._batch:
                    if not self._put(chunk):
                        return
                    chunk = []
            if not chunk or self._put(chunk):
                self._put(None)
        except BaseException as exc:  # raised in the caller's thread, after the items before it
            if not chunk or self._put(chunk):
                self._put(exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
