"""Asking and marking the library: `midicenter search`, `show`, `facets`, `fav`, `rate`, `tag`, `saved`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from psycopg.types.json import Jsonb

from runner import filters
from runner.cli.common import Fatal, cli, command, emit, rows


def _emit_page(page: list[dict[str, Any]], lim: int, as_json: bool) -> None:
    """A page of search results, and the cursor of the next page when this one is full."""
    after = page[-1]["cursor"] if page and len(page) >= lim else None
    if as_json:
        emit({"results": page, "after": after}, True)
        return
    table = [dict(r, fav="*" if r["is_favorite"] else "") for r in page]
    emit(table, False, columns=["id", "filename", "bpm", "key", "category", "manufacturer", "fav", "rank"])
    if after:
        click.echo(f"next page: --after '{after}'", err=True)


@command(cli, "search")
@filters.options
@click.option("--sort", type=click.Choice(filters.SORTS), help="Order (default: relevance with words, else newest).")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
@click.option("--count", "count_only", is_flag=True, help="Print how many files match instead.")
def search_cmd(ctx: click.Context, sort: str | None, lim: int, after: str | None, count_only: bool, as_json: bool,
               **kw: Any) -> None:
    """Search the library: words of QUERY (web-search syntax: "phrase", -not, or) and any filters."""
    given = Jsonb(filters.from_options(kw))
    if count_only:
        emit(rows(ctx, "search_count", {"filters": given})[0], as_json)
        return
    _emit_page(rows(ctx, "search", {"filters": given, "sort": sort, "lim": lim, "after": after}), lim, as_json)


@command(cli, "show")
@click.argument("file_id", type=int)
def show_cmd(ctx: click.Context, file_id: int, as_json: bool) -> None:
    """Everything about one file: metadata, category, tags, instruments, rating and all its paths."""
    found = rows(ctx, "file_details", {"id": file_id})
    if not found:
        raise Fatal(f"no file with id {file_id}")
    emit(found[0], as_json)


@command(cli, "facets")
@filters.options
@click.option("--limit", "facet_limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Values per facet.")
def facets_cmd(ctx: click.Context, facet_limit: int, as_json: bool, **kw: Any) -> None:
    """Counts per manufacturer, collection, key, category, BPM bucket and tag under the filters."""
    emit(rows(ctx, "facets", {"filters": Jsonb(filters.from_options(kw)), "facet_limit": facet_limit}), as_json)


@cli.group("fav")
def fav() -> None:
    """Favorites."""


def _fav(name: str, key: str) -> Callable:
    @click.argument("file_id", type=int)
    def change(ctx: click.Context, file_id: int, as_json: bool) -> None:
        emit({"file": file_id, key: rows(ctx, name, {"id": file_id})[0][key]}, as_json)

    return change


command(fav, "add", help="Mark a file as favorite (changed: false if it was one).")(_fav("favorite_add", "changed"))
command(fav, "remove", help="Unmark a favorite (changed: false if it was not one).")(_fav("favorite_remove", "changed"))
command(fav, "toggle", help="Flip a file's favorite mark; prints the new state.")(_fav("favorite_toggle", "favorite"))


@command(fav, "list")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
def fav_list(ctx: click.Context, lim: int, after: str | None, as_json: bool) -> None:
    """The favorites, newest first."""
    given = Jsonb({"favorites_only": True})
    _emit_page(rows(ctx, "search", {"filters": given, "sort": "newest", "lim": lim, "after": after}), lim, as_json)


@command(cli, "rate")
@click.argument("file_id", type=int)
@click.argument("stars", type=click.IntRange(0, 5))
def rate_cmd(ctx: click.Context, file_id: int, stars: int, as_json: bool) -> None:
    """Rate a file 1..5 stars (0 clears the rating)."""
    emit({"file": file_id, "rating": rows(ctx, "rate", {"id": file_id, "stars": stars})[0]["rating"]}, as_json)


@cli.group("tag")
def tag() -> None:
    """Tags: add, remove, rename, merge, list."""


@command(tag, "add")
@click.argument("file_id", type=int)
@click.argument("names", nargs=-1, required=True)
def tag_add(ctx: click.Context, file_id: int, names: tuple[str, ...], as_json: bool) -> None:
    """Attach tags to a file (tags are created as needed)."""
    emit({"file": file_id, "added": rows(ctx, "tag", {"id": file_id, "names": list(names)})[0]["added"]}, as_json)


@command(tag, "remove")
@click.argument("file_id", type=int)
@click.argument("names", nargs=-1, required=True)
def tag_remove(ctx: click.Context, file_id: int, names: tuple[str, ...], as_json: bool) -> None:
    """Detach tags from a file."""
    emit({"file": file_id, "removed": rows(ctx, "untag", {"id": file_id, "names": list(names)})[0]["removed"]}, as_json)


@command(tag, "rename")
@click.argument("old")
@click.argument("new")
def tag_rename(ctx: click.Context, old: str, new: str, as_json: bool) -> None:
    """Rename a tag everywhere."""
    emit({"renamed": old, "to": new, "tag_id": rows(ctx, "tag_rename", {"old": old, "new": new})[0]["tag_id"]}, as_json)


@command(tag, "merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "target", required=True, help="The tag that remains.")
def tag_merge(ctx: click.Context, sources: tuple[str, ...], target: str, as_json: bool) -> None:
    """Merge SOURCES into one tag; the source tags are deleted."""
    files = rows(ctx, "tag_merge", {"sources": list(sources), "target": target})[0]["files"]
    emit({"merged": list(sources), "into": target, "files": files}, as_json)


@command(tag, "list")
@click.option("--file", "file_id", type=int, help="Tags of this file (default: every tag with its count).")
def tag_list(ctx: click.Context, file_id: int | None, as_json: bool) -> None:
    """List tags."""
    tags = rows(ctx, "tag_list", {"id": file_id})
    emit(tags, as_json, columns=None if as_json else (["tag", "source"] if file_id else ["tag", "files"]))


@cli.group("saved")
def saved() -> None:
    """Saved searches: save, run, list, delete."""


@command(saved, "save")
@click.argument("name")
@filters.options
@click.option("--sort", type=click.Choice(filters.SORTS), help="Order to run it in.")
def saved_save(ctx: click.Context, name: str, sort: str | None, as_json: bool, **kw: Any) -> None:
    """Save the given filters under NAME (replacing a search of that name)."""
    given = filters.from_options(kw)
    if sort:
        given["sort"] = sort
    sid = rows(ctx, "saved_search_save", {"name": name, "filters": Jsonb(given)})[0]["id"]
    emit({"saved": name, "id": sid, "filters": given}, as_json)


@command(saved, "run")
@click.argument("name")
@click.option("--limit", "lim", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--after", help="Cursor printed with the previous page.")
def saved_run(ctx: click.Context, name: str, lim: int, after: str | None, as_json: bool) -> None:
    """Run a saved search."""
    _emit_page(rows(ctx, "saved_search_run", {"name": name, "lim": lim, "after": after}), lim, as_json)


@command(saved, "list")
def saved_list(ctx: click.Context, as_json: bool) -> None:
    """Every saved search with its filters."""
    emit(rows(ctx, "saved_search_list", {}), as_json, columns=None if as_json else ["name", "filters"])


@command(saved, "delete")
@click.argument("name")
def saved_delete(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete a saved search."""
    if not rows(ctx, "saved_search_delete", {"name": name})[0]["deleted"]:
        raise Fatal(f"no saved search named {name}")
    emit({"deleted": name}, as_json)
