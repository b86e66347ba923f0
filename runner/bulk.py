"""Bulk loads: the search-only indexes are dropped for a large import or analysis and built again at its end.

Keeping an index current costs a little on every row written; building it at the end sorts all rows at
once and costs much less per row. So, as pg_restore does, a run that adds or rewrites many files compared
with what the library holds drops the indexes only searches read (marked "[deferrable]" in their comment,
db/functions/25_bulk_load.sql) and builds them again when it is done, in two sessions at once, each a
sort-based build with parallel maintenance workers where PostgreSQL has them.

Safety: midi.deferred_indexes records each index (its definition and comment) in a committed transaction
before it is dropped, and a build deletes the record in the transaction that creates the index. A run
killed at any point therefore leaves either the index or its record, and the library answers every call
meanwhile (a search without its index reads more rows; it is slower, not wrong). The run holds a session
advisory lock (midi.bulk_lock_key) for as long as indexes it dropped are missing; a record whose lock
nobody holds was left by a dead run, and the next import, analysis or `midicenter db migrate` builds it.
Readers never wait on the drops (DROP INDEX CONCURRENTLY); the builds take a SHARE lock on the table, so
readers go on while writers wait for the end of each build.

Only the tables' owner may drop and build indexes: any other role (midi_writer) runs without a bulk path.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from runner.queries import queries

BUILD_SESSIONS = 2
"""Sessions that build deferred indexes at once (a GIN index builds on one core before PostgreSQL 18)."""
BUILD_MEMORY = "512MB"
"""maintenance_work_mem of each building session: a sort that fits in memory needs no temporary files."""
DROP_TIMEOUT = "3s"
"""How long one DROP INDEX CONCURRENTLY may wait for other sessions' transactions (another analysis holds
its claimed batches in open transactions). On the first that waits longer, the run keeps this index and
every later one, maintained as usual (an index the cancelled drop left invalid is built again by the
rebuild, which finds its record), and goes on: a run never waits for another before doing its work."""
IMPORT_MIN_FILES = 5000
"""An import switches to the bulk path once it has added at least this many new files ..."""
IMPORT_GROWTH = 0.25
"""... and at least this share of the files the library held when it began. The switch works like renting
until buying pays: the rows an import has added so far cost index maintenance, the rebuild costs a sort of
every row. On 100,000 files into an empty library (docs/benchmarks.md, before and after issue 15) the
rebuild of the 12 deferrable indexes took 8.7-10.4 s of a 54-59 s import; the share at which the rebuild
starts to pay on a non-empty library has not been measured apart (the machine was heavily loaded)."""
ANALYSIS_MIN_FILES = 5000
"""An analysis takes the bulk path when it will write at least this many files ..."""
ANALYSIS_SHARE = 0.25
"""... and at least this share of the library."""
APPLICATION_NAME = "midicenter bulk load"


def switch_point(files_at_start: float, minimum: int, share: float) -> int:
    """How many files a run must add (or rewrite) before dropping the search indexes pays off."""
    return max(minimum, math.ceil(share * max(0.0, files_at_start)))


class BulkLoad:
    """One run's bulk path: the lock, the drops and the builds. Use ``acquire`` first; ``release`` always."""

    def __init__(self, dsn: str, by: str, log: Callable[[str], None] | None = None) -> None:
        if by not in ("import", "analysis"):
            raise ValueError("by must be 'import' or 'analysis'")
        self.dsn = dsn
        self.by = by
        self.log = log or (lambda s: None)
        self.conn: psycopg.Connection | None = None
        self.active = False
        """True while indexes this run is responsible for are missing (dropped, or left by a dead run)."""
        self.dropped: list[str] = []
        self.built: list[str] = []
        self.drop_seconds = 0.0
        self.build_seconds = 0.0

    def acquire(self) -> bool:
        """Take the bulk-load lock: True when this role owns the tables and no other run holds it. A run that
        gets it adopts what a dead run left deferred (``active``: the indexes are missing, this run builds
        them at its end)."""
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, application_name=APPLICATION_NAME)
        except psycopg.Error:
            return False
        try:
            allowed, locked = conn.execute(queries["bulk_lock"]).fetchone()
        except psycopg.Error:  # a schema without the bulk path (an older migration state)
            conn.close()
            return False
        if not (allowed and locked):
            conn.close()
            return False
        self.conn = conn
        if conn.execute(queries["bulk_deferred"]).fetchall():
            self.active = True
        return True

    def defer(self) -> list[str]:
        """Record the deferrable indexes, then drop them (concurrently: readers never wait). The caller
        makes sure its own sessions hold no transaction on the tables meanwhile."""
        assert self.conn is not None, "acquire() first"
        started = time.perf_counter()
        rows = self.conn.execute(queries["bulk_defer"], [self.by]).fetchall()
        self.active = True
        self.conn.execute(queries["bulk_drop_timeout"], [DROP_TIMEOUT])
        for (name, _table) in rows:
            try:
                self.conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier("midi", name)))
                self.dropped.append(name)
            except psycopg.errors.QueryCanceled:
                self.log(f"bulk load: {name} and the rest kept (other sessions held the table longer than "
                         f"{DROP_TIMEOUT})")
                break
        self.conn.execute("RESET statement_timeout")
        self.drop_seconds = time.perf_counter() - started
        return self.dropped

    def restore(self, sessions: int = BUILD_SESSIONS) -> list[str]:
        """Build every deferred index again, ``sessions`` at a time, largest first; returns what was built."""
        assert self.conn is not None, "acquire() first"
        started = time.perf_counter()
        todo = [r[0] for r in self.conn.execute(queries["bulk_deferred"]).fetchall()]
        if not todo:
            self.active = False
            return []
        lock = threading.Lock()
        failure: list[BaseException] = []

        def build() -> None:
            try:
                with psycopg.connect(self.dsn, application_name=APPLICATION_NAME) as conn:
                    while True:
                        with lock:
                            if not todo or failure:
                                return
                            name = todo.pop(0)
                        with conn.transaction():
                            conn.execute(queries["bulk_build_memory"], [BUILD_MEMORY])
                            state = conn.execute(queries["bulk_restore"], [name]).fetchone()[0]
                        if state == "built":
                            with lock:
                                self.built.append(name)
            except BaseException as exc:
                with lock:
                    failure.append(exc)

        threads = [threading.Thread(target=build, name=f"midicenter-index-build-{i}", daemon=True)
                   for i in range(max(1, min(sessions, len(todo))))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failure:
            raise failure[0]
        left = self.conn.execute(queries["bulk_deferred"]).fetchall()
        self.active = bool(left)
        self.build_seconds = time.perf_counter() - started
        return self.built

    def release(self) -> None:
        """Give the lock back (closing the session does it too: a killed run leaves nothing locked)."""
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def summary(self) -> dict:
        """What the bulk path did, for a run's summary."""
        return {"indexes_dropped": len(self.dropped), "indexes_built": len(self.built),
                "drop_seconds": round(self.drop_seconds, 3), "build_seconds": round(self.build_seconds, 3)}


def repair(dsn: str, log: Callable[[str], None] | None = None) -> list[str]:
    """Build the indexes a killed bulk load left missing, unless a live run holds them (or this role may
    not build indexes). Returns the indexes built. `midicenter db migrate` runs it."""
    bulk = BulkLoad(dsn, "import", log)
    if not bulk.acquire():
        return []
    try:
        return bulk.restore() if bulk.active else []
    finally:
        bulk.release()
