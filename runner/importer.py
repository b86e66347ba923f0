"""Import: scan -> read once -> BLAKE3 -> structural read -> COPY -> midi.import_merge, chunk by chunk.

The scanning thread reads, hashes and formats COPY rows; a database thread streams each finished chunk
into midi.import_staging and merges it in the same transaction, so file reading overlaps with the COPY
and with the server's merge. Queues are bounded, so memory stays flat whatever the library size. A run
killed at any point loses at most the chunk in flight; running it again completes the same state.
One file never stops a run: what the runner cannot take is that file's error row, and a row the database
refuses is isolated (see _Merger) and becomes its own `rejected` row.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from blake3 import blake3

from runner import __version__, bulk, midifile, prefetch, scan, views
from runner.queries import queries

CHUNK_ROWS = 5000
QUEUE_CHUNKS = 4
# Two merge sessions keep both server cores busy while this process reads and hashes; chunks are
# independent transactions and import_merge locks in key order, so they can run side by side.
MERGE_SESSIONS = 2
_RETRIES = 5

STAGING_COLUMNS = (
    "batch_id", "chunk", "root", "path", "path_bytes", "rel", "content_hash", "file_size_bytes", "format",
    "header_tracks", "num_tracks", "ticks_per_quarter_note", "smpte_fps", "smpte_resolution", "is_rmid",
    "warnings", "error_class", "message",
)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"})
_N = "\\N"


_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r\x00]")


def _text(value: str) -> str:
    """A text field in COPY's text format: backslash, tab, newline and CR escaped; NUL cannot be stored.

    Nearly every path needs no escaping, and a search is several times cheaper than str.translate."""
    return value if _NEEDS_ESCAPE.search(value) is None else value.translate(_ESCAPES)


def _bytea(value: bytes | None) -> str:
    return _N if value is None else "\\\\x" + value.hex()


def _int(value: int | None) -> str:
    return _N if value is None else str(value)


@dataclass
class ImportResult:
    batch_id: int
    files_seen: int
    files_new: int
    duplicates: int
    errors: int
    other_files: int
    seconds: float
    files_per_second: float
    not_pruned: list[str] = field(default_factory=list)
    """With prune: paths the walk could not look into (a missing or unreadable root, folder, archive or
    file); midi.import_finish marks nothing under them missing."""
    bulk: dict | None = None
    """When the run took the bulk path (runner.bulk): indexes dropped and built, and the seconds each took."""


class _ChunkWriter:
    """Builds COPY rows and hands finished chunks to the merge sessions, one inbox per session.

    Rows are routed by content hash (its first byte modulo the number of sessions), so each session
    owns a disjoint share of the contents: two sessions of one import never insert the same `files`
    row or move the same canonical path at once, and never wait for each other's transactions.
    Rejected files (no hash) go to the first session.
    """

    def __init__(self, batch_id: int, outs: list[queue.Queue], rows_per_chunk: int) -> None:
        self.batch_id = batch_id
        self.outs = outs
        self.rows_per_chunk = rows_per_chunk
        self.next_chunk = 1
        self.lines: list[list[str]] = [[] for _ in outs]

    def ok(self, cand: scan.Candidate, data: bytes, info: midifile.MidiInfo) -> None:
        digest = blake3(data).hexdigest()
        part = int(digest[:2], 16) % len(self.outs)
        lines = self.lines[part]
        lines.append(
            f"{_text(cand.root)}\t{_text(cand.path)}\t{_bytea(cand.path_bytes)}\t{_text(cand.rel)}\t"
            f"\\\\x{digest}\t{len(data)}\t{info.format}\t{info.header_tracks}\t{info.num_tracks}\t"
            f"{_int(info.ticks_per_quarter_note)}\t{_int(info.smpte_fps)}\t{_int(info.smpte_resolution)}\t"
            f"{'t' if info.is_rmid else 'f'}\t{{{','.join(info.warnings)}}}\t{_N}\t{_N}\n"
        )
        if len(lines) >= self.rows_per_chunk:
            self.flush(part)

    def error(self, item: scan.Candidate | scan.ScanError, error_class: str, message: str,
              size: int | None = None) -> None:
        lines = self.lines[0]
        lines.append(
            f"{_text(item.root)}\t{_text(item.path)}\t{_bytea(item.path_bytes)}\t{_text(item.rel)}\t"
            f"{_N}\t{_int(size)}\t{_N}\t{_N}\t{_N}\t{_N}\t{_N}\t{_N}\t{_N}\t{_N}\t"
            f"{_text(error_class)}\t{_text(message)}\n"
        )
        if len(lines) >= self.rows_per_chunk:
            self.flush(0)

    def flush(self, part: int | None = None) -> None:
        """Send the rows of one session's buffer (of every buffer when ``part`` is None) as chunks."""
        for i in range(len(self.outs)) if part is None else (part,):
            lines = self.lines[i]
            if not lines:
                continue
            chunk = self.next_chunk
            self.next_chunk += 1
            prefix = f"{self.batch_id}\t{chunk}\t"  # batch and chunk columns of every row
            body = prefix + prefix.join(lines)
            # "replace" only matters for a lone surrogate, which the scanner never produces
            self.outs[i].put((chunk, len(lines), body.encode("utf-8", "replace")))
            self.lines[i] = []


class _Statistics:
    """Keeps the planner's picture of the catalog current while an import grows it.

    Autovacuum looks at a table about once a minute; an import can double the catalog in seconds, and
    plans made for a near-empty `files` table (sequential scans in nested loops) turn quadratic. So the
    import runs ANALYZE after chunks 1, 2, 4, 8, ... while what it added is large next to what was there.
    """

    def __init__(self, rows_at_start: float) -> None:
        self.rows_at_start = max(rows_at_start, 0.0)
        self.next_check = 1
        self.rows_analyzed = 0  # rows the import had added at its last ANALYZE
        self.lock = threading.Lock()

    def due(self, chunks_done: int, rows_added: int) -> bool:
        with self.lock:
            if chunks_done < self.next_check:
                return False
            self.next_check *= 2
            if rows_added > 0.2 * self.rows_at_start:
                self.rows_analyzed = max(self.rows_analyzed, rows_added)
                return True
            return False

    def stale(self, rows_added: int) -> bool:
        """Whether what the import added since its last ANALYZE is over a fifth of what the tables then held
        (the threshold the profile calls stale): the end of an import then analyzes once more."""
        with self.lock:
            return rows_added - self.rows_analyzed > 0.2 * (self.rows_at_start + self.rows_analyzed)


class _Gate:
    """Lets the merge sessions run chunks side by side, and lets one caller stop them between chunks.

    The bulk path drops the search indexes concurrently (runner.bulk): DROP INDEX CONCURRENTLY waits for
    every transaction on the table, so the merge sessions pause between chunks while it runs (the scanning
    thread goes on filling the bounded queues).
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.paused = False
        self.busy = 0

    def enter(self) -> None:
        with self.cond:
            while self.paused:
                self.cond.wait()
            self.busy += 1

    def leave(self) -> None:
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()

    def alone(self, action: Callable[[], object]) -> None:
        """Run `action` while no merge session is inside a chunk (the caller must not be inside one)."""
        with self.cond:
            self.paused = True
            while self.busy:
                self.cond.wait()
        try:
            action()
        finally:
            with self.cond:
                self.paused = False
                self.cond.notify_all()


class _Switch:
    """When an import has added enough new files, drops the search indexes once (runner.bulk)."""

    def __init__(self, load: bulk.BulkLoad | None, at: int) -> None:
        self.load = load
        self.at = at
        self.lock = threading.Lock()
        self.done = load is None or load.active

    def maybe(self, files_new: int, gate: _Gate) -> None:
        with self.lock:
            if self.done or files_new < self.at:
                return
            self.done = True
        gate.alone(self.load.defer)


# SQLSTATE classes of errors that one row can cause: data exceptions (22: a value out of range, an
# encoding the server refuses, a string too long for a tsvector), integrity constraint violations (23),
# cardinality violations (21) and program limits (54: an index entry too large). Any other error
# (connection lost, deadlock, permission, a bug in the SQL) is not a row's fault and ends the run.
_ROW_FAULTS = ("21", "22", "23", "54")
REJECTED = "rejected"
"""The import_errors class of a file whose row the database refused (the message is the server's)."""
INTERNAL_ERROR = "internal_error"
"""The import_errors class of a file on which the runner itself failed (a bug: the message says where)."""


def _row_fault(exc: psycopg.Error) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in _ROW_FAULTS


def _server_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc).strip().splitlines()[0]
    return f"{text} ({diag.message_detail})" if diag.message_detail else text


def _rejected_line(line: bytes, message: str) -> bytes:
    """The staging line of a refused row, turned into its error row: location and size kept, class
    `rejected`, the server's message. Fields are tab-separated with tabs escaped, so a split is exact."""
    f = line.split(b"\t")
    n = len(STAGING_COLUMNS)
    if len(f) != n:  # not a line this writer made: keep what locates the file, if anything does
        f = (f + [b"\\N"] * n)[:n]
    size = f[7] if f[7].isdigit() else b"\\N"
    tail = [b"\\N"] * 8 + [REJECTED.encode(), _text(message).encode()]
    return b"\t".join([*f[:6], b"\\N", size, *tail])


def _last_resort_line(line: bytes, message: str) -> bytes:
    """An error row for a line whose own error row was refused too: the location written in ASCII
    (backslash escapes), so that nothing the row held can be refused again."""
    f = (line.split(b"\t") + [b""] * 6)[:6]
    text = [x.decode("utf-8", "replace").encode("ascii", "backslashreplace").decode() for x in f[2:6]]
    fields = [*f[:2], *(_text(t).encode() for t in text[:2]), b"\\N", _text(text[3]).encode()]
    tail = [b"\\N"] * 10 + [REJECTED.encode(), _text(message).encode("ascii", "backslashreplace")]
    return b"\t".join([*fields, *tail])


class _Merger:
    """One merge session: COPY a chunk into staging and merge it, inside the caller's transaction.

    A chunk goes in whole first (`plain`). When the database refuses it because of a row (`_row_fault`),
    the transaction is rolled back and the chunk is taken again with `merge`: split in two, each half in
    its own savepoint, until the row at fault is alone; that row becomes its own `rejected` error row with
    the server's message and every other row of the chunk is merged. So whatever one file's row trips (a
    constraint, a type range, an index entry too large, an encoding) costs that file only. The split is
    the safety net under midi.import_merge's own checks, and a chunk no row fails pays nothing for it
    (not even a savepoint, whose subtransaction ids every later reader of those rows would look up).
    """

    def __init__(self, conn: psycopg.Connection, batch_id: int) -> None:
        self.conn = conn
        self.batch_id = batch_id
        self.copy_sql = f"COPY midi.import_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"

    def plain(self, cur: psycopg.Cursor, chunk: int, body: bytes) -> tuple[int, int, int, int]:
        """COPY and merge a chunk with no savepoint: the common case, which no row of the chunk fails."""
        with cur.copy(self.copy_sql) as cp:
            cp.write(body)
        return cur.execute(queries["import_merge"], [self.batch_id, chunk]).fetchone()

    def merge(self, cur: psycopg.Cursor, chunk: int, body: bytes) -> tuple[int, int, int, int]:
        """COPY and merge (part of) a chunk in a savepoint, splitting it when the database refuses a row."""
        try:
            with self.conn.transaction():
                with cur.copy(self.copy_sql) as cp:
                    cp.write(body)
                return cur.execute(queries["import_merge"], [self.batch_id, chunk]).fetchone()
        except psycopg.Error as exc:
            if not _row_fault(exc):
                raise
            return self.split(cur, chunk, body, exc)

    def split(self, cur: psycopg.Cursor, chunk: int, body: bytes, exc: psycopg.Error) -> tuple[int, int, int, int]:
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if len(lines) > 1:
            half = len(lines) // 2
            a = self.merge(cur, chunk, b"\n".join(lines[:half]) + b"\n")
            b = self.merge(cur, chunk, b"\n".join(lines[half:]) + b"\n")
            return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])
        message = _server_message(exc)
        line = _rejected_line(lines[0], message) if lines else b""
        try:
            with self.conn.transaction():
                with cur.copy(self.copy_sql) as cp:
                    cp.write(line + b"\n")
                return cur.execute(queries["import_merge"], [self.batch_id, chunk]).fetchone()
        except psycopg.Error as again:
            if not _row_fault(again):
                raise
            message = f"{message}; its error row was refused too: {_server_message(again)}"
        line = _last_resort_line(lines[0], message)
        with self.conn.transaction():
            with cur.copy(self.copy_sql) as cp:
                cp.write(line + b"\n")
            return cur.execute(queries["import_merge"], [self.batch_id, chunk]).fetchone()


def _flush_statistics(conn: psycopg.Connection) -> None:
    """Make what this session changed visible in pg_stat_user_tables before the run decides on ANALYZE.

    A session hands its table counters to the server at most once a second, or as it ends, which happens
    after the client has closed and gone on: the end-of-import check would read counters without the last
    chunks and leave the tables stale. The function is PostgreSQL 15's (the counters' flush on going idle,
    outside a transaction, is then immediate)."""
    if conn.info.server_version >= 150000:
        conn.autocommit = True
        conn.execute(queries["flush_statistics"])


def _merge_chunks(dsn: str, batch_id: int, inbox: queue.Queue, totals: dict, lock: threading.Lock,
                  failure: list, progress: Callable[[int, int], None] | None, stats: _Statistics,
                  gate: _Gate, switch: _Switch) -> None:
    """Database thread: COPY each chunk and merge it in one transaction; retries on deadlock."""
    try:
        conn = psycopg.connect(dsn)
    except BaseException as exc:
        failure.append(exc)
        conn = None
    try:
        merger = _Merger(conn, batch_id) if conn is not None else None
        while conn is not None:
            item = inbox.get()
            if item is None:
                _flush_statistics(conn)
                return
            chunk, nrows, body = item
            gate.enter()
            try:
                new = _merge_one(conn, merger, chunk, body, totals, lock, progress, stats)
            finally:
                gate.leave()
            switch.maybe(new, gate)
    except BaseException as exc:  # handed to the scanning thread, which re-raises it
        failure.append(exc)
    finally:
        if conn is not None:
            conn.close()
    while True:  # after a failure: drain so the producer never blocks on a dead consumer
        try:
            if inbox.get(timeout=0.1) is None:
                return
        except queue.Empty:
            continue


def _merge_one(conn: psycopg.Connection, merger: _Merger, chunk: int, body: bytes, totals: dict,
               lock: threading.Lock, progress: Callable[[int, int], None] | None, stats: _Statistics) -> int:
    """Merge one chunk (retrying on deadlock, isolating a refused row), count it, and refresh the planner's
    statistics when due. Returns the run's new files so far."""
    isolate = False  # the chunk in one go first; split only once the database refused a row
    for attempt in range(_RETRIES + 1):
        try:
            with conn.transaction(), conn.cursor() as cur:
                # An import is idempotent and resumable: a crash that loses the last chunk commits
                # is repaired by running it again, so its commits need not wait for the WAL flush.
                cur.execute(queries["import_async_commit"])
                if isolate:
                    seen, new, dups, errs = merger.merge(cur, chunk, body)
                else:
                    seen, new, dups, errs = merger.plain(cur, chunk, body)
            break
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt >= _RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
        except psycopg.Error as exc:
            if isolate or not _row_fault(exc):
                raise
            isolate = True  # the whole chunk was rolled back: again, row by row where it fails
    with lock:
        totals["files_seen"] += seen
        totals["files_new"] += new
        totals["duplicates"] += dups
        totals["errors"] += errs
        totals["chunks"] += 1
        chunks_done, rows_added, files_new = totals["chunks"], totals["files_seen"], totals["files_new"]
        if progress:
            progress(seen, errs)
    if stats.due(chunks_done, rows_added):
        with conn.transaction():
            conn.execute(queries["statistics_sample"])
            conn.execute(queries["import_analyze"])
    return files_new


def _fs_path(item: scan.Candidate | scan.ScanError) -> bytes | None:
    return item.fs_path if isinstance(item, scan.Candidate) else None


def absolute_roots(paths: Iterable[str | Path]) -> list[str]:
    """Roots as absolute paths without resolving symlinks (the user's view of the library)."""
    import os

    return [os.path.abspath(os.fspath(p)) for p in paths]


def run_import(dsn: str, roots: Iterable[str | Path], *, prune: bool = False, rows_per_chunk: int = CHUNK_ROWS,
               sessions: int = MERGE_SESSIONS, progress: Callable[[int, int], None] | None = None,
               seen: Callable[[str, int], None] | None = None, bulk_load: bool = True,
               prefetch_threads: int = prefetch.THREADS) -> ImportResult:
    """Import every MIDI file under the roots into the database at ``dsn``; returns the batch's counts.

    ``progress(files, errors)`` is called as each chunk is merged, ``seen(path, nbytes)`` for each file as
    it is read (for a progress display: files, bytes and the folder being read). With ``bulk_load`` (and a
    role that owns the tables), an import that adds many files compared with the library's size drops the
    search indexes once it has added enough and builds them at its end (runner.bulk); it also builds what a
    killed bulk load left missing. ``prefetch_threads`` files are fetched into the page cache ahead of the
    reading thread (runner.prefetch: a library not in the cache is read with that many reads in flight);
    0 reads one file at a time."""
    roots = absolute_roots(roots)
    started = time.perf_counter()
    stats = scan.ScanStats()
    totals = {"files_seen": 0, "files_new": 0, "duplicates": 0, "errors": 0, "chunks": 0}
    failure: list[BaseException] = []
    lock = threading.Lock()
    not_pruned: list[str] = []  # with prune: what could not be looked into (import_finish shields it too)
    load = bulk.BulkLoad(dsn, "import") if bulk_load else None
    if load is not None and not load.acquire():
        load = None
    try:
        with prefetch.Prefetcher(prefetch_threads) as fetch:
            return _run_import(dsn, roots, prune, rows_per_chunk, sessions, progress, seen, load, started, stats,
                               totals, failure, lock, not_pruned, fetch)
    finally:
        if load is not None:
            load.release()


def _run_import(dsn: str, roots: list[str], prune: bool, rows_per_chunk: int, sessions: int,
                progress: Callable[[int, int], None] | None, seen: Callable[[str, int], None] | None,
                load: bulk.BulkLoad | None, started: float, stats: scan.ScanStats, totals: dict,
                failure: list[BaseException], lock: threading.Lock, not_pruned: list[str],
                fetch: prefetch.Prefetcher) -> ImportResult:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # batches left running by a killed import become interrupted; this one's lock, taken with its row,
        # shows every other session that it is alive for as long as this connection lives
        conn.execute(queries["import_mark_interrupted"]).fetchall()
        with conn.transaction():
            batch_id = conn.execute(queries["import_begin"], [[scan.display_path(r) for r in roots], __version__]).fetchone()[0]
            conn.execute(queries["import_hold"], [batch_id])
        files_at_start = conn.execute(queries["catalog_size"]).fetchone()[0]
        planner = _Statistics(files_at_start)
        switch = _Switch(load, bulk.switch_point(files_at_start, bulk.IMPORT_MIN_FILES, bulk.IMPORT_GROWTH))
        gate = _Gate()
        inboxes: list[queue.Queue] = [queue.Queue(maxsize=QUEUE_CHUNKS) for _ in range(max(1, sessions))]
        writer = _ChunkWriter(batch_id, inboxes, rows_per_chunk)
        workers = [threading.Thread(target=_merge_chunks, name=f"midicenter-merge-{i}", daemon=True,
                                    args=(dsn, batch_id, inbox, totals, lock, failure, progress, planner, gate, switch))
                   for i, inbox in enumerate(inboxes)]
        for w in workers:
            w.start()
        try:
            walk = scan.iter_candidates(roots, stats=stats)
            for item in prefetch.read_ahead(walk, _fs_path, fetch):
                if failure:
                    break
                if isinstance(item, scan.ScanError):
                    writer.error(item, item.error_class, item.message)
                    if seen:
                        seen(item.path, 0)
                    if prune and item.error_class not in midifile.ERROR_CLASSES:
                        not_pruned.append(item.path)
                    continue
                data = None
                try:
                    data = item.read()
                    if seen:
                        seen(item.path, len(data))
                    info = midifile.inspect(data)
                    writer.ok(item, data, info)
                except scan.ReadError as exc:
                    writer.error(item, exc.error_class, exc.message)
                    if seen:
                        seen(item.path, 0)
                    if prune and exc.error_class not in midifile.ERROR_CLASSES:
                        not_pruned.append(item.path)
                except midifile.MidiRejected as exc:
                    writer.error(item, exc.error_class, exc.message, len(data))
                except Exception as exc:  # a bug of ours on one file's bytes: that file's error row, not a crash
                    writer.error(item, INTERNAL_ERROR, f"{item.path}: {type(exc).__name__}: {exc}",
                                 None if data is None else len(data))
            writer.flush()
        finally:
            for inbox in inboxes:
                inbox.put(None)
            for w in workers:
                w.join()
        if failure:
            raise failure[0]
        conn.execute(queries["import_finish"], [batch_id, stats.other_files, prune])
        _flush_statistics(conn)
        # no import leaves the planner a stale picture: what it added since its last ANALYZE, or rows an
        # earlier (killed) import added and never analyzed
        if planner.stale(totals["files_seen"]) or conn.execute(queries["import_statistics_stale"]).fetchone()[0]:
            conn.execute(queries["import_analyze"])
        if load is not None and load.active:
            load.restore()  # the search indexes, built once over every row (sort-based, two sessions)
        if totals["files_new"] or prune:
            views.refresh(dsn, conn=conn)  # library statistics and facet views, without blocking readers
    seconds = time.perf_counter() - started
    totals.pop("chunks")
    return ImportResult(batch_id=batch_id, other_files=stats.other_files, seconds=round(seconds, 3),
                        files_per_second=round(totals["files_seen"] / seconds, 1) if seconds else 0.0,
                        not_pruned=not_pruned, bulk=load.summary() if load is not None and (load.dropped or load.built)
                        else None, **totals)


def result_dict(result: ImportResult) -> dict:
    data = asdict(result)
    if not data["not_pruned"]:
        del data["not_pruned"]
    if data["bulk"] is None:
        del data["bulk"]
    return data
