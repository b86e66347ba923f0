"""`midicenter db ...`: migrations, the embedded server, and where the database is (`db dsn`, `db psql`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from psycopg import conninfo

from runner import clients, connect, schema
from runner.cli.common import Fatal, catalog_dsn, cli, command, dsn_of, emit, target, writable_dsn


@cli.group()
def db() -> None:
    """Schema migrations, the embedded server, and psql or any client on the database."""


@command(db, "migrate")
def db_migrate(ctx: click.Context, as_json: bool) -> None:
    """Apply pending migrations, then re-apply the SQL functions."""
    dsn = writable_dsn(ctx)
    applied = schema.migrate(dsn)
    states = schema.status(dsn)
    emit(
        {
            "applied": applied,
            "functions_applied": len(schema.function_files()),
            "migrations": len(states),
            "pending": sum(not s.applied for s in states),
            "target": target(ctx).source,
        },
        as_json,
    )


@command(db, "status")
def db_status(ctx: click.Context, as_json: bool) -> None:
    """List every migration and whether it is applied."""
    states = schema.status(dsn_of(ctx))
    emit([{"migration": s.id, "applied": s.applied} for s in states], as_json)


@command(db, "rollback")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="How many to roll back.")
@click.option("--all", "all_", is_flag=True, help="Roll back every migration (drops all midicenter data).")
@click.option("--drop-user-data", is_flag=True,
              help="Allow dropping favorites, ratings, user tags and saved searches (refused otherwise).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed where no terminal can ask).")
def db_rollback(ctx: click.Context, count: int, all_: bool, drop_user_data: bool, yes: bool, as_json: bool) -> None:
    """Roll back the newest migration(s) in one transaction. Data in the affected tables is lost; a
    rollback that would drop user data is refused unless --drop-user-data is given.

    Asks first on a terminal; without one (a script, a pipe) it refuses unless --yes is given, so data
    is never dropped without an explicit yes."""
    what = "ALL migrations" if all_ else f"the last {count} migration(s)"
    if not yes:
        if not sys.stdin.isatty():
            raise Fatal(f"not rolling back {what}: that drops the data in their tables; "
                        "no terminal to ask on, so confirm with --yes")
        click.confirm(f"Roll back {what}? Data in those tables will be dropped", abort=True, err=True)
    done = schema.rollback(writable_dsn(ctx), count=count, all_=all_, drop_user_data=drop_user_data)
    emit({"rolled_back": done.rolled_back, "user_data_dropped": done.user_data_dropped}, as_json)


@db.group("server")
def db_server() -> None:
    """The embedded private server (used when no DSN is configured)."""


@command(db_server, "start")
def db_server_start(_ctx: click.Context, as_json: bool) -> None:
    """Start the embedded server (initialising it the first time); a no-op when it runs."""
    connect.EmbeddedServer().start()
    emit(connect.EmbeddedServer().status(), as_json)


@command(db_server, "stop")
def db_server_stop(_ctx: click.Context, as_json: bool) -> None:
    """Stop the embedded server."""
    connect.EmbeddedServer().stop()
    emit(connect.EmbeddedServer().status(), as_json)


@command(db_server, "status")
def db_server_status(_ctx: click.Context, as_json: bool) -> None:
    """Show where the embedded server lives and whether it runs."""
    emit(connect.EmbeddedServer().status(), as_json)


def client_dsn(ctx: click.Context) -> str:
    """The conninfo a client needs for the database midicenter resolved: the embedded one is started and
    migrated on first use; for libpq's PG* variables, the parameters they gave (without a password)."""
    t = target(ctx)
    if t.source == "embedded":
        return catalog_dsn(ctx)
    dsn = dsn_of(ctx)
    if not dsn:
        with connect.connect(t) as conn:
            given = conninfo.conninfo_to_dict(conn.info.dsn)
        keys = _CLIENT_KEYS + (("hostaddr",) if os.environ.get("PGHOSTADDR") else ())  # else libpq's own lookup
        dsn = conninfo.make_conninfo(**{k: v for k, v in given.items() if k in keys})
    return dsn


# The parameters a client needs from libpq's PG* variables (not every setting libpq reports, some of
# which older clients do not know).
_CLIENT_KEYS = ("host", "port", "dbname", "user", "service", "passfile", "options", "sslmode",
                "sslrootcert", "sslcert", "sslkey", "target_session_attrs", "connect_timeout")


@command(db, "dsn")
@click.option("--uri", is_flag=True, help="As a postgresql:// URI instead of key=value pairs.")
def db_dsn(ctx: click.Context, uri: bool, as_json: bool) -> None:
    """Print the connection string of the database midicenter uses, for psql or any other PostgreSQL
    client (the embedded server: its socket folder as host)."""
    dsn = client_dsn(ctx)
    if as_json:
        emit({"dsn": dsn, "uri": clients.as_uri(dsn), "source": target(ctx).source}, True)
    else:
        click.echo(clients.as_uri(dsn) if uri else dsn)


@command(db, "psql", json_help=None, context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def db_psql(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Run psql on the database midicenter uses; ARGS go to psql as they are, e.g.
    midicenter db psql -c 'SELECT count(*) FROM midi.files' (the embedded wheel's psql, else the system's)."""
    program = clients.find("psql")
    params = conninfo.conninfo_to_dict(client_dsn(ctx))
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)  # not on the command line, where any user could read it
    cmd = [program, *(["-d", conninfo.make_conninfo(**params)] if params else []), *args]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to psql while it runs
    try:
        code = subprocess.run(cmd, env=env, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
    ctx.exit(code)
