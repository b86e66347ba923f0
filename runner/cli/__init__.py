"""The `midicenter` command: parse options, call one function, print a table or JSON.

``common`` holds the root group and the plumbing every command shares; each other module is one group of
commands: ``db`` (migrations, the embedded server, where the database is), ``catalog`` (import, analyze,
demo), ``search`` (search, show, facets, favorites, ratings, tags, saved searches), ``export`` (export,
split), ``browse`` (the local web page), ``bench`` (benchmarks) and ``profile`` (the health report and its
monitoring modes).
"""

from __future__ import annotations

from collections.abc import Iterable

from runner.cli import bench, browse, catalog, db, export, profile, search  # noqa: F401 - each registers its commands on `cli`
from runner.cli.common import cli

__all__ = ["cli", "main"]


def main(argv: Iterable[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="midicenter")
