"""Throwaway databases for the benchmarks: created on the target's server, migrated, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo

from runner import schema


def with_dbname(dsn: str, dbname: str) -> str:
    """The same conninfo, naming another database."""
    params = conninfo.conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return conninfo.make_conninfo(**params)


@contextmanager
def throwaway_database(server_dsn: str, label: str, *, template: str | None = None, keep: bool = False,
                       log: Callable[[str], None] = lambda s: None) -> Iterator[str]:
    """A new database ``midicenter_bench_<label>_<random>`` on the server of ``server_dsn``: a migrated one,
    or a copy of the database ``template`` (a conninfo) as it is; dropped afterwards unless ``keep``.
    Yields its conninfo."""
    name = f"midicenter_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = with_dbname(server_dsn, "postgres")
    source = conninfo.conninfo_to_dict(template)["dbname"] if template else None
    with psycopg.connect(admin, autocommit=True) as conn:
        # generated names and the catalog's own, quoted; never user input
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{source}"' if source else ""))
    dsn = with_dbname(server_dsn, name)
    try:
        if not template:
            schema.migrate(dsn)
        yield dsn
    finally:
        if keep:
            log(f"kept database {name}")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
