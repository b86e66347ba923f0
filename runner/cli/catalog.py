"""Filling the catalog: `midicenter import`, `analyze`, and `demo` (a generated library imported and asked)."""

from __future__ import annotations

import click

from runner import connect, schema
from runner.cli.common import catalog_dsn, cli, command, emit, progress_bar, target, writable_dsn
from runner.queries import queries


@command(cli, "import", json_help="Print the summary as JSON.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("--prune", is_flag=True, help="Mark paths under these roots that were not seen this time as missing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it is drawn only on a terminal anyway).")
def import_cmd(ctx: click.Context, paths: tuple[str, ...], prune: bool, as_json: bool, quiet: bool) -> None:
    """Register every MIDI file under PATHS (folders, files, .zip archives).

    One files row per distinct content, one file_paths row per location, one import_errors row per
    file that could not be taken. Exit 0 when the run completed, also when some files were rejected.
    """
    from runner import importer

    dsn = catalog_dsn(ctx)
    with progress_bar("import", quiet) as bar:
        result = importer.run_import(dsn, paths, prune=prune, **bar.import_callbacks())
    if result.not_pruned:
        click.echo(f"--prune: nothing marked missing under {len(result.not_pruned)} path(s) that could not be read: "
                   + ", ".join(result.not_pruned[:5]) + (" ..." if len(result.not_pruned) > 5 else ""), err=True)
    emit(importer.result_dict(result), as_json)


def _memory(value: str) -> int:
    from runner.workers import parse_memory

    try:
        return parse_memory(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _path_map(values: tuple[str, ...]):
    from runner.pathmap import parse_map

    try:
        return parse_map(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@command(cli, "analyze", json_help="Print the summary as JSON.")
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
@click.option("--path-map", "path_map", multiple=True, metavar="FROM=TO",
              callback=lambda _c, _p, v: _path_map(v),
              help="Read stored paths under FROM at TO on this machine (a library mounted elsewhere, e.g. "
                   "/mnt/nas=/Volumes/nas); repeatable, the longest FROM wins.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it is drawn only on a terminal anyway).")
def analyze_cmd(ctx: click.Context, reanalyze: bool, limit: int | None, workers: int | None, batch_size: int,
                worker_memory: int | None, max_attempts: int | None, path_map, as_json: bool, quiet: bool) -> None:
    """Parse every file that needs analysis and store its musical facts, key, category and tags.

    Files never analyzed, or analyzed by an older analyzer, are claimed in batches that several
    `midicenter analyze` processes share without overlap. Files that cannot be analyzed are listed in
    midi.analysis_errors with a stable class; the run goes on and exits 0. Files this runner cannot reach
    (their folder does not exist here) are counted as `unreachable` and left for a runner that can.
    """
    from runner import analyzer

    dsn = catalog_dsn(ctx)
    with progress_bar("analyze", quiet) as bar:
        result = analyzer.run_analysis(dsn, workers=workers, limit=limit, reanalyze=reanalyze,
                                       batch_files=batch_size, worker_memory=worker_memory,
                                       max_attempts=max_attempts, path_map=path_map, **bar.analyze_callbacks())
    if result.unreachable:
        click.echo(f"{result.unreachable} file(s) not reachable from this runner were left for a runner that can "
                   "reach them (--path-map FROM=TO reads a library mounted elsewhere)", err=True)
    data = analyzer.result_dict(result)
    if not as_json:
        data["error_classes"] = ", ".join(f"{k}={v}" for k, v in data["error_classes"].items()) or "-"
    emit(data, as_json)


@command(cli, "demo", json_help=None)
@click.option("--files", "n_files", type=click.IntRange(min=100), default=5_000, show_default=True,
              envvar="MIDICENTER_DEMO_FILES", help="Size of the generated demo library.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it is drawn only on a terminal anyway).")
def demo(ctx: click.Context, n_files: int, quiet: bool) -> None:
    """Set up the database (embedded unless a DSN is configured), generate a sample-pack library,
    import it, and show what the catalog now answers."""
    from runner import importer
    from runner.bench import library
    from runner.bench.cache import libs_dir

    t = target(ctx)
    click.echo(f"database: {t.describe()}", err=True)
    dsn = writable_dsn(ctx)
    applied = schema.migrate(dsn)
    click.echo(f"migrations applied now: {', '.join(applied) or 'none (already up to date)'}", err=True)
    click.echo(f"generating a {n_files:,}-file sample-pack library (cached) ...", err=True)
    lib = library.generate(libs_dir(), n_files, seed=42)
    click.echo(f"importing {lib} ...", err=True)
    with progress_bar("import", quiet) as bar:
        result = importer.run_import(dsn, [lib], **bar.import_callbacks())
    click.echo("\n== import", err=True)
    emit(importer.result_dict(result), False)
    from runner import analyzer

    with progress_bar("analyze", quiet) as bar:
        analysis = analyzer.run_analysis(dsn, **bar.analyze_callbacks())
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
