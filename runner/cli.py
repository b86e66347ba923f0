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
    if result.not_pruned:
        click.echo(f"--prune: nothing marked missing under {len(result.not_pruned)} path(s) that could not be read: "
                   + ", ".join(result.not_pruned[:5]) + (" ..." if len(result.not_pruned) > 5 else ""), err=True)
    emit(importer.result_dict(result), as_json)


# ---------------------------------------------------------------------------------------- analyze


def _memory(value: str) -> int:
    from runner.workers import parse_memory

    try:
        return parse_memory(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command("analyze")
@click.option("--reanalyze", is_flag=True, help="Analyze every file again, also those already up to date.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Analyze at most this many files.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parsing processes (default: one per core).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Files claimed and applied per transaction.")
@click.option("--worker-memory", callback=lambda _c, _p, v: None if v is None else _memory(v),
              help="Address-space limit of each worker, e.g. 1G or 512M (0: none); a file that needs more ends "
                   "as its out_of_memory error. Default: 2G, less on machines with little memory.")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None,
              help="Transient failures (unreadable, crash, timeout...) in a row before a file is given up "
                   "[default: the server's midi.analysis_max_attempts, else 3].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@fatal_errors
def analyze_cmd(ctx: click.Context, reanalyze: bool, limit: int | None, workers: int | None, batch_size: int,
                worker_memory: int | None, max_attempts: int | None, as_json: bool) -> None:
    """Parse every file that needs analysis and store its musical facts, key, category and tags.

    Files never analyzed, or analyzed by an older analyzer, are claimed in batches that several
    `midicenter analyze` processes share without overlap. Files that cannot be analyzed are listed in
    midi.analysis_errors with a stable class; the run goes on and exits 0.
    """
    from runner import analyzer
    from runner.progress import Progress

    dsn = catalog_dsn(ctx)
    bar = Progress("analyze")
    result = analyzer.run_analysis(dsn, workers=workers, limit=limit, reanalyze=reanalyze, batch_files=batch_size,
                                   progress=bar.update, worker_memory=worker_memory, max_attempts=max_attempts)
    bar.close()
    data = analyzer.result_dict(result)
    if not as_json:
        data["error_classes"] = ", ".join(f"{k}={v}" for k, v in data["error_classes"].items()) or "-"
    emit(data, as_json)


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


@bench.command("search")
@click.option("--files", "n_files", type=click.IntRange(min=1000), default=100_000, show_default=True,
              help="Files to fill the fresh database with (in SQL, realistic skew).")
@click.option("--repeat", type=click.IntRange(min=10), default=200, show_default=True,
              help="Queries per shape and run, random parameters.")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Timing runs; the median of their percentiles is reported.")
@click.option("--clients", type=click.IntRange(min=1), default=10, show_default=True, help="pgbench clients.")
@click.option("--seconds", type=click.IntRange(min=1), default=10, show_default=True, help="pgbench duration.")
@click.option("--no-seed-concurrency", is_flag=True, help="Skip the pgbench run of the seed query.")
@click.option("--keep", is_flag=True, help="Keep the filled database (its name is logged).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def bench_search(ctx: click.Context, n_files: int, repeat: int, runs: int, clients: int, seconds: int,
                 no_seed_concurrency: bool, keep: bool, as_json: bool) -> None:
    """Fill a fresh database with N files; time every search shape, the seed query and 10 clients."""
    from runner.bench import search as search_bench

    result = search_bench.run(dsn_of(ctx), files=n_files, repeat=repeat, runs=runs, clients=clients,
                              seconds=seconds, seed_concurrency=not no_seed_concurrency, keep=keep,
                              log=lambda s: click.echo(s, err=True))
    if as_json:
        emit(result, True)
    else:
        click.echo(search_bench.format_table(result))


@bench.command("analyze")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Size of the generated library (generated once, cached).")
@click.option("--real-songs", type=click.IntRange(min=10), default=3000, show_default=True,
              help="ABC folk songs rendered by abc2midi, added to the Debian real corpus.")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is reported.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Parsing processes of the analyzer, and of the pretty_midi and symusic comparisons.")
@click.option("--seed", type=int, default=1, show_default=True, help="Library generator seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def bench_analyze(ctx: click.Context, n_files: int, real_songs: int, runs: int, workers: int, seed: int,
                  as_json: bool) -> None:
    """Analyze fresh copies of a generated library and of real songs; accuracy, pretty_midi and symusic rates."""
    from runner.bench import analyzebench

    result = analyzebench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, real_songs=real_songs,
                              workers=workers, log=lambda s: click.echo(s, err=True))
    emit(result, as_json)


# ---------------------------------------------------------------------------------------- profile


def _client_levels(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of client counts, e.g. 10,50,100") from None
    if not levels or any(n < 1 or n > 1000 for n in levels):
        raise click.BadParameter("each client count must be between 1 and 1000")
    return levels


@cli.command("profile")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (schema: runner/profile/schema.json).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@click.option("--load-test", is_flag=True, help="Also run concurrent clients on the search mix (local servers only).")
@click.option("--load-seconds", type=click.FloatRange(min=0.1, max=600), default=5.0, show_default=True,
              help="How long each load level runs.")
@click.option("--load-clients", default="10,50,100", show_default=True, callback=_client_levels,
              help="Client counts of the load levels.")
@click.pass_context
@fatal_errors
def profile_cmd(ctx: click.Context, as_json: bool, output: str | None, load_test: bool, load_seconds: float,
                load_clients: tuple[int, ...]) -> None:
    """Health report of the database, read only: statistics, the API calls explained, index problems,
    top statements, connections, settings for this machine, and (with --load-test) throughput."""
    from pathlib import Path

    from runner.profile import markdown as profile_markdown
    from runner.profile import report as profile

    t = target(ctx)
    report = profile.run(dsn_of(ctx), load_test=load_test, load_seconds=load_seconds, load_clients=load_clients,
                         target=t.describe(), log=lambda s: click.echo(s, err=True))
    text = json.dumps(report, indent=2) + "\n" if as_json else profile_markdown.render(report)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"profile: report written to {output} (health {report['summary']['health_score']}/100)", err=True)
    else:
        click.echo(text, nl=False)


# ----------------------------------------------------------------------------------------- search

MUSICAL_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
                "Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
CATEGORIES = ("drums", "kick", "snare", "hats", "cymbals", "percussion", "bass", "chords", "pad", "lead", "melody",
              "arp", "pluck", "keys", "piano", "organ", "guitar", "strings", "brass", "woodwind", "synth", "fx",
              "vocal", "full_mix", "unknown")
SORTS = ("relevance", "newest", "bpm", "name", "duration")
_KEY = click.Choice(MUSICAL_KEYS)

# (option decorator, midi.search argument it feeds); one list so search, facets and saved searches agree
_FILTERS: list[tuple[Callable, str]] = [
    (click.option("--bpm-min", type=float, help="Tempo at least."), "bpm_min"),
    (click.option("--bpm-max", type=float, help="Tempo at most."), "bpm_max"),
    (click.option("--halfdouble", "bpm_halfdouble", is_flag=True, help="Also half and double tempo."), "bpm_halfdouble"),
    (click.option("--key", "keys", type=_KEY, multiple=True, help="Any of these keys (repeat)."), "keys"),
    (click.option("--compatible-key", type=_KEY, help="Keys that mix with this one (same, relative, fifths)."),
     "compatible_key"),
    (click.option("--manufacturer", multiple=True, help="Any of these manufacturers (repeat)."), "manufacturer"),
    (click.option("--collection", multiple=True, help="Any of these collections (repeat)."), "collection"),
    (click.option("--category", "categories", type=click.Choice(CATEGORIES), multiple=True,
                  help="Any of these categories (repeat)."), "categories"),
    (click.option("--tag", "tags_all", multiple=True, help="Has all of these tags (repeat)."), "tags_all"),
    (click.option("--any-tag", "tags_any", multiple=True, help="Has any of these tags (repeat)."), "tags_any"),
    (click.option("--time-signature", help="Meter, like 4/4 or 6/8."), "time_signature"),
    (click.option("--duration-min", type=float, help="Seconds, at least."), "duration_min"),
    (click.option("--duration-max", type=float, help="Seconds, at most."), "duration_max"),
    (click.option("--notes-min", type=int, help="Notes, at least."), "notes_min"),
    (click.option("--notes-max", type=int, help="Notes, at most."), "notes_max"),
    (click.option("--percussive/--melodic", "percussive", default=None, help="Drum parts only, or none."), "percussive"),
    (click.option("--favorites", "favorites_only", is_flag=True, help="Favorites only."), "favorites_only"),
    (click.option("--min-rating", type=click.IntRange(1, 5), help="Rated at least this many stars."), "min_rating"),
    (click.option("--fuzzy", is_flag=True, help="Match the words against file names by similarity (typos)."), "fuzzy"),
]
_FILTER_NAMES = ["q"] + [name for _, name in _FILTERS]


def search_filters(fn: Callable) -> Callable:
    """Add a QUERY argument and one option per midi.search filter."""
    for option, _ in reversed(_FILTERS):
        fn = option(fn)
    return click.argument("query", nargs=-1)(fn)


def _filter_params(kw: dict[str, Any]) -> dict[str, Any]:
    """Pop the filter options out of a command's kwargs as midi.search arguments (None when not given)."""
    params: dict[str, Any] = {"q": " ".join(kw.pop("query", ())) or None}
    for _, name in _FILTERS:
        v = kw.pop(name)
        params[name] = (list(v) or None) if isinstance(v, tuple) else v
    params["bpm_halfdouble"] = bool(params["bpm_halfdouble"])
    params["favorites_only"] = bool(params["favorites_only"])
    params["fuzzy"] = bool(params["fuzzy"])
    return params


def _rows(ctx: click.Context, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one named query (a call of a midi.* function) and return its rows as dicts; writes commit."""
    from psycopg.rows import dict_row

    with psycopg.connect(catalog_dsn(ctx), row_factory=dict_row) as conn:
        return conn.execute(queries[name], params).fetchall()


def _emit_page(rows: list[dict[str, Any]], lim: int, as_json: bool) -> None:
    """A page of search results, and the cursor of the next page when this one is full."""
    after = rows[-1]["cursor"] if rows and len(rows) >= lim else None
    if as_json:
        emit({"results": rows, "after": after}, True)
        return
    table = [dict(r, fav="*" if r["is_favorite"] else "") for r in rows]
    emit(table, False, columns=["id", "filename", "bpm", "key", "category", "manufacturer", "fav", "rank"])
    if after:
        click.echo(f"next page: --after '{after}'", err=True)


@cli.command("search")
@search_filters
@click.option("--sort", type=click.Choice(SORTS), help="Order (default: relevance with words, else newest).")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
@click.option("--count", "count_only", is_flag=True, help="Print how many files match instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def search_cmd(ctx: click.Context, sort: str | None, lim: int, after: str | None, count_only: bool, as_json: bool,
               **kw: Any) -> None:
    """Search the library: words of QUERY (web-search syntax: "phrase", -not, or) and any filters."""
    params = _filter_params(kw)
    if count_only:
        emit(_rows(ctx, "search_count", params)[0], as_json)
        return
    _emit_page(_rows(ctx, "search", {**params, "sort": sort, "lim": lim, "after": after}), lim, as_json)


@cli.command("show")
@click.argument("file_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def show_cmd(ctx: click.Context, file_id: int, as_json: bool) -> None:
    """Everything about one file: metadata, category, tags, instruments, rating and all its paths."""
    rows = _rows(ctx, "file_details", {"id": file_id})
    if not rows:
        raise Fatal(f"no file with id {file_id}")
    emit(rows[0], as_json)


@cli.command("facets")
@search_filters
@click.option("--limit", "facet_limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Values per facet.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def facets_cmd(ctx: click.Context, facet_limit: int, as_json: bool, **kw: Any) -> None:
    """Counts per manufacturer, collection, key, category, BPM bucket and tag under the filters."""
    emit(_rows(ctx, "facets", {**_filter_params(kw), "facet_limit": facet_limit}), as_json)


@cli.group("fav")
def fav() -> None:
    """Favorites."""


def _fav(name: str, key: str) -> Callable:
    @click.argument("file_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    @fatal_errors
    def command(ctx: click.Context, file_id: int, as_json: bool) -> None:
        emit({"file": file_id, key: _rows(ctx, name, {"id": file_id})[0][key]}, as_json)

    return command


fav.command("add", help="Mark a file as favorite (changed: false if it was one).")(_fav("favorite_add", "changed"))
fav.command("remove", help="Unmark a favorite (changed: false if it was not one).")(_fav("favorite_remove", "changed"))
fav.command("toggle", help="Flip a file's favorite mark; prints the new state.")(_fav("favorite_toggle", "favorite"))


@fav.command("list")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def fav_list(ctx: click.Context, lim: int, after: str | None, as_json: bool) -> None:
    """The favorites, newest first."""
    params = {name: None for name in _FILTER_NAMES} | {"bpm_halfdouble": False, "favorites_only": True, "fuzzy": False}
    _emit_page(_rows(ctx, "search", {**params, "sort": "newest", "lim": lim, "after": after}), lim, as_json)


@cli.command("rate")
@click.argument("file_id", type=int)
@click.argument("stars", type=click.IntRange(0, 5))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def rate_cmd(ctx: click.Context, file_id: int, stars: int, as_json: bool) -> None:
    """Rate a file 1..5 stars (0 clears the rating)."""
    emit({"file": file_id, "rating": _rows(ctx, "rate", {"id": file_id, "stars": stars})[0]["rating"]}, as_json)


@cli.group("tag")
def tag() -> None:
    """Tags: add, remove, rename, merge, list."""


@tag.command("add")
@click.argument("file_id", type=int)
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def tag_add(ctx: click.Context, file_id: int, names: tuple[str, ...], as_json: bool) -> None:
    """Attach tags to a file (tags are created as needed)."""
    emit({"file": file_id, "added": _rows(ctx, "tag", {"id": file_id, "names": list(names)})[0]["added"]}, as_json)


@tag.command("remove")
@click.argument("file_id", type=int)
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def tag_remove(ctx: click.Context, file_id: int, names: tuple[str, ...], as_json: bool) -> None:
    """Detach tags from a file."""
    emit({"file": file_id, "removed": _rows(ctx, "untag", {"id": file_id, "names": list(names)})[0]["removed"]}, as_json)


@tag.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def tag_rename(ctx: click.Context, old: str, new: str, as_json: bool) -> None:
    """Rename a tag everywhere."""
    emit({"renamed": old, "to": new, "tag_id": _rows(ctx, "tag_rename", {"old": old, "new": new})[0]["tag_id"]}, as_json)


@tag.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "target", required=True, help="The tag that remains.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def tag_merge(ctx: click.Context, sources: tuple[str, ...], target: str, as_json: bool) -> None:
    """Merge SOURCES into one tag; the source tags are deleted."""
    files = _rows(ctx, "tag_merge", {"sources": list(sources), "target": target})[0]["files"]
    emit({"merged": list(sources), "into": target, "files": files}, as_json)


@tag.command("list")
@click.option("--file", "file_id", type=int, help="Tags of this file (default: every tag with its count).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def tag_list(ctx: click.Context, file_id: int | None, as_json: bool) -> None:
    """List tags."""
    rows = _rows(ctx, "tag_list", {"id": file_id})
    emit(rows, as_json, columns=None if as_json else (["tag", "source"] if file_id else ["tag", "files"]))


@cli.group("saved")
def saved() -> None:
    """Saved searches: save, run, list, delete."""


@saved.command("save")
@click.argument("name")
@search_filters
@click.option("--sort", type=click.Choice(SORTS), help="Order to run it in.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def saved_save(ctx: click.Context, name: str, sort: str | None, as_json: bool, **kw: Any) -> None:
    """Save the given filters under NAME (replacing a search of that name)."""
    filters = {k: v for k, v in _filter_params(kw).items() if v not in (None, False)}
    if sort:
        filters["sort"] = sort
    sid = _rows(ctx, "saved_search_save", {"name": name, "filters": json.dumps(filters)})[0]["id"]
    emit({"saved": name, "id": sid, "filters": filters}, as_json)


@saved.command("run")
@click.argument("name")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def saved_run(ctx: click.Context, name: str, lim: int, after: str | None, as_json: bool) -> None:
    """Run a saved search."""
    _emit_page(_rows(ctx, "saved_search_run", {"name": name, "lim": lim, "after": after}), lim, as_json)


@saved.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def saved_list(ctx: click.Context, as_json: bool) -> None:
    """Every saved search with its filters."""
    emit(_rows(ctx, "saved_search_list", {}), as_json, columns=None if as_json else ["name", "filters"])


@saved.command("delete")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@fatal_errors
def saved_delete(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete a saved search."""
    if not _rows(ctx, "saved_search_delete", {"name": name})[0]["deleted"]:
        raise Fatal(f"no saved search named {name}")
    emit({"deleted": name}, as_json)


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
    from runner import analyzer

    bar = Progress("analyze")
    analysis = analyzer.run_analysis(dsn, progress=bar.update)
    bar.close()
    click.echo("\n== analyze", err=True)
    emit({k: v for k, v in analyzer.result_dict(analysis).items() if k != "error_classes"}, False)
    with connect.connect(t) as conn:
        for title, name in (("manufacturers", "demo_manufacturers"),
                            ("what file names say: keys", "demo_filename_keys"),
                            ("a question: C-minor bass loops, 120-128 BPM (midi.search)", "demo_question")):
            click.echo(f"\n== {title}", err=True)
            cur = conn.execute(queries[name])
            cols = [c.name for c in cur.description]
            emit([dict(zip(cols, row, strict=True)) for row in cur.fetchall()], False)


def main(argv: Iterable[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="midicenter")


if __name__ == "__main__":
    main()
