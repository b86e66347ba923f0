"""`midicenter browse`: serve the local web page over the SQL API until interrupted."""

from __future__ import annotations

import click

from runner.cli.common import Fatal, cli, command, target


@command(cli, "browse", json_help=None)
@click.option("--port", type=click.IntRange(0, 65535), default=6434, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default web browser.")
@click.option("--read-only", is_flag=True, help="No favorite or rating toggles, even for a role that may write.")
def browse_cmd(ctx: click.Context, port: int, open_page: bool, read_only: bool) -> None:
    """Browse and listen: a web page on 127.0.0.1 with search, facets, a piano roll and playback.

    Prints the page's address on stdout and serves until interrupted (Ctrl-C). The page reads as the
    midi_reader role and writes favorites and ratings as midi_writer when the database login may take
    those roles. When the database is down or has no midicenter schema, the page and this terminal say
    so, and the page tries again until it answers.
    """
    from runner.browse import library, server

    lib = library.Library(target(ctx), read_only=read_only)
    try:
        srv = server.BrowseServer(port, lib)
    except server.PortInUse as exc:
        raise Fatal(str(exc)) from None
    click.echo(srv.url)
    try:
        click.echo(f"midicenter browse: database {lib.session().describe()}", err=True)
    except library.Unavailable as exc:
        srv.reporter.say(str(exc))
        click.echo("midicenter browse: serving anyway: the page says so too, and tries again", err=True)
    click.echo("midicenter browse: Ctrl-C stops it", err=True)
    if open_page:
        import webbrowser

        webbrowser.open(srv.url)
    server.serve(srv)
