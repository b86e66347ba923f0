"""Getting files out: `midicenter export` (what a search finds, to a folder or a zip; or the catalog as a
table) and `midicenter split` (a song's tracks as files of their own)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import psycopg

from runner import filters
from runner.cli.common import Fatal, catalog_dsn, cli, command, emit, progress_bar
from runner.queries import queries


def _ids(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[int] | None:
    """--ids 3,8,42, or --ids @FILE: the ids in a file (any white space or commas between them)."""
    if value is None:
        return None
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror or exc}") from None
    try:
        ids = [int(x) for x in value.replace(",", " ").split()]
    except ValueError:
        raise click.BadParameter("a list of file ids, like 3,8,42 (or @FILE of ids)") from None
    if not ids:
        raise click.BadParameter("a list of file ids, like 3,8,42 (or @FILE of ids)")
    return ids


def _check_template(dsn: str, template: str | None) -> None:
    """An unknown field or a stray brace in --rename is a usage error (exit 2), said before anything runs."""
    if template is None:
        return
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute(queries["export_template"], {"template": template})
        except psycopg.errors.InvalidParameterValue as exc:
            raise click.BadParameter(exc.diag.message_primary or str(exc), param_hint="'--rename'") from None


@command(cli, "export", json_help="Print the summary as JSON.")
@filters.options
@click.option("--to", "dest", type=click.Path(path_type=Path),
              help="Folder to write the files to (made if needed). With --catalog: the file to write (default: stdout).")
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one zip archive instead of a folder.")
@click.option("--saved", help="What this saved search finds (filters given here are laid over it).")
@click.option("--ids", callback=_ids, help="Only these file ids (comma-separated, or @FILE of ids).")
@click.option("--rename", "template",
              help="Name files by a template of midi.file_details fields, e.g. '{bpm}_{key}_{category}_{name}' "
                   "(a missing value drops its field and separator; see docs/export.md).")
@click.option("--keep-tree", is_flag=True, help="Put files in manufacturer/collection folders (default: one folder).")
@click.option("--link", is_flag=True, help="Hard-link each file (else symlink) instead of copying, where the file "
                                           "system allows; zip members are always copied.")
@click.option("--inside-library", is_flag=True, help="Allow a destination inside an imported folder.")
@click.option("--catalog", is_flag=True, help="Write the catalog instead: one row per file with its facts and paths.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
              help="Format of --catalog.")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Files read, checked and written at once (more can help on a slow or network disk; on a "
                   "local one, one is fastest).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it is drawn only on a terminal anyway).")
def export_cmd(ctx: click.Context, dest: Path | None, zip_path: Path | None, saved: str | None, ids: list[int] | None,
               template: str | None, keep_tree: bool, link: bool, inside_library: bool, catalog: bool, fmt: str,
               threads: int, quiet: bool, as_json: bool, **kw: Any) -> None:
    """Write the files a search finds (QUERY words and filters, --saved, --ids; all files when none is
    given) to a folder (--to) or a zip archive (--zip), each checked against its BLAKE3 hash, with a
    manifest.csv. Files already there with the same content are skipped. With --catalog, write the
    catalog as CSV or JSON lines instead.

    Exit 0 when the export ran, also when some files could not be had (they are counted and listed in
    the manifest); 1 when the destination cannot be written."""
    from runner import export
    from runner.catalog import export_catalog

    given = filters.from_options(kw)
    if catalog:
        if zip_path or template or keep_tree or link:
            raise click.UsageError("--catalog writes a table: --zip, --rename, --keep-tree and --link do not apply")
        dsn = catalog_dsn(ctx, write=False)
        out = dest if dest is not None else sys.stdout.buffer
        result = export_catalog(dsn, out, fmt=fmt, filters=given, ids=ids, saved=saved)
        data = export.result_dict(result)
        if dest is None:
            if not quiet:
                click.echo(f"catalog: {result.rows:,} rows, {result.bytes:,} bytes in {result.seconds} s", err=True)
        else:
            emit(data, as_json)
        return
    if (dest is None) == (zip_path is None):
        raise click.UsageError("say where to: --to FOLDER or --zip FILE.zip (one of them)")
    if zip_path is not None and link:
        raise click.UsageError("--link makes links in a folder; a zip archive holds copies")
    dsn = catalog_dsn(ctx, write=False)
    _check_template(dsn, template)
    options = export.ExportOptions(ids=ids, saved=saved, template=template, keep_tree=keep_tree, link=link,
                                   zip=zip_path is not None, inside_library=inside_library, threads=threads)
    with progress_bar("export", quiet) as bar:
        result = export.export(dsn, given, zip_path or dest, options, bar if bar.enabled else None)
    data = export.result_dict(result)
    if not as_json:
        data["error_classes"] = ", ".join(f"{k}={v}" for k, v in data["error_classes"].items()) or "-"
        first = data.pop("first_errors")
        if data["zip_unchanged"] is None:
            del data["zip_unchanged"]
        emit(data, False)
        for e in first:
            click.echo(f"{e['error_class']}: {e['dest']} (id {e['id']}): {e['message']}", err=True)
        return
    emit(data, True)


@command(cli, "split", json_help="Print the parts as JSON.")
@click.argument("file_id", type=int)
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the parts to (made if needed).")
@click.option("--import", "do_import", is_flag=True,
              help="Also register the parts as files (their parent and track number) and analyze them.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it is drawn only on a terminal anyway).")
def split_cmd(ctx: click.Context, file_id: int, dest: Path, do_import: bool, quiet: bool, as_json: bool) -> None:
    """Write one MIDI file per track of a song (per channel of a format 0 file), each with the song's
    tempo, time signature and key, so every part plays in time. Splitting again gives the same bytes."""
    from runner import split

    dsn = catalog_dsn(ctx, write=do_import)
    try:
        result = split.split_file(dsn, file_id, dest, do_import=do_import, quiet=quiet)
    except split.SplitError as exc:
        raise Fatal(str(exc)) from None
    if as_json:
        emit(result, True)
        return
    emit(result["parts"], False, columns=["track", "channel", "notes", "name", "status", "file_id"])
    if result.get("analysis"):
        click.echo(f"analyzed: {result['analysis']['analyzed']} files, {result['analysis']['errors']} errors", err=True)
