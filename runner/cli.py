"""The `midicenter` command: parse options, call one function, print a table or JSON.

Data goes to stdout, progress and logs to stderr. Exit 0 on success, 1 on a fatal error with a one-line
cause, 2 on a usage error (click's own convention).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
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
        except connect.ConnectError as exc:
            raise Fatal(str(exc)) from None
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise Fatal(f"database error: {first}") from None
        except (RuntimeError, FileNotFoundError) as exc:
            raise Fatal(str(exc)) from None

    return wrapper


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
@click.version_option(__version__, prog_name="midicenter")
@click.pass_context
def cli(ctx: click.Context, dsn: str | None) -> None:
    """midicenter: import, analyze and search huge MIDI libraries in PostgreSQL."""
    ctx.obj = connect.resolve(dsn)


def target(ctx: click.Context) -> connect.Target:
    return ctx.find_root().obj


def dsn_of(ctx: click.Context) -> str:
    """The target's conninfo, after one probe connection so failures read as one clear line."""
    t = target(ctx)
    connect.connect(t).close()
    return connect.target_dsn(t)


def catalog_dsn(ctx: click.Context) -> str:
    """Like dsn_of, for commands that need the midi schema: the embedded database is migrated on first
    use; any other database must have been migrated by its owner (a clear error says how)."""
    t = target(ctx)
    with connect.connect(t) as conn:
        present = conn.execute(queries["schema_exists"]).fetchone()[0]
    dsn = connect.target_dsn(t)
    if not present:
        if t.source != "embedded":
            raise Fatal(f"{t.describe()} has no midicenter schema yet; run: midicenter db migrate")
        schema.migrate(dsn)
    return dsn


# --------------------------------------------------------------------------------------------- db


@cli.group()
def db() -> None:
    """Schema migrations and the embedded server."""


@db.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
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


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def db_status(ctx: click.Context, as_json: bool) -> None:
    """List every migration and whether it is applied."""
    states = schema.status(dsn_of(ctx))
    emit([{"migration": s.id, "applied": s.applied} for s in states], as_json)


@db.command("rollback")
@click.option(
    "--count", type=click.IntRange(min=1), default=1, show_default=True, help="How many to roll back."
)
@click.option("--all", "all_", is_flag=True, help="Roll back every migration (drops all midicenter data).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
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


def _server_status(as_json: bool) -> None:
    emit(connect.EmbeddedServer().status(), as_json)


@db_server.command("start")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@fatal_errors
def db_server_start(as_json: bool) -> None:
    """Start the embedded server (initialising it the first time); a no-op when it runs."""
    connect.EmbeddedServer().start()
    _server_status(as_json)


@db_server.command("stop")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@fatal_errors
def db_server_stop(as_json: bool) -> None:
    """Stop the embedded server."""
    connect.EmbeddedServer().stop()
    _server_status(as_json)


@db_server.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def db_server_status(as_json: bool) -> None:
    """Show where the embedded server lives and whether it runs."""
    _server_status(as_json)


# ----------------------------------------------------------------------------------------- import


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("--prune", is_flag=True, help="Mark paths under these roots that were not seen this time as missing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@fatal_errors
def import_cmd(ctx: click.Context, paths: tuple[str, ...], prune: bool, as_json: bool) -> None:
    """Register every MIDI file under PATHS (folders, files, .zip archives).

    One files row per distinct content, one file_paths row per location, one import_errors row per
    file that could not be taken. Exit 0 when the run completed, also when some files were rejected.
    """
    from runner import importer
    from runner.progress import Progress

    dsn = catalog_dsn(ctx)
    bar = Progress("import")
    result = importer.run_import(dsn, paths, prune=prune, progress=bar.update)
    bar.close()
    emit(importer.result_dict(result), as_json)


# ------------------------------------------------------------------------------------------ bench


@cli.group()
def bench() -> None:
    """Benchmarks on generated libraries with known truth (median of several runs)."""


@bench.command("import")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Size of the generated library (generated once, cached).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is reported.")
@click.option("--seed", type=int, default=1, show_default=True, help="Library generator seed.")
@click.option("--baseline-files", type=click.IntRange(min=100), default=20_000, show_default=True,
              help="Files the seed documents' single-row method imports (it is slow).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def bench_import(ctx: click.Context, n_files: int, runs: int, seed: int, baseline_files: int, as_json: bool) -> None:
    """Import a generated library into fresh databases; compare with the read+hash floor and the seed method."""
    from runner.bench import importbench

    result = importbench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, baseline_files=baseline_files,
                             log=lambda s: click.echo(s, err=True))
    emit(result, as_json)


# ------------------------------------------------------------------------------------------- demo


@cli.command("demo")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=5_000, show_default=True,
              help="Size of the generated demo library.")
@click.pass_context
@fatal_errors
def demo(ctx: click.Context, n_files: int) -> None:
    """Set up the database (embedded unless a DSN is configured), generate a sample-pack library,
    import it, and show what the catalog now answers."""
    from runner import importer
    from runner.bench import library
    from runner.corpus import default_cache_dir
    from runner.progress import Progress

    t = target(ctx)
    click.echo(f"database: {t.describe()}", err=True)
    dsn = dsn_of(ctx)
    applied = schema.migrate(dsn)
    click.echo(f"migrations applied now: {', '.join(applied) or 'none (already up to date)'}", err=True)
    click.echo(f"generating a {n_files:,}-file sample-pack library (cached) ...", err=True)
    lib = library.generate(default_cache_dir() / "libs", n_files, seed=42)
    click.echo(f"importing {lib} ...", err=True)
    bar = Progress("import")
    result = importer.run_import(dsn, [lib], progress=bar.update)
    bar.close()
    click.echo("\n== import", err=True)
    emit(importer.result_dict(result), False)
    with connect.connect(t) as conn:
        for title, name in (("manufacturers", "demo_manufacturers"),
                            ("what file names say: keys", "demo_filename_keys"),
                            ("a question: C-minor bass loops, 120-128 BPM by their names", "demo_question")):
            click.echo(f"\n== {title}", err=True)
            cur = conn.execute(queries[name])
            cols = [c.name for c in cur.description]
            emit([dict(zip(cols, row, strict=True)) for row in cur.fetchall()], False)


def main(argv: Iterable[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="midicenter")


if __name__ == "__main__":
    main()
