"""The commands that measure: `midicenter bench import|search|analyze` (the profile: runner/cli/profile.py)."""

from __future__ import annotations

from pathlib import Path

import click

from runner.cli.common import cli, command, dsn_of, emit


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
def bench_import(ctx: click.Context, n_files: int, runs: int, seed: int, baseline_files: int, as_json: bool) -> None:
    """Import a generated library into fresh databases; compare with the read+hash floor and the seed method."""
    from runner.bench import importbench

    result = importbench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, baseline_files=baseline_files,
                             log=lambda s: click.echo(s, err=True))
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
def bench_analyze(ctx: click.Context, n_files: int, songs: Path | None, runs: int, workers: int, seed: int,
                  as_json: bool) -> None:
    """Analyze fresh copies of a generated library and of real songs; accuracy, pretty_midi and symusic rates."""
    from runner.bench import analyzebench

    result = analyzebench.run(dsn_of(ctx), files=n_files, runs=runs, seed=seed, songs=songs,
                              workers=workers, log=lambda s: click.echo(s, err=True))
    emit(result, as_json)
