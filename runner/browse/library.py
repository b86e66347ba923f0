"""The browse page's side of the database: sessions in the reader role, one named call per request.

Roles. The page reads as ``midi_reader`` and writes (favorites, ratings) as ``midi_writer``, by ``SET ROLE``
on sessions of the resolved login, whenever that login may take the role: on the embedded default the
login is the cluster's superuser, and on any DSN a login that was granted the roles works the same way.
``SET ROLE`` makes every statement of the session run with that role's privileges (the API functions run
with the caller's rights), so a read session cannot write or change the schema whatever it is asked;
a dedicated login role would need DDL and an authentication set-up on the user's server for no gain,
since this server never sends text that came from the page. A login that may not take ``midi_reader``
reads as itself (said once in the terminal); the write toggles are offered only when a session may run
``midi.favorite_toggle`` and ``midi.rate``. The role's statement timeout, which ``SET ROLE`` does not
apply, is set on the session explicitly.

Failures become one of three exceptions the server turns into a status and a one-line message:
``Unavailable`` (the database cannot be reached, or has no midicenter schema: the page shows it and
retries), ``Refused`` (a privilege), ``BadInput`` (the database rejected an argument) and ``NotFound``.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors
from psycopg.rows import dict_row

from runner import connect, queries

QUERIES = Path(__file__).with_name("queries.sql")
APPLICATION = "midicenter browse"
READER, WRITER = "midi_reader", "midi_writer"


def sql(name: str) -> str:
    """A statement of runner/browse/queries.sql by name."""
    return queries.load(QUERIES)[name]


class Unavailable(Exception):
    """The database cannot serve the page now: ``kind`` is "connection", "schema" or "privilege"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Refused(Exception):
    """The session's role may not do this."""


class BadInput(Exception):
    """The database rejected an argument (its own one-line message)."""


class NotFound(Exception):
    """No such file, or no readable copy of its bytes."""


class Timeout(Exception):
    """A call ran past the role's statement timeout."""


@dataclass(frozen=True)
class Session:
    """What this server may do on the database, found by one probe."""

    database: str
    login: str
    read_role: str | None
    """midi_reader, or None when the login reads as itself."""
    write_role: str | None
    """midi_writer, the login itself (""), or None: no writes, the toggles are hidden."""
    similar: bool
    server_version: str

    @property
    def can_write(self) -> bool:
        return self.write_role is not None

    def describe(self) -> str:
        reads = f"reads as {self.read_role}" if self.read_role else f"reads as {self.login} (not a member of {READER})"
        if self.write_role is None:
            writes = "no writes (favorites and ratings hidden)"
        else:
            writes = f"writes favorites and ratings as {self.write_role or self.login}"
        return f"{self.database} (PostgreSQL {self.server_version}); {reads}; {writes}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class _Pool:
    """A few open sessions of one role, reused across requests (LIFO, so idle ones age out of use)."""

    def __init__(self, opener, size: int) -> None:
        self._open = opener
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self.closed = False

    @contextlib.contextmanager
    def connection(self, fresh: bool = False) -> Iterator[psycopg.Connection]:
        if not self._slots.acquire(timeout=60):
            raise Timeout("every database session of the page is busy; try again")
        conn = None
        try:
            if not fresh:
                with contextlib.suppress(queue.Empty):
                    conn = self._idle.get_nowait()
            if conn is None:
                conn = self._open()
            yield conn
        except BaseException:
            if conn is not None:
                conn.close()
                conn = None
            raise
        finally:
            if conn is not None:
                if self.closed or conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.close()
                else:
                    self._idle.put(conn)
            self._slots.release()

    def close(self) -> None:
        """Close the idle sessions now, and each busy one when it is handed back."""
        self.closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class Library:
    """The database as the page sees it: a probe of what it offers, and pooled sessions per role."""

    def __init__(self, target: connect.Target, *, read_only: bool = False, migrate_embedded: bool = True,
                 pool_size: int = 4) -> None:
        self.target = target
        self.read_only = read_only
        self.migrate_embedded = migrate_embedded
        self.pool_size = pool_size
        self._lock = threading.Lock()
        self._state: tuple[Session, dict[str, _Pool]] | None = None

    # ------------------------------------------------------------------------------------ sessions

    def _connect(self) -> psycopg.Connection:
        try:
            return connect.connect(self.target, autocommit=True, application_name=APPLICATION)
        except connect.ConnectError as exc:
            raise Unavailable("connection", str(exc)) from None

    def _open_as(self, role: str | None) -> psycopg.Connection:
        conn = self._connect()
        try:
            if role:
                timeout = conn.execute(sql("role_timeout"), {"role": role}).fetchone()[0]
                conn.execute(sql("as_reader" if role == READER else "as_writer"))
                conn.execute(sql("set_timeout"), {"timeout": timeout})
        except BaseException:
            conn.close()
            raise
        return conn

    def session(self) -> Session:
        """The probe's findings, probing (and, for the embedded default, migrating) when there are none."""
        return self._current()[0]

    def _current(self) -> tuple[Session, dict[str, _Pool]]:
        """The session's findings and its pools, together (another thread may forget them meanwhile)."""
        with self._lock:
            if self._state is None:
                found = self._probe()
                pools = {"read": _Pool(lambda: self._open_as(found.read_role), self.pool_size)}
                if found.write_role is not None:
                    pools["write"] = _Pool(lambda: self._open_as(found.write_role or None), 2)
                self._state = (found, pools)
            return self._state

    def _probe(self) -> Session:
        with self._connect() as conn:
            login, has_schema, may_read, may_write, version = conn.execute(sql("probe")).fetchone()
            if not has_schema and self.target.source == "embedded" and self.migrate_embedded:
                from runner import schema

                schema.migrate(connect.target_dsn(self.target))
                login, has_schema, may_read, may_write, version = conn.execute(sql("probe")).fetchone()
            where = self.target.describe()
            if not has_schema:
                raise Unavailable("schema", f"{where} has no midicenter schema yet; run: midicenter db migrate")
            read_role = READER if may_read and _can_set(conn, "as_reader") else None
            if read_role:
                conn.execute(sql("as_reader"))
            may_use, missing, similar = conn.execute(sql("probe_api")).fetchone()
            conn.execute(sql("reset_role"))
            if not may_use:
                raise Unavailable("privilege", f"{where}: {login} may not use the midicenter schema; grant it the "
                                               f"reader role: GRANT midi_reader TO {login}")
            if missing:
                raise Unavailable("schema", f"{where} has an older midicenter schema (no {', '.join(missing)}); "
                                            "run: midicenter db migrate")
            write_role = None
            if not self.read_only:
                if may_write and _can_set(conn, "as_writer", check="can_write"):
                    write_role = WRITER
                elif conn.execute(sql("can_write")).fetchone()[0]:
                    write_role = ""
            return Session(where, login, read_role, write_role, bool(similar), version)

    def forget(self) -> None:
        """Drop the probe and every pooled session (after the database went away or changed)."""
        with self._lock:
            state, self._state = self._state, None
        if state is not None:
            for pool in state[1].values():
                pool.close()

    close = forget

    def status(self) -> dict[str, Any]:
        return asdict(self.session()) | {"can_write": self.session().can_write}

    # --------------------------------------------------------------------------------------- calls

    def call(self, name: str, params: dict[str, Any], *, write: bool = False) -> list[dict[str, Any]]:
        """Run one named statement (one midi.* call) in a session of the reader (or writer) role."""
        session, pools = self._current()
        if write and not session.can_write:
            raise Refused("this page may not write: the database role has no rights to favorites and ratings"
                          + (" (started with --read-only)" if self.read_only else ""))
        for attempt in (0, 1):
            pool = pools["write" if write else "read"]
            try:
                with pool.connection(fresh=attempt == 1) as conn:
                    cur = conn.cursor(row_factory=dict_row)
                    return cur.execute(sql(name), params).fetchall()
            except errors.QueryCanceled as exc:
                raise Timeout(f"the database gave up: {first_line(exc)}") from None
            except (errors.UndefinedFunction, errors.InvalidSchemaName, errors.UndefinedTable,
                    errors.UndefinedObject) as exc:
                self.forget()
                raise Unavailable("schema", f"{self.target.describe()}: the midicenter schema is missing or "
                                            f"older than this midicenter ({first_line(exc)}); "
                                            "run: midicenter db migrate") from None
            except errors.InsufficientPrivilege as exc:
                raise Refused(first_line(exc)) from None
            except errors.NoDataFound as exc:
                raise NotFound(first_line(exc)) from None
            except (errors.DataError, errors.InvalidParameterValue, errors.RaiseException,
                    errors.IntegrityError) as exc:
                raise BadInput(first_line(exc)) from None
            except psycopg.OperationalError as exc:
                # a pooled session whose server restarted or went away: once more on a new session,
                # which either works or says why the database cannot be reached
                self.forget()
                if attempt == 1:
                    raise Unavailable("connection", f"lost the database ({self.target.describe()}): "
                                                    f"{first_line(exc)}") from None
                session, pools = self._current()
                if write and not session.can_write:
                    raise Refused("this page may not write any more: the database role has no rights to "
                                  "favorites and ratings") from None
        raise AssertionError("unreachable")

    def file_bytes(self, file_id: int) -> tuple[str, bytes]:
        """The bytes of a file's content, read from the first of its locations whose bytes still hash to
        the content (midi.file_sources gives them in the order to try), with the file's name."""
        from blake3 import blake3

        from runner.scan import ReadError, read_path

        sources = self.call("file_sources", {"id": file_id})
        if not sources:
            raise NotFound(f"no file with id {file_id}")
        reasons = []
        for src in sources:
            try:
                data = read_path(src["path"], src["path_bytes"])
            except (ReadError, OSError) as exc:
                reasons.append(f"{src['path']}: {first_line(exc)}")
                continue
            if blake3(data).hexdigest() != src["content_hash"]:
                reasons.append(f"{src['path']}: changed since it was imported")
                continue
            return re.split(r"[/!\\]", src["path"])[-1], data
        raise NotFound(f"no readable copy of file {file_id}: " + "; ".join(reasons))


def _can_set(conn: psycopg.Connection, statement: str, check: str | None = None) -> bool:
    """Whether this session may SET ROLE (and, with ``check``, whether that query then says true); the
    session's role is reset after."""
    try:
        conn.execute(sql(statement))
        return bool(conn.execute(sql(check)).fetchone()[0]) if check else True
    except errors.InsufficientPrivilege:
        return False
    finally:
        conn.execute(sql("reset_role"))
