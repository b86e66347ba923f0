"""A crash-proof process pool that reads, parses and analyzes MIDI files.

symusic is C++ and can abort the whole process on malformed input, and a pathological file can make a
parser spin. So each worker is a process fed one batch at a time over its own pipe, and before each file it
writes the file's index in the batch and the time into a shared array. When a worker dies (abort,
segfault, os._exit) or stays on one file longer than `timeout`, the parent knows the culprit from that
array: it records that file as `worker_crash` or `timeout`, starts a new worker and runs the rest of the
batch again. The pool itself never dies and loses no other file.

Results stream back batch by batch as workers finish; the parent takes a new batch from the input only when
a worker is free, so memory stays flat however many files go through.

Each worker runs under an address-space limit (RLIMIT_AS, `memory` bytes): a file that needs more than that
ends as that file's `out_of_memory` error (the allocation fails inside the worker, which reports it and is
then replaced by a fresh one), never as the kernel killing the server, the runner or another process.
Each worker keeps the zip archives it read from open between files (`ArchiveCache`): the members of one
archive cost one open of it and one read of its directory per worker, and a zip inside a zip is inflated
once, not once per member.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import multiprocessing as mp
import os
import resource
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

from blake3 import blake3

from runner.archives import ArchiveCache
from runner.copytext import copy_text
from runner.features import facts
from runner.parsers import ERROR_CLASSES as PARSE_ERROR_CLASSES
from runner.parsers import ParseError, parse

__all__ = [
    "DEFAULT_MEMORY",
    "ERROR_CLASSES",
    "TEST_ABORT",
    "TEST_HANG",
    "ArchiveCache",
    "Job",
    "Result",
    "WorkerPool",
    "analyze_bytes",
    "copy_text",
    "default_memory",
    "parse_memory",
    "read_bytes",
]

ERROR_CLASSES: dict[str, str] = {
    **PARSE_ERROR_CLASSES,
    "unreadable": "the file could not be read (runner.scan.ReadError's own classes pass through as they are)",
    "changed": "every path of the file that could be read holds other bytes than the file's content hash: it "
    "changed after the import (import it again to register the new content)",
    "analysis_failed": "parsing worked but computing the facts raised: a bug, the message has the exception",
    "out_of_memory": "reading, parsing or analyzing the file needed more memory than the worker's limit "
    "(--worker-memory)",
    "worker_crash": "the worker process died on this file (symusic abort, segfault, killed)",
    "timeout": "the worker spent longer than the per-file timeout on this file and was killed",
    "rejected": "the database refused the file's facts (a check, a type range, an index entry too large): "
    "the message has the server's words",
}
"""Every `Result.error_class` the pool produces, with its one-line meaning (plus runner.scan's read errors)."""

NOT_YET: Any = object()
"""What a batch source yields when it has nothing yet (rather than block): the pool goes on collecting the
results of busy workers and asks again after its next wait (runner.analyzer's source, while it waits for
files another runner holds)."""

DEFAULT_READ = "runner.workers:read_bytes"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 2 << 30
"""Largest address space of one worker by default (2 GiB), lowered by default_memory on small machines."""
# Test hooks: no real path contains a NUL byte, so these can only come from tests.
TEST_ABORT = "\x00midicenter-test:abort"
TEST_HANG = "\x00midicenter-test:hang"
TEST_EXIT = "\x00midicenter-test:exit"
_POLL = 0.2  # seconds between timeout checks while waiting
_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
_M_TOP_PAD = -2
_MAX_FUTILE_STARTS = 5  # workers dying before touching any file, in a row, means the pool cannot work


class Job(NamedTuple):
    """One file to analyze: its id, where it is (several paths NUL-separated, canonical first), whether the
    import found its structure suspect, and its content hash (BLAKE3; None: not checked)."""

    file_id: int
    path: str
    path_bytes: bytes | None = None
    suspect: bool = False
    content_hash: bytes | None = None


class Result(NamedTuple):
    """The outcome of one job: a facts row (`runner.features.FACT_COLUMNS`) or an error. The pool's workers
    send the row as its COPY text (`copy_text`: bytes), analyze_bytes gives it as a tuple."""

    file_id: int
    row: tuple | None
    error_class: str | None = None
    message: str | None = None


_archives: ArchiveCache | None = None  # the worker process's cache, made by _worker_main (never on import)


def read_bytes(path: str, path_bytes: bytes | None = None) -> bytes:
    """Read one stored location: through the worker's ArchiveCache when there is one (a file, or a member
    of a zip, nested or not), else runner.scan.read_path, else a plain open().read()."""
    if _archives is not None:
        return _archives.read(path, path_bytes)
    try:
        from runner.scan import read_path
    except ImportError:
        read_path = None
    if read_path is not None:
        return read_path(path, path_bytes)
    with open(path_bytes if path_bytes is not None else path, "rb") as fh:
        return fh.read()


def analyze_bytes(file_id: int, data: bytes, suspect: bool = False) -> Result:
    """Parse and analyze one file's bytes into a Result (errors become error results, never raise)."""
    try:
        score = parse(data, suspect=suspect)
    except ParseError as exc:
        return Result(file_id, None, exc.error_class, exc.message)
    except MemoryError as exc:
        return _out_of_memory(file_id, "parsing", exc)
    try:
        return Result(file_id, facts(score).as_row())
    except MemoryError as exc:
        return _out_of_memory(file_id, "computing the facts", exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the worker
        return Result(file_id, None, "analysis_failed", f"{type(exc).__name__}: {exc}"[:500])


def _out_of_memory(file_id: int, doing: str, exc: BaseException) -> Result:
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    within = f"the worker's limit of {limit >> 20} MiB" if limit != resource.RLIM_INFINITY else "the memory there is"
    return Result(file_id, None, "out_of_memory",
                  f"{doing} needed more memory than {within} ({type(exc).__name__}: {exc})"[:500])


def parse_memory(text: str) -> int:
    """Bytes from '2G', '512M', '1.5GiB', '800000000' (binary units; '0': no limit). ValueError otherwise."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    scale = units.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in units else t
    value = int(float(number) * scale)
    if value < 0 or (0 < value < 64 << 20):
        raise ValueError(f"{text}: a worker needs at least 64M (0 for no limit)")
    return value


def default_memory(workers: int) -> int:
    """Address-space limit of one worker by default: DEFAULT_MEMORY, but never more than an equal share of
    half the machine's memory, so all workers together leave the other half to the server and the system
    (at least 512 MiB: a worker needs about 160 MiB before it reads a file)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return DEFAULT_MEMORY
    return max(512 << 20, min(DEFAULT_MEMORY, total // 2 // max(1, workers)))


def _resolve(name: str) -> Callable[[str, bytes | None], bytes]:
    """'module:function' -> the function."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _run_job(job: Job, read: Callable[[str, bytes | None], bytes]) -> Result:
    """Read, parse and analyze one job inside a worker."""
    if job.path.startswith("\x00midicenter-test:"):
        _test_hook(job.path)
    try:
        data = read(job.path, job.path_bytes)
    except MemoryError as exc:
        return _out_of_memory(job.file_id, "reading", exc)
    except Exception as exc:  # noqa: BLE001 - every read failure is a result
        error_class = getattr(exc, "error_class", None) or "unreadable"
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return Result(job.file_id, None, error_class, message)
    if job.content_hash is not None and blake3(data).digest() != job.content_hash:
        data = _same_content(job, read)
        if data is None:
            where = job.path.split(_PATH_SEP, 1)[0]
            return Result(job.file_id, None, "changed",
                          f"{where}: holds other bytes than this file now (changed after the import; import it "
                          "again to register the new content)")
    return analyze_bytes(job.file_id, data, job.suspect)


_PATH_SEP = "\x00"  # separates a job's alternative paths (runner.analyzer)


def _same_content(job: Job, read: Callable[[str, bytes | None], bytes]) -> bytes | None:
    """The bytes of the first of a job's paths that still holds its content (None: none does). Only what
    the file's own bytes say may become its facts."""
    paths = job.path.split(_PATH_SEP)
    raw = job.path_bytes.split(_PATH_SEP.encode()) if job.path_bytes is not None else [None] * len(paths)
    for path, path_bytes in zip(paths, raw, strict=True):
        try:
            data = read(path, path_bytes or None)
        except Exception:  # noqa: BLE001 - try the next location
            continue
        if blake3(data).digest() == job.content_hash:
            return data
    return None


def _test_hook(path: str) -> None:
    """Misbehave on purpose (tests only): abort, exit or hang the worker."""
    if path == TEST_ABORT:
        os.abort()
    if path == TEST_EXIT:
        os._exit(3)
    if path == TEST_HANG:
        while True:
            time.sleep(3600)


def _worker_main(conn: Connection, slots, slot: int, read_name: str, memory: int | None = None) -> None:
    """Worker loop: receive a batch, mark each file in the shared slots before working on it, send results.

    With `memory`, the process's address space is limited to that many bytes first. A batch in which a file
    ran out of memory is answered with a request to be replaced: the heap it leaves behind is not reused.
    """
    global _archives
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _tune_malloc()
    if memory:
        _limit_memory(memory)
    _archives = ArchiveCache(max_bytes=min(64 << 20, (memory or DEFAULT_MEMORY) // 8))
    read = _resolve(read_name)
    base = 2 * slot
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        batch_id, jobs = msg
        out = []
        for i, job in enumerate(jobs):
            slots[base + 1] = time.monotonic()
            slots[base] = i
            try:
                out.append(_run_job(job, read))
            except MemoryError as exc:  # wherever it came from: still this file's answer
                out.append(_out_of_memory(job.file_id, "analyzing", exc))
        slots[base] = -1
        conn.send((batch_id, [_as_copy(r) for r in out], any(r.error_class == "out_of_memory" for r in out)))


def _as_copy(result: Result) -> Result:
    """A result with its facts row as COPY text (bytes), made here in the worker; a row that cannot be
    written as text (an unencodable name) stays a tuple for the analyzer to isolate."""
    if result.row is None or isinstance(result.row, bytes):
        return result
    try:
        return result._replace(row=copy_text(result.row))
    except (UnicodeError, ValueError, TypeError, OverflowError):
        return result


def _limit_memory(limit: int) -> None:
    """Lower this process's address-space limit (never above the hard limit it inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@contextlib.contextmanager
def _main_not_inherited() -> Iterator[None]:
    """Start a worker without having it run the parent's main module again.

    multiprocessing re-imports the parent's `__main__` in every forkserver child (the `midicenter` script
    imports the whole CLI, psycopg included: about 0.1 s per worker, paid again by every replacement of a
    crashed one). The workers need nothing from it: their target, jobs, results and reader are all named
    by module. So while a worker starts, the main module looks like an interactive one, which
    multiprocessing leaves alone.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if main is not None and k in main.__dict__}
    for k in saved:
        setattr(main, k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _tune_malloc() -> None:
    """Keep freed memory in the worker's heap instead of giving it back to the kernel at every free.

    numpy's temporaries on a large file are hundreds of KB each; glibc's default trims and re-grows the heap
    around them, paying page faults every time (measured: the facts of a 27 KB song take half the time).
    The cost is at most the extra pad of retained memory per worker. No-op off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TOP_PAD, 16 << 20)
    except (OSError, AttributeError):
        pass


class _Worker:
    """Parent-side handle of one worker process and the batch it is working on."""

    __slots__ = ("batch", "batch_id", "batches_done", "conn", "proc", "slot")

    def __init__(self, proc: mp.process.BaseProcess, conn: Connection, slot: int) -> None:
        self.proc = proc
        self.conn = conn
        self.slot = slot
        self.batch: list[Job] | None = None
        self.batch_id = -1
        self.batches_done = 0


class WorkerPool:
    """`n` worker processes that turn batches of Jobs into Results and survive crashing or hanging files.

    Use as a context manager; `map(batches)` yields the list of Results of each batch as it completes (in
    completion order; each Result carries its file_id). `read` names the function that reads a job's bytes
    inside the worker, as 'module:function'. `memory` is each worker's address-space limit in bytes
    (default_memory(n) when None, no limit when 0).
    """

    def __init__(
        self,
        n: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        read: str = DEFAULT_READ,
        start_method: str = "forkserver",
        max_batches_per_worker: int | None = None,
        memory: int | None = None,
    ) -> None:
        if start_method not in ("forkserver", "spawn"):
            raise ValueError("start_method must be 'forkserver' or 'spawn' (fork is unsafe with threads)")
        self.n = max(1, n or os.cpu_count() or 1)
        self.timeout = timeout
        self.read = read
        self.memory = default_memory(self.n) if memory is None else memory
        self.max_batches_per_worker = max_batches_per_worker
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            # Workers fork from a server that already imported these, so a replacement starts in ms.
            self._ctx.set_forkserver_preload(["runner.workers", "runner.parsers", "runner.features", "runner.scan",
                                              "blake3"])
        self._slots = self._ctx.RawArray("d", 2 * self.n)
        self._workers: list[_Worker | None] = [None] * self.n
        self._batch_id = 0
        self._futile = 0
        self.crashes = 0
        self.timeouts = 0
        self.restarts = 0

    def __enter__(self) -> WorkerPool:
        for slot in range(self.n):
            self._start(slot)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker: ask politely, then kill what is left after a second."""
        workers = [w for w in self._workers if w is not None]
        self._workers = [None] * self.n
        for w in workers:
            if w.batch is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        deadline = time.monotonic() + 1.0
        for w in workers:
            if w.batch is not None:
                w.proc.kill()
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            w.conn.close()
            w.proc.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and monitoring)."""
        return [w.proc.pid for w in self._workers if w is not None and w.proc.pid is not None]

    def _start(self, slot: int) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        self._slots[2 * slot] = -1
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child, self._slots, slot, self.read, self.memory),
            name=f"midicenter-worker-{slot}",
            daemon=True,
        )
        with _main_not_inherited():
            proc.start()
        child.close()
        worker = _Worker(proc, parent, slot)
        self._workers[slot] = worker
        return worker

    def _replace(self, w: _Worker, *, failed: bool = True) -> None:
        """Kill (if needed) and reap a worker, then start a new one in its slot."""
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join()
        w.conn.close()
        w.proc.close()
        if failed:
            self.restarts += 1
        self._start(w.slot)

    def map(self, batches: Iterable[Sequence[Job]]) -> Iterator[list[Result]]:
        """Run every batch; yield each batch's Results (every job exactly once) as the batch completes.

        A source that has nothing yet yields NOT_YET instead of blocking (a blocked source would stop the
        pool from collecting busy workers' results); it should pace itself (wait a little) before it does."""
        if any(w is None for w in self._workers):
            raise RuntimeError("use WorkerPool as a context manager (with WorkerPool(...) as pool)")
        source = iter(batches)
        retry: deque[list[Job]] = deque()  # what is left of batches whose worker failed: runs first
        done: list[Result] = []  # crash and timeout results not yet yielded
        exhausted = False
        try:
            while True:
                exhausted = self._dispatch(source, retry, exhausted)
                if done:
                    yield done
                    done = []
                busy = [w for w in self._workers if w is not None and w.batch is not None]
                if not busy:
                    if exhausted and not retry:
                        return
                    continue
                waitables: dict[object, _Worker] = {}
                for w in busy:
                    waitables[w.conn] = w
                    waitables[w.proc.sentinel] = w
                for obj in wait(list(waitables), timeout=_POLL):
                    w = waitables[obj]
                    if w.batch is None or self._workers[w.slot] is not w:
                        continue  # already handled through its other waitable
                    received = self._receive(w)
                    if received is not None:
                        results, recycle = received
                        self._futile = 0
                        self._finish(w, recycle)
                        yield results
                    else:
                        self._fail(w, self._culprit(w), "worker_crash", retry, done)
                now = time.monotonic()
                for w in busy:
                    if w.batch is None or self._workers[w.slot] is not w:
                        continue
                    base = 2 * w.slot
                    index = int(self._slots[base])
                    if index >= 0 and now - self._slots[base + 1] > self.timeout:
                        self._fail(w, index, "timeout", retry, done)
        finally:
            # Abandoned mid-way: workers still on a batch would answer a later map with stale results.
            for w in self._workers:
                if w is not None and w.batch is not None:
                    w.batch = None
                    self._replace(w, failed=False)

    def _dispatch(self, source: Iterator[Sequence[Job]], retry: deque[list[Job]], exhausted: bool) -> bool:
        """Give a batch to every idle worker (retries first); return whether the input is exhausted."""
        for w in self._workers:
            if w is None or w.batch is not None:
                continue
            while True:
                if retry:
                    batch = retry.popleft()
                elif exhausted:
                    return exhausted
                else:
                    nxt = next(source, None)
                    if nxt is None:
                        return True
                    if nxt is NOT_YET:  # nothing to hand out right now: collect results meanwhile
                        return exhausted
                    batch = list(nxt)
                if batch:
                    break
            self._batch_id += 1
            w.batch = batch
            w.batch_id = self._batch_id
            try:
                w.conn.send((w.batch_id, batch))
            except OSError:  # died while idle: nothing of this batch ran
                w.batch = None
                retry.appendleft(batch)
                self._replace(w)
        return exhausted

    def _finish(self, w: _Worker, recycle: bool = False) -> None:
        """Mark a worker idle after a batch; recycle it when it has done its share or asks to be (a file
        ran out of memory in it)."""
        w.batch = None
        w.batches_done += 1
        if recycle or (self.max_batches_per_worker and w.batches_done >= self.max_batches_per_worker):
            with contextlib.suppress(OSError):
                w.conn.send(None)
            w.proc.join(1.0)
            self._replace(w, failed=False)

    def _receive(self, w: _Worker) -> tuple[list[Result], bool] | None:
        """The worker's finished batch and whether it asks to be replaced, or None when it died (its pipe
        is closed or it exited)."""
        try:
            if w.conn.poll():
                batch_id, results, recycle = w.conn.recv()
                if batch_id == w.batch_id:
                    return results, recycle
        except (EOFError, OSError):
            pass
        return None

    def _culprit(self, w: _Worker) -> int | None:
        """Index in its batch of the file a dead worker was on (None if it was between files)."""
        w.proc.join(1.0)
        index = int(self._slots[2 * w.slot])
        return index if index >= 0 else None

    def _fail(
        self, w: _Worker, index: int | None, error_class: str, retry: deque[list[Job]], done: list[Result]
    ) -> None:
        """Record the culprit, replace the worker, queue the rest of its batch to run again."""
        batch = w.batch or []
        w.batch = None
        if index is None:
            self._futile += 1
            if self._futile >= _MAX_FUTILE_STARTS:
                raise RuntimeError(
                    f"{self._futile} workers in a row died before working on any file "
                    f"(exit code {w.proc.exitcode}): the pool cannot run"
                )
        else:
            self._futile = 0
        if error_class == "timeout":
            self.timeouts += 1
            w.proc.kill()
        else:
            self.crashes += 1
        if index is not None and 0 <= index < len(batch):
            job = batch[index]
            if error_class == "timeout":
                message = f"no result after {self.timeout:g} s; worker killed"
            else:
                message = f"worker died with exit code {w.proc.exitcode}" + _signal_name(w.proc.exitcode)
            done.append(Result(job.file_id, None, error_class, message))
            rest = batch[:index] + batch[index + 1 :]
        else:
            rest = batch
        self._replace(w)
        if rest:
            retry.append(rest)


def _signal_name(exitcode: int | None) -> str:
    """' (SIGABRT)' for a negative exit code, '' otherwise."""
    if exitcode is None or exitcode >= 0:
        return ""
    try:
        return f" ({signal.Signals(-exitcode).name})"
    except ValueError:
        return ""
