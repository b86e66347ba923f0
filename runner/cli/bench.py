"""The commands that measure: `midicenter bench import|search|analyze|export` (the profile: runner/cli/profile.py)."""

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
@click.option("--protocol", type=click.Choice(["both", "prepared", "simple"]), default="both", show_default=True,
              help="Query protocol: prepared statements (extended protocol), simple (values in the query text, "
                   "as psql sends it), or both (each shape and the pgbench mix in each; the sort orders in the first).")
@click.option("--sort-repeat", type=click.IntRange(min=10), default=50, show_default=True,
              help="Queries per sort order, page size and page, per run.")
@click.option("--no-sorts", is_flag=True, help="Skip timing every sort order at 50 and 500 rows, pages 1 and 10.")
@click.option("--no-sqlite", is_flag=True, help="Skip the SQLite FTS5 copy of the catalog and its side-by-side times.")
@click.option("--keep", is_flag=True, help="Keep the filled database (its name is logged).")
def bench_search(ctx: click.Context, n_files: int, repeat: int, runs: int, clients: int, seconds: int,
                 no_seed_concurrency: bool, protocol: str, sort_repeat: int, no_sorts: bool, no_sqlite: bool,
                 keep: bool, as_json: bool) -> None:
    """Fill a fresh database with N files; time every search shape (each sort order, two page sizes), the seed
    query, an SQLite FTS5 copy of the catalog, and 10 clients."""
    from runner.bench import search as search_bench

    protocols = ("prepared", "simple") if protocol == "both" else (protocol,)
    result = search_bench.run(dsn_of(ctx), files=n_files, repeat=repeat, runs=runs, clients=clients,
                              seconds=seconds, seed_concurrency=not no_seed_concurrency, keep=keep,
                              protocols=protocols, sorts=not no_sorts, sort_repeat=sort_repeat, sqlite=not no_sqlite,
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


def _sizes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of file counts, e.g. 10000,100000") from None
    if any(n < 1 for n in sizes):
        raise click.BadParameter("each size must be at least 1")
    return sizes


@command(bench, "export")
@click.option("--files", "n_files", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Size of the generated library (generated once, cached); all of it is exported.")
@click.option("--sizes", default="10000", show_default=True, callback=_sizes,
              help="Smaller exports too (the first N files), to compare memory and rate with the whole.")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is reported.")
@click.option("--seed", type=int, default=1, show_default=True, help="Library generator seed.")
@click.option("--catalog-files", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also stream the catalog of a database filled in SQL with this many files (0: skip).")
def bench_export(ctx: click.Context, n_files: int, sizes: tuple[int, ...], runs: int, seed: int, catalog_files: int,
                 as_json: bool) -> None:
    """Export a generated library (copy, re-run, zip) at a few sizes; rate, peak RSS, hashes checked."""
    from runner.bench import exportbench

    result = exportbench.run(dsn_of(ctx), files=n_files, sizes=sizes, runs=runs, seed=seed,
                             catalog_files=catalog_files, log=lambda s: click.echo(s, err=True))
    if as_json:
        emit(result, True)
    else:
        click.echo(exportbench.format_table(result))
