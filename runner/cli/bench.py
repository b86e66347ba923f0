"""The commands that measure: `midicenter bench import|search|analyze` and `midicenter profile`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.cli.common import cli, command, dsn_of, emit, target


@cli.group()
def bench() -> None:
    """Benchmarks on generated libraries with known truth (median of several runs)."""


@command(bench, "import")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Size of the generated library (generated once, cached).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is reported.")
@click.option("--seed", type=int, default=1, show_default=True, help="Library generator seed.")
@click.option("--baseline-files", type=click.IntRange(min=100), default=20_000, show_default=True,
              help="Files the seed documents' single-row method imports (it is slow).")
@click.option("--cold", is_flag=True, help="Evict the library's files from the page cache before each run, and "
              "measure the disk's random-read ceiling for them.")
def bench_import(ctx: click.Context, n_files: int, runs: int, seed: int, baseline_files: int, cold: bool,
                 as_json: bool) -> None:
    """Import a generated library into fresh databases; compare with the read+hash floor and the seed method;
    CPU per file of the server and of the import."""
    from runner.bench import importbench

    result = importbench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, baseline_files=baseline_files,
                             cold=cold, log=lambda s: click.echo(s, err=True))
    emit(result, as_json)


@command(bench, "search")
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


@command(bench, "analyze")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Size of the generated library (generated once, cached).")
@click.option("--songs", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of real songs (MIDI files, optional TRUTH.tsv); default: songs/ in the cache folder, "
                   "built by `make corpus`.")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is reported.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Parsing processes of the analyzer, and of the pretty_midi and symusic comparisons.")
@click.option("--seed", type=int, default=1, show_default=True, help="Library generator seed.")
@click.option("--cold", is_flag=True, help="Evict the corpus files from the page cache before each run, and "
              "measure the disk's random-read ceiling for them.")
def bench_analyze(ctx: click.Context, n_files: int, songs: Path | None, runs: int, workers: int, seed: int,
                  cold: bool, as_json: bool) -> None:
    """Analyze fresh copies of a generated library and of real songs; accuracy, pretty_midi and symusic rates;
    CPU per file of the server and of the runner's processes."""
    from runner.bench import analyzebench

    result = analyzebench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, songs=songs,
                              workers=workers, cold=cold, log=lambda s: click.echo(s, err=True))
    emit(result, as_json)


def _client_levels(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of client counts, e.g. 10,50,100") from None
    if not levels or any(n < 1 or n > 1000 for n in levels):
        raise click.BadParameter("each client count must be between 1 and 1000")
    return levels


@command(cli, "profile", json_help="Print the report as JSON (schema: runner/profile/schema.json).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@click.option("--load-test", is_flag=True, help="Also run concurrent clients on the search mix (local servers only).")
@click.option("--load-seconds", type=click.FloatRange(min=0.1, max=600), default=5.0, show_default=True,
              help="How long each load level runs.")
@click.option("--load-clients", default="10,50,100", show_default=True, callback=_client_levels,
              help="Client counts of the load levels.")
def profile_cmd(ctx: click.Context, as_json: bool, output: str | None, load_test: bool, load_seconds: float,
                load_clients: tuple[int, ...]) -> None:
    """Health report of the database, read only: statistics, the API calls explained, index problems,
    top statements, connections, settings for this machine, and (with --load-test) throughput."""
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
