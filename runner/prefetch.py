"""Reads in flight ahead of the readers, for libraries that are not in the page cache.

A cold library is bound by the disk, and a disk (an SSD, a RAID, a network volume) answers many random
reads at once far faster than one after the other: here 5,000 evicted library files read at 1,211 files/s
with one read in flight and 7,442 files/s with 32 (docs/benchmarks.md, `bench import --cold` measures the
ceiling). The import reads its files one by one in its scanning thread and the analysis workers one by one
each, so without help a cold run has one or two reads in flight.

A Prefetcher keeps up to ``threads`` files being fetched ahead of them: each of its threads opens a file
(the open itself may wait for the disk: the directory entry and the inode), asks the kernel to read all of
it into the page cache (posix_fadvise POSIX_FADV_WILLNEED, which queues the reads and returns) and closes
it. The reader then finds the pages cached. Nothing is read twice when the library is already cached (the
advice on cached pages costs a few microseconds). A file that cannot be opened is skipped: its reader
reports it.
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
_ADVICE = getattr(os, "POSIX_FADV_WILLNEED", None)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)

T = TypeVar("T")


def available() -> bool:
    """Whether this platform can advise the kernel to read ahead (Linux, the BSDs)."""
    return _ADVICE is not None and hasattr(os, "posix_fadvise")


def advise(path: bytes | str) -> bool:
    """Ask the kernel to read a whole regular file into the page cache; False when it cannot be opened (or
    is not a regular file: a FIFO is opened non-blocking and never read)."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return False
    try:
        if not os.path.stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        os.posix_fadvise(fd, 0, 0, _ADVICE)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class Prefetcher:
    """Threads that fetch the files handed to ``ahead`` into the page cache. A context manager; ``close``
    stops the threads (files not fetched yet are dropped)."""

    def __init__(self, threads: int = THREADS) -> None:
        self.todo: queue.SimpleQueue[tuple[int, bytes | str] | None] = queue.SimpleQueue()
        self.closed = threading.Event()
        self.count_lock = threading.Lock()
        self.advised = 0
        """Files fetched (advised), and files skipped because the reader had passed them."""
        self.skipped = 0
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
            if seq <= self.reached:  # the reader got there first (a cached library): nothing to gain
                with self.count_lock:
                    self.skipped += 1
            elif advise(path):
                with self.count_lock:
                    self.advised += 1

    def ahead(self, paths: Iterable[bytes | str]) -> None:
        """Fetch these files soon (in the order given, ``threads`` at a time)."""
        if not self.threads:
            return
        for p in paths:
            self.queued += 1
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
