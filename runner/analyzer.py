"""Analysis: claim files -> parse and compute facts in worker processes -> COPY -> midi.analysis_apply.

One claimer thread locks the next batch of files that need analysis (`midi.analysis_claim`, FOR NO KEY UPDATE
SKIP LOCKED, keyset by id) in a transaction of its own session; the worker pool parses the batch; an apply
thread streams the results into `midi.analysis_staging` with COPY and applies them in that same transaction,
which then commits and releases the files. Each in-flight batch holds one session, and the number of sessions
bounds how far claiming runs ahead of parsing, so memory stays flat whatever the library size.

Several runners, on one machine or many, share the work without overlap: a file locked by one is skipped by
the others, and a runner that dies rolls back its open batches, so their files are claimed again by the next
run. A file that cannot be read at its canonical path is read from its other known paths. Each claimed batch
is sorted by path before it is shared out, so the members of one zip archive reach a worker together and the
worker opens the archive once (runner.workers.ArchiveCache).

A runner on another machine reads the library through a path prefix map (runner.pathmap, `--path-map`). A
file none of whose paths this runner can reach is `unreachable`: it is not applied (no error row, no attempt
counted), its lock ends with its batch, and it stays pending for a runner that can reach it. A run that met
unreachable files, reads through a map, or still has batches in flight when it reaches the last pending file
goes over what is left again, until everything still pending is either unreachable from here or has made no
progress (another runner's lock) for STALL_SECONDS.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import psycopg

from runner import bulk, prefetch, views
from runner.features import FACT_COLUMNS
from runner.pathmap import UNREACHABLE, PathMap, reachable_folder
from runner.queries import queries
from runner.workers import DEFAULT_TIMEOUT, NOT_YET, Job, Result, WorkerPool, copy_text

__all__ = ["ANALYZER_VERSION", "STAGING_COLUMNS", "AnalysisResult", "read_any", "result_dict", "run_analysis"]

ANALYZER_VERSION = 2
"""Stored in files.analyzer_version; bump it when the facts change, and every file is analyzed again.
2: instruments per real channel (NULL when unknown) and program (NULL when no program change set it), no
4/4 or 120 BPM stand-ins, per-file isolation of what the catalog refuses."""

BATCH_FILES = 1000
WORKER_SLICE = 200
"""Files per message to a worker: a claimed batch is shared by every worker in slices this big, so the
last batch of a run (or a run of one batch) does not leave all workers but one idle."""
APPLICATION_NAME = "midicenter analyze"
"""The application_name of the sessions that claim and apply (visible in pg_stat_activity)."""
APPLY_SESSIONS = 2
_READY_BATCHES = 2  # claimed batches waiting for a free worker
_RETRIES = 5
STALL_SECONDS = 60.0
"""How long a run waits, at its end, for files that other runners hold without finishing any of them."""
_REPASS_PAUSE = 0.5  # seconds between passes over what is left
_SOURCE_WAIT = 0.05  # how long the pool's batch source waits for a claimed batch before it says NOT_YET
_PATH_SEP = "\x00"  # no real path holds a NUL byte: separates a file's alternative paths inside one Job

STAGING_COLUMNS: tuple[str, ...] = ("batch", "file_id", "error_class", "message") + tuple(n for n, _ in FACT_COLUMNS)
_COPY_SQL = f"COPY midi.analysis_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
_NO_FACT_FIELDS = b"\t".join([b"\\N"] * len(FACT_COLUMNS))
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class AnalysisResult:
    analyzed: int
    errors: int
    seconds: float
    files_per_second: float
    workers: int = 0
    unreachable: int = 0
    worker_crashes: int = 0
    worker_timeouts: int = 0
    error_classes: dict[str, int] = field(default_factory=dict)
    bulk: dict | None = None
    """When the run took the bulk path (runner.bulk): indexes dropped and built, and the seconds each took."""


def result_dict(result: AnalysisResult) -> dict:
    data = asdict(result)
    if data["bulk"] is None:
        del data["bulk"]
    return data


def read_any(path: str, path_bytes: bytes | None = None) -> bytes:
    """Worker-side reader: the first of a file's paths (NUL-separated, canonical first) that can be read.

    Raises the canonical path's error when none can be read, or a ReadError of class `unreachable` when
    every path is missing because the folder that should hold it does not exist on this machine.
    """
    from runner.scan import ReadError
    from runner.workers import read_bytes

    paths = path.split(_PATH_SEP)
    raw = path_bytes.split(_PATH_SEP.encode()) if path_bytes is not None else [None] * len(paths)
    first: Exception | None = None
    unreachable = True
    for p, b in zip(paths, raw, strict=True):
        try:
            return read_bytes(p, b or None)
        except Exception as exc:  # noqa: BLE001 - try the next location
            first = first or exc
            missing = isinstance(exc, FileNotFoundError | NotADirectoryError) or \
                getattr(exc, "error_class", None) == "vanished"
            unreachable = unreachable and missing and not reachable_folder(p, b or None)
    assert first is not None
    if unreachable:
        where = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise ReadError(UNREACHABLE, f"{where}: not reachable from this runner (its folder does not exist here; "
                                     "--path-map FROM=TO reads a library mounted elsewhere)") from first
    raise first


def _by_path(job: Job) -> str:
    return job.path


def _first_path(job: Job) -> bytes | str:
    """The canonical path of a job (the one its reader tries first)."""
    if job.path_bytes is not None:
        return job.path_bytes.split(_PATH_SEP.encode(), 1)[0]
    return job.path.split(_PATH_SEP, 1)[0]


def _job(file_id: int, paths: Sequence[str], paths_bytes: Sequence[bytes | None], suspect: bool,
         content_hash: bytes | None = None, path_map: PathMap | None = None) -> Job:
    """One Job for a file: its paths joined by NUL (one path: as it is), and the hash its bytes must have.
    With a path map, each path is where this runner reads it."""
    if path_map:
        paths = [path_map.apply(p) for p in paths]
        paths_bytes = [None if b is None else path_map.apply_bytes(b) for b in paths_bytes]
    if len(paths) == 1:
        return Job(file_id, paths[0], paths_bytes[0], suspect, content_hash)
    if any(b is not None for b in paths_bytes):
        joined = _PATH_SEP.encode().join(
            b if b is not None else p.encode("utf-8", "surrogateescape") for p, b in zip(paths, paths_bytes, strict=True)
        )
    else:
        joined = None
    return Job(file_id, _PATH_SEP.join(paths), joined, suspect, content_hash)


class _Claim:
    """One claimed batch: the session whose open transaction holds its locks, its jobs and results."""

    __slots__ = ("batch", "conn", "jobs", "results")

    def __init__(self, conn: psycopg.Connection, batch: int, jobs: list[Job]) -> None:
        self.conn = conn
        self.batch = batch
        self.jobs = jobs
        self.results: list[Result] = []


class _Run:
    """Shared state of one analysis run: queues, totals and the first failure of any thread."""

    def __init__(self, dsn: str, version: int, cutoff: object, limit: int | None, batch_files: int,
                 sessions: int, progress: Callable[[int, int], None] | None, path_map: PathMap | None = None) -> None:
        self.dsn = dsn
        self.path_map = path_map
        self.unreachable: set[int] = set()  # files this run could not reach (left pending for other runners)
        self.failed: set[int] = set()  # files this run recorded an error for (not taken again by a later pass)
        self.inflight = 0  # claimed batches not yet applied
        self.version = version
        self.cutoff = cutoff
        self.limit = limit
        self.batch_files = batch_files
        self.progress = progress
        self.free: queue.Queue[psycopg.Connection] = queue.Queue()
        self.ready: queue.Queue[_Claim | None] = queue.Queue()
        self.done: queue.Queue[_Claim | None] = queue.Queue()
        self.sessions = sessions
        self.lock = threading.Lock()
        self.failure: list[BaseException] = []
        self.stop = threading.Event()
        self.analyzed = 0
        self.errors = 0
        self.error_classes: dict[str, int] = {}
        self.applied_batches = 0
        self.next_analyze = 1
        self.fetch: prefetch.Prefetcher | None = None
        """Fetches each claimed batch's files into the page cache ahead of the workers (runner.prefetch)."""

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.failure.append(exc)
        self.stop.set()


def _claim_loop(run: _Run) -> None:
    """Claimer thread: lock batch after batch in sessions from the free list until nothing is left.

    At the end of a pass, a run that met unreachable files, reads through a path map, or still has
    batches in flight takes another pass from the first id (see the module's docstring): files released by
    other runners (unreachable from there) are then taken here. Files this run already found unreachable or
    recorded an error for are dropped from later claims (their locks end with their batch).
    """
    after = 0
    claimed = 0
    known_mine = 0  # pending files of this pass this run has done what it can with (unreachable, failed)
    last_pending: int | None = None
    progressed_at = time.monotonic()
    try:
        while not run.stop.is_set():
            want = run.batch_files if run.limit is None else min(run.batch_files, run.limit - claimed)
            if want <= 0:
                break
            try:
                conn = run.free.get(timeout=0.2)
            except queue.Empty:
                continue
            if run.stop.is_set():
                run.free.put(conn)
                break
            batch = conn.execute(queries["analysis_next_batch"]).fetchone()[0]
            rows = conn.execute(queries["analysis_claim"], [after, want, run.version, run.cutoff]).fetchall()
            if not rows:
                with run.lock:
                    again = run.limit is None and bool(run.path_map or run.unreachable or run.inflight)
                pending = conn.execute(queries["analysis_pending"], [run.version, run.cutoff]).fetchone()[0] \
                    if again else 0
                conn.rollback()
                run.free.put(conn)
                now = time.monotonic()
                if last_pending is None or pending < last_pending:
                    progressed_at = now
                last_pending = pending
                if pending <= known_mine or now - progressed_at > STALL_SECONDS:
                    break
                after, known_mine = 0, 0
                run.stop.wait(_REPASS_PAUSE)
                continue
            after = rows[-1][0]
            with run.lock:
                skip = run.unreachable | run.failed if run.unreachable or run.failed else None
            if skip is not None:
                known_mine += sum(1 for r in rows if r[0] in skip)
                rows = [r for r in rows if r[0] not in skip]
                if not rows:
                    conn.rollback()
                    run.free.put(conn)
                    continue
            claimed += len(rows)
            jobs = sorted((_job(*r, path_map=run.path_map) for r in rows), key=_by_path)  # an archive's members side by side
            with run.lock:
                run.inflight += 1
            if run.fetch is not None:  # a cold library: the batch's reads in flight before the workers get to it
                run.fetch.ahead(_first_path(j) for j in jobs)
            run.ready.put(_Claim(conn, batch, jobs))
    except BaseException as exc:
        run.fail(exc)
    finally:
        run.ready.put(None)


def _apply_loop(run: _Run) -> None:
    """Apply thread: COPY each finished batch into staging and apply it in its claim's transaction."""
    try:
        while True:
            claim = run.done.get()
            if claim is None:
                return
            if run.stop.is_set():
                claim.conn.rollback()
                run.free.put(claim.conn)
                continue
            away = {r.file_id for r in claim.results if r.error_class == UNREACHABLE}
            if away:  # not this runner's to fail: left pending, its lock ends with this transaction
                claim.results = [r for r in claim.results if r.error_class != UNREACHABLE]
            refused: list[Result] = []
            analyzed, errors = _apply(run, claim, refused) if claim.results else (0, 0)
            claim.conn.commit()
            run.free.put(claim.conn)
            classes: dict[str, int] = {}
            for r in (*claim.results, *refused):
                if r.error_class is not None:
                    classes[r.error_class] = classes.get(r.error_class, 0) + 1
            # the rest of the errors are files whose facts the catalog refused (midi.analysis_apply)
            rejected = errors - sum(classes.values())
            if rejected > 0:
                classes["rejected"] = classes.get("rejected", 0) + rejected
            with run.lock:
                run.inflight -= 1
                run.unreachable |= away
                run.failed.update(r.file_id for r in (*claim.results, *refused) if r.error_class is not None)
                run.analyzed += analyzed
                run.errors += errors
                for cls, n in classes.items():
                    run.error_classes[cls] = run.error_classes.get(cls, 0) + n
                run.applied_batches += 1
                due = run.applied_batches >= run.next_analyze
                if due:
                    run.next_analyze *= 4
                if run.progress:
                    run.progress(analyzed + errors, errors)
            if due:
                _refresh_statistics(run.dsn)
    except BaseException as exc:
        run.fail(exc)


def _apply(run: _Run, claim: _Claim, refused: list[Result]) -> tuple[int, int]:
    """COPY and apply one batch; a row COPY cannot take costs only its own file (found by halving).

    `midi.analysis_apply` itself never fails for one file's facts (it turns what the catalog refuses into
    that file's `rejected` error). What is left to the runner is a row the staging table refuses on the
    way in (a value outside its column's type, text the server cannot encode, a value the client cannot
    send): each attempt runs in a savepoint, so the claim's locks survive a failed one; the batch is
    halved until the offending file is alone, which then becomes a `rejected` error with the message (and
    is appended to `refused`), and the rest of the batch is applied.
    """
    try:
        return _apply_rows(run, claim.conn, claim.batch, claim.results)
    except _REFUSALS as exc:
        if len(claim.results) == 1:
            refused.append(_refused(claim.results[0], exc))
            return _apply_rows(run, claim.conn, claim.batch, refused[-1:])
        half = len(claim.results) // 2
        totals = [0, 0]
        for part in (claim.results[:half], claim.results[half:]):
            sub = _Claim(claim.conn, claim.batch, [])
            sub.results = part
            a, e = _apply(run, sub, refused)
            totals[0] += a
            totals[1] += e
        return totals[0], totals[1]


_REFUSALS = (
    psycopg.errors.DataError,  # SQLSTATE class 22: a type range, an encoding the server refuses
    psycopg.errors.IntegrityError,  # class 23
    psycopg.errors.ProgramLimitExceeded,  # class 54
    UnicodeError,  # text the client cannot encode (a lone surrogate)
    ValueError,  # a value psycopg cannot dump
    OverflowError,
)
"""What one row can trip on its way into the staging table."""


def _refused(result: Result, exc: BaseException) -> Result:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return Result(result.file_id, None, "rejected", f"the database refused the facts: {first}"[:500])


def _copy_body(batch: int, results: Sequence[Result]) -> bytes:
    """The COPY text of a batch's staging rows: the workers' rows as they sent them (bytes, runner.workers.
    copy_text), other rows (tuples, error results) written the same way here."""
    lines = []
    for r in results:
        if r.row is not None:
            row = r.row if isinstance(r.row, bytes) else copy_text(r.row)
            lines.append(b"%d\t%d\t\\N\t\\N\t%s\n" % (batch, r.file_id, row))
        else:
            cls = _copy_field(r.error_class or "analysis_failed")
            msg = _message(r.message or r.error_class)
            lines.append(b"%d\t%d\t%s\t%s\t%s\n" % (batch, r.file_id, cls, b"\\N" if msg is None else _copy_field(msg),
                                                     _NO_FACT_FIELDS))
    return b"".join(lines)


def _copy_field(text: str) -> bytes:
    return text.translate(_COPY_ESCAPE).encode("utf-8")


def _apply_rows(run: _Run, conn: psycopg.Connection, batch: int, results: Sequence[Result]) -> tuple[int, int]:
    """COPY results into staging and apply them inside a savepoint, retrying on deadlock."""
    for attempt in range(_RETRIES):
        try:
            with conn.transaction(), conn.cursor() as cur:
                body = _copy_body(batch, results)  # inside the savepoint: a row that cannot be written is isolated
                with cur.copy(_COPY_SQL) as cp:
                    cp.write(body)
                return cur.execute(queries["analysis_apply"], [batch, run.version]).fetchone()
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _message(text: str | None) -> str | None:
    """An error message the server takes whatever it quotes: no NUL, no lone surrogate (so a read error
    keeps its own class instead of becoming a refused row)."""
    if text is None or (text.isprintable() and text.isascii()):
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")




def _refresh_statistics(dsn: str) -> None:
    """ANALYZE the tables a run grows, while they are young: plans made for empty tables turn quadratic."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute(queries["statistics_sample"])
        conn.execute(queries["analysis_statistics"])


def run_analysis(
    dsn: str,
    *,
    workers: int | None = None,
    limit: int | None = None,
    reanalyze: bool = False,
    batch_files: int = BATCH_FILES,
    sessions: int = APPLY_SESSIONS,
    timeout: float = DEFAULT_TIMEOUT,
    version: int = ANALYZER_VERSION,
    read: str = "runner.analyzer:read_any",
    progress: Callable[[int, int], None] | None = None,
    total: Callable[[int], None] | None = None,
    worker_memory: int | None = None,
    max_attempts: int | None = None,
    path_map: PathMap | None = None,
    bulk_load: bool = True,
    prefetch_threads: int = prefetch.THREADS,
) -> AnalysisResult:
    """Analyze every file of the database at ``dsn`` that needs it (all files with ``reanalyze``).

    ``limit`` caps the files taken by this run; ``workers`` is the number of parsing processes (one per
    core by default); ``progress(done, errors)`` is called after each applied batch, and ``total(n)`` once
    at the start with the number of files the run will take (midi.analysis_pending, capped by ``limit``;
    counted only when asked for). ``read`` names the worker-side reader ('module:function', see read_any).
    ``worker_memory`` is each worker's address-space limit in bytes (runner.workers.default_memory when
    None). ``max_attempts`` overrides, for this run, how many transient failures in a row a file may have
    before it is given up (the server's setting midi.analysis_max_attempts, 3 by default). ``path_map``
    says where this runner reads the stored paths (runner.pathmap); files it cannot reach are counted in
    ``unreachable`` and left pending, not failed. With ``bulk_load``
    (and a role that owns the tables), a run that will rewrite many files compared with the library's size
    drops the search indexes first and builds them at its end (runner.bulk); it also builds what a killed
    bulk load left missing. ``prefetch_threads`` files of the claimed batches are fetched into the page cache
    ahead of the workers (runner.prefetch; 0: none), so that a cold library is read with many reads in flight.
    """
    started = time.perf_counter()
    load = bulk.BulkLoad(dsn, "analysis") if bulk_load else None
    if load is not None and not load.acquire():
        load = None
    try:
        with prefetch.Prefetcher(prefetch_threads) as fetch:
            return _run_analysis(dsn, workers, limit, reanalyze, batch_files, sessions, timeout, version, read,
                                 progress, total, worker_memory, max_attempts, load, started, fetch, path_map)
    finally:
        if load is not None:
            load.release()


def _run_analysis(dsn: str, workers: int | None, limit: int | None, reanalyze: bool, batch_files: int, sessions: int,
                  timeout: float, version: int, read: str, progress: Callable[[int, int], None] | None,
                  total: Callable[[int], None] | None, worker_memory: int | None, max_attempts: int | None,
                  load: bulk.BulkLoad | None, started: float, fetch: prefetch.Prefetcher,
                  path_map: PathMap | None) -> AnalysisResult:
    with psycopg.connect(dsn, autocommit=True) as admin:
        cutoff = admin.execute(queries["analysis_now"]).fetchone()[0] if reanalyze else None
        if total or (load is not None and not load.active):
            pending = admin.execute(queries["analysis_pending"], [version, cutoff]).fetchone()[0]
            pending = pending if limit is None else min(pending, limit)
            if total:
                total(pending)
            if load is not None and not load.active:
                library = admin.execute(queries["catalog_size"]).fetchone()[0]
                # another analysis holds its claims in open transactions: dropping indexes would wait for it
                # (up to bulk.DROP_TIMEOUT) while it claims the files, so the indexes stay
                if (pending >= bulk.switch_point(library, bulk.ANALYSIS_MIN_FILES, bulk.ANALYSIS_SHARE)
                        and not admin.execute(queries["analysis_other_runner"], [APPLICATION_NAME]).fetchone()[0]):
                    load.defer()
        pool = WorkerPool(workers, timeout=timeout, read=read, memory=worker_memory)
        run = _Run(dsn, version, cutoff, limit, max(1, batch_files), max(1, sessions), progress, path_map)
        run.fetch = fetch if fetch.threads else None
        conns = [psycopg.connect(dsn, application_name=APPLICATION_NAME)
                 for _ in range(pool.n + _READY_BATCHES + run.sessions)]
        if max_attempts is not None:
            for c in conns:
                c.execute(queries["analysis_max_attempts"], [str(max_attempts)])
                c.commit()
        for c in conns:
            run.free.put(c)
        threads = [threading.Thread(target=_claim_loop, args=(run,), name="midicenter-claim", daemon=True)]
        threads += [threading.Thread(target=_apply_loop, args=(run,), name=f"midicenter-apply-{i}", daemon=True)
                    for i in range(run.sessions)]
        for t in threads:
            t.start()
        owner: dict[int, _Claim] = {}

        def batches():
            while not run.stop.is_set():
                try:
                    claim = run.ready.get(timeout=_SOURCE_WAIT)
                except queue.Empty:
                    yield NOT_YET  # never block the pool: it collects busy workers' results meanwhile
                    continue
                if claim is None:
                    return
                for job in claim.jobs:
                    owner[job.file_id] = claim
                for i in range(0, len(claim.jobs), WORKER_SLICE):
                    yield claim.jobs[i:i + WORKER_SLICE]

        try:
            with pool:
                for results in pool.map(batches()):
                    for r in results:
                        claim = owner.pop(r.file_id)
                        claim.results.append(r)
                        if len(claim.results) == len(claim.jobs):
                            run.done.put(claim)
                    if run.stop.is_set():
                        break
        except BaseException as exc:
            run.fail(exc)
        finally:
            for _ in range(run.sessions):
                run.done.put(None)
            for t in threads[1:]:
                t.join()
            run.stop.set()  # a claimer still running (after a failure) stops at its next step
            threads[0].join()
            for c in conns:
                c.close()  # closing rolls back batches that were claimed but never applied
        if run.failure:
            raise run.failure[0]
        if load is not None and load.active:
            load.restore()  # the search indexes, built once over every row (sort-based, two sessions)
        if run.analyzed or run.errors:
            views.refresh(dsn, views.ANALYSIS_VIEWS, admin)  # the facet views analysis changes; none after an idle run
        seconds = time.perf_counter() - started
        total = run.analyzed + run.errors
        return AnalysisResult(
            analyzed=run.analyzed,
            errors=run.errors,
            seconds=round(seconds, 3),
            files_per_second=round(total / seconds, 1) if seconds else 0.0,
            workers=pool.n,
            unreachable=len(run.unreachable),
            worker_crashes=pool.crashes,
            worker_timeouts=pool.timeouts,
            error_classes=dict(sorted(run.error_classes.items())),
            bulk=load.summary() if load is not None and (load.dropped or load.built) else None,
        )
