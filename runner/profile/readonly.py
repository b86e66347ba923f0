"""Sessions that cannot write: the connections ``midicenter profile`` and its load test use.

Every transaction on them is READ ONLY by server setting (``default_transaction_read_only``), and psycopg
also opens each one with ``BEGIN READ ONLY``; no statement may run, or wait for a lock, for long.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import psycopg
from psycopg import conninfo, sql

STATEMENT_TIMEOUT_MS = 60_000  # one statement of the report, never more
LOCK_TIMEOUT_MS = 2_000  # never queue behind a lock (and so block others behind us)


def guarded_conninfo(dsn: str, application: str, *, read_only: bool = True,
                     statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> str:
    """The conninfo plus server options: read-only transactions (unless asked otherwise), time limits, and
    an application name that shows in pg_stat_activity."""
    params = conninfo.conninfo_to_dict(dsn)
    options = " ".join(filter(None, [
        str(params.get("options") or ""),
        "-c default_transaction_read_only=on" if read_only else "",
        f"-c statement_timeout={int(statement_timeout_ms)}",
        f"-c lock_timeout={LOCK_TIMEOUT_MS}",
    ]))
    return conninfo.make_conninfo(dsn, options=options, application_name=application)


def connect(dsn: str, application: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
            autocommit: bool = False) -> psycopg.Connection:
    """A connection on which every transaction is READ ONLY."""
    conn = psycopg.connect(guarded_conninfo(dsn, application, statement_timeout_ms=statement_timeout_ms),
                           autocommit=autocommit, prepare_threshold=None)  # works through a transaction pooler
    conn.read_only = True
    return conn


def is_local(conn: psycopg.Connection) -> bool:
    """True when the server is reached by unix socket or a loopback address (it runs on this machine)."""
    host = conn.info.host or ""
    if not host or host.startswith(("/", "@")):
        return True
    addr = getattr(conn.info, "hostaddr", "") or ""
    addrs = [addr] if addr else []
    if not addrs:
        try:
            addrs = [str(ai[4][0]) for ai in socket.getaddrinfo(host, None)]
        except OSError:
            return False
    try:
        return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)
    except ValueError:
        return False


def first_line(exc: BaseException) -> str:
    """The first line of an error message (psycopg adds context lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def rows(conn: psycopg.Connection, query: str | sql.Composable, params: Any = None) -> list[dict]:
    """All rows of a query as dicts."""
    cur = conn.execute(query, params)
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
