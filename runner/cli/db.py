"""`midicenter db ...`: migrations, the embedded server, and where the database is."""

from __future__ import annotations

import sys

import click

from runner import connect, schema
from runner.cli.common import cli, command, dsn_of, emit, target


@cli.group()
def db() -> None:
    """Schema migrations and the embedded server."""


@command(db, "migrate")
def db_migrate(ctx: click.Context, as_json: bool) -> None:
    """Apply pending migrations, then re-apply the SQL functions."""
    dsn = dsn_of(ctx)
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
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_rollback(ctx: click.Context, count: int, all_: bool, yes: bool, as_json: bool) -> None:
    """Roll back the newest migration(s). Data in the affected tables is lost."""
    if not yes and sys.stdin.isatty():
        what = "ALL migrations" if all_ else f"the last {count} migration(s)"
        click.confirm(f"Roll back {what}? Data in those tables will be dropped", abort=True, err=True)
    done = schema.rollback(dsn_of(ctx), count=count, all_=all_)
    emit({"rolled_back": done}, as_json)


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
