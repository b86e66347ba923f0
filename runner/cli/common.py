"""What every command shares: the root group, the one decorator that gives a command its --json option,
the click context and one-line fatal errors, and the printing of tables or JSON.

Data goes to stdout, progress and logs to stderr. Exit 0 on success, 1 on a fatal error with a one-line
cause, 2 on a usage error (click's own convention).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
import psycopg

from runner import __version__, connect, schema
from runner.queries import queries


class Fatal(click.ClickException):
    """A fatal error: printed as one line, exit status 1."""

    exit_code = 1

    def show(self, file=None) -> None:  # noqa: ARG002 - click's signature
        click.echo(f"midicenter: error: {self.format_message()}", err=True)


def fatal_errors(fn: Callable) -> Callable:
    """Turn expected failures into one-line Fatal errors instead of tracebacks."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own ways out (an exit status, a declined confirmation) are RuntimeErrors too
        except connect.ConnectError as exc:
            raise Fatal(str(exc)) from None
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise Fatal(f"database error: {first}") from None
        except (RuntimeError, FileNotFoundError) as exc:
            raise Fatal(str(exc)) from None

    return wrapper


def command(group: click.Group, name: str | None = None, *, json_help: str | None = "Print JSON.",
            **settings: Any) -> Callable[[Callable], click.Command]:
    """Register a command on ``group`` with the plumbing every command shares: the click context as its first
    argument, expected failures as one-line fatal errors, and (unless ``json_help`` is None) a ``--json``
    flag passed as ``as_json``, listed after the command's own options. ``settings`` go to click
    (``help=...``)."""

    def decorate(fn: Callable) -> click.Command:
        f = click.pass_context(fatal_errors(fn))
        if json_help is not None:
            params = getattr(fn, "__click_params__", [])
            params.insert(0, click.Option(["--json", "as_json"], is_flag=True, help=json_help))
            f.__click_params__ = params
        return group.command(name, **settings)(f)

    return decorate


def emit(data: Any, as_json: bool, *, columns: Sequence[str] | None = None) -> None:
    """Print rows (list of dicts) or one dict as an aligned table, or as JSON."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    if not rows:
        click.echo("(none)")
        return
    if isinstance(data, dict) and columns is None:
        width = max(len(k) for k in data)
        for k, v in data.items():
            click.echo(f"{k.ljust(width)}  {_cell(v)}")
        return
    cols = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.3g}"
    if isinstance(v, list | tuple):
        return ", ".join(_cell(x) for x in v)
    return str(v)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dsn",
    envvar=None,
    help="PostgreSQL conninfo or URL (else MIDICENTER_DSN, DATABASE_URL, PG*, embedded).",
)
@click.option(
    "--read-dsn",
    envvar=None,
    help="Where read commands (search, facets, show, saved run/list, tag list, fav list, profile) go, e.g. a "
         "streaming replica or a pooler in front of replicas (else MIDICENTER_READ_DSN, else --dsn's database).",
)
@click.version_option(__version__, prog_name="midicenter")
@click.pass_context
def cli(ctx: click.Context, dsn: str | None, read_dsn: str | None) -> None:
    """midicenter: import, analyze and search huge MIDI libraries in PostgreSQL."""
    ctx.obj = connect.resolve(dsn)
    read = read_dsn or os.environ.get(READ_DSN_ENV) or None
    ctx.meta[_READ_TARGET] = connect.Target(read, "--read-dsn" if read_dsn else READ_DSN_ENV) if read else None


READ_DSN_ENV = "MIDICENTER_READ_DSN"
_READ_TARGET = "midicenter.read_target"

READ_QUERIES = frozenset({
    "search", "search_count", "file_details", "facets", "saved_search_run", "saved_search_list", "tag_list",
})
"""The named queries (runner/queries.sql) `rows` sends to the read target: calls of the read API, which a
hot standby serves. Every other query is a write and goes to the primary, after the check that it is one."""


def target(ctx: click.Context) -> connect.Target:
    return ctx.find_root().obj


def read_target(ctx: click.Context) -> connect.Target:
    """Where read commands go: --read-dsn / MIDICENTER_READ_DSN when given, else the one target."""
    return ctx.find_root().meta.get(_READ_TARGET) or target(ctx)


def dsn_of(ctx: click.Context) -> str:
    """The target's conninfo, after one probe connection so failures read as one clear line."""
    t = target(ctx)
    connect.connect(t).close()
    return connect.target_dsn(t)


def _refuse_standby(ctx: click.Context, t: connect.Target, standby: bool, read_only: bool) -> None:
    """One line, before any work, when a command that writes was pointed at a server that cannot take writes."""
    if not (standby or read_only):
        return
    what = "a read-only hot standby (a replica)" if standby else "read-only (default_transaction_read_only)"
    command = ctx.command_path.removeprefix(ctx.find_root().info_name or "").strip() or "this command"
    raise Fatal(f"{t.describe()} is {what}; `{command}` writes: give the primary's DSN with --dsn or "
                f"MIDICENTER_DSN (replicas serve reads: --read-dsn / {READ_DSN_ENV})")


def writable_dsn(ctx: click.Context) -> str:
    """Like dsn_of, for commands that write without needing the schema first (db migrate, rollback, demo)."""
    t = target(ctx)
    with connect.connect(t) as conn:
        _present, standby, read_only = conn.execute(queries["schema_exists_writable"]).fetchone()
    _refuse_standby(ctx, t, standby, read_only)
    return connect.target_dsn(t)


def read_dsn_of(ctx: click.Context) -> str:
    """Like dsn_of, for the read target (read_target)."""
    t = read_target(ctx)
    connect.connect(t).close()
    return connect.target_dsn(t)


def catalog_dsn(ctx: click.Context, *, write: bool = True) -> str:
    """Like dsn_of, for commands that need the midi schema: the embedded database is migrated on first
    use; any other database must have been migrated by its owner (a clear error says how).

    A command that writes (``write``) fails at once, before any work, when its database is a read-only
    hot standby (or a read-only session); one that only reads goes to the read target (read_target).
    """
    t = target(ctx) if write else read_target(ctx)
    with connect.connect(t) as conn:
        present, standby, read_only = conn.execute(queries["schema_exists_writable"]).fetchone()
    if write:
        _refuse_standby(ctx, t, standby, read_only)
    dsn = connect.target_dsn(t)
    if not present:
        if t.source != "embedded":
            raise Fatal(f"{t.describe()} has no midicenter schema yet; run: midicenter db migrate")
        schema.migrate(dsn)
    return dsn


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Any]:
    """A progress display on stderr (only on a terminal, never with --quiet), closed even on failure."""
    from runner.progress import Progress

    bar = Progress(label, quiet=quiet)
    try:
        yield bar
    finally:
        bar.close()


def rows(ctx: click.Context, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one named query (a call of a midi.* function) and return its rows as dicts; writes commit."""
    from psycopg.rows import dict_row

    with psycopg.connect(catalog_dsn(ctx, write=name not in READ_QUERIES), row_factory=dict_row) as conn:
        return conn.execute(queries[name], params).fetchall()
