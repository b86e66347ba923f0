"""`midicenter profile`: the read-only health report, and its monitoring modes: --check (an exit status for
cron and Nagios-style monitors), --prometheus (metrics for node_exporter's textfile collector), --record
(the figures into the history table) and --history (the trend)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import click
import psycopg

from runner import connect
from runner.cli.common import Fatal, cli, command, dsn_of, read_dsn_of, read_target

_UNITS = {"": 1, "b": 1, "kb": 1024, "k": 1024, "mb": 1024 ** 2, "m": 1024 ** 2, "gb": 1024 ** 3, "g": 1024 ** 3,
          "tb": 1024 ** 4, "t": 1024 ** 4}


def _client_levels(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of client counts, e.g. 10,50,100") from None
    if not levels or any(n < 1 or n > 1000 for n in levels):
        raise click.BadParameter("each client count must be between 1 and 1000")
    return levels


def _memory(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise click.BadParameter("a size such as 32GB, 512MB or 8G")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def write_atomically(path: str, text: str) -> None:
    """Write a file whole or not at all (a collector reading it never sees half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".midicenter-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _emit(text: str, output: str | None, what: str, after: str = "") -> None:
    if output:
        write_atomically(output, text)
        click.echo(f"profile: {what} written to {output}{after}", err=True)
    else:
        click.echo(text, nl=False)


@command(cli, "profile", json_help="Print the report (or the checks, or the history) as JSON "
                                   "(schema: runner/profile/schema.json).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (atomically) instead of stdout.")
@click.option("--runs", type=click.IntRange(min=1, max=1000), default=20, show_default=True,
              help="Timed runs per API call and round, after 2 warm-up runs; the median of the rounds' p95 is "
                   "judged (below 20 runs: a spot check, the median).")
@click.option("--rounds", type=click.IntRange(min=1, max=20), default=3, show_default=True,
              help="Rounds of timed runs over all the calls in turn.")
@click.option("--server-memory", callback=_memory, default=None, metavar="SIZE",
              help="The database server's memory (e.g. 32GB) for the settings advice, when it is not this machine's.")
@click.option("--load-test", is_flag=True, help="Also run concurrent clients on the search mix (local servers only).")
@click.option("--load-seconds", type=click.FloatRange(min=0.1, max=600), default=5.0, show_default=True,
              help="How long each load level runs.")
@click.option("--load-clients", default="10,50,100", show_default=True, callback=_client_levels,
              help="Client counts of the load levels.")
@click.option("--check", is_flag=True,
              help="No report: one line per finding on stderr, a status line on stdout, exit 0 ok, 1 warning, "
                   "2 critical, 3 could not check.")
@click.option("--prometheus", is_flag=True, help="Print the figures as Prometheus metrics (text exposition format).")
@click.option("--record", is_flag=True,
              help="Store the report's figures in the history table (midi.profile_runs), as the writer role, "
                   "after the read-only report.")
@click.option("--keep-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="With --record: prune recorded runs older than this.")
@click.option("--history", "show_history", is_flag=True, help="Print the recorded runs' trend instead of a report.")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=30, show_default=True,
              help="With --history: how many recorded runs.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Thresholds file (TOML: [warning] and [critical] tables of NAME = number or \"off\").")
@click.option("--warning", "warning", multiple=True, metavar="NAME=VALUE", help="Warning threshold (repeatable).")
@click.option("--critical", "critical", multiple=True, metavar="NAME=VALUE", help="Critical threshold (repeatable).")
def profile_cmd(ctx: click.Context, output: str | None, runs: int, rounds: int, server_memory: int | None, load_test: bool,
                load_seconds: float, load_clients: tuple[int, ...], check: bool, prometheus: bool, record: bool,
                keep_days: int, show_history: bool, limit: int, config_path: str | None, warning: tuple[str, ...],
                critical: tuple[str, ...], as_json: bool) -> None:
    """Health report of the database, read only: statistics, the API calls timed, explained and judged
    against the search engine's own strategy, index problems from the schema's declarations, imports,
    top statements, connections, settings for the server, and (with --load-test) throughput."""
    from runner.profile import checks, history
    from runner.profile import markdown as profile_markdown
    from runner.profile import prometheus as metrics
    from runner.profile import report as profile

    modes = [name for name, on in (("--check", check), ("--prometheus", prometheus), ("--history", show_history)) if on]
    if len(modes) > 1:
        raise click.UsageError(f"{' and '.join(modes)} cannot be combined")
    if show_history and record:
        raise click.UsageError("--history only reads; --record belongs to a report run")
    if check and output:
        raise click.UsageError("--check prints its findings on stderr and its status on stdout: no --output")

    if show_history:
        data = history.trend(read_dsn_of(ctx), limit)
        _emit(json.dumps(data, indent=2, default=str) + "\n" if as_json else history.render(data), output, "history")
        return

    try:
        thresholds = checks.Thresholds()
        if config_path:
            thresholds.load(Path(config_path))
        thresholds.update("warning", warning, "--warning")
        thresholds.update("critical", critical, "--critical")
    except ValueError as exc:
        if check:
            _unknown(ctx, f"thresholds: {exc}", as_json)
        raise click.UsageError(str(exc)) from None

    def collect() -> dict:
        return profile.run(read_dsn_of(ctx), load_test=load_test, load_seconds=load_seconds, load_clients=load_clients,
                           target=read_target(ctx).describe(), runs=runs, rounds=rounds, seed=not (check or prometheus),
                           thresholds=thresholds, server_memory=server_memory,
                           log=None if check or prometheus else (lambda s: click.echo(s, err=True)))

    if check:
        try:
            report = collect()
        except (connect.ConnectError, psycopg.Error, RuntimeError, OSError) as exc:
            _unknown(ctx, _one_line(exc), as_json)
        results = [checks.Result(**r) for r in report["checks"]]
        if record:
            try:
                history.record(dsn_of(ctx), report, keep_days)
            except (connect.ConnectError, psycopg.Error) as exc:
                results.append(checks.Result("record", checks.UNKNOWN, None,
                                             [f"UNKNOWN record: the figures were not recorded: {_one_line(exc)}"]))
        _finish_check(ctx, results, report, as_json)

    if prometheus:
        try:
            report = collect()
        except (connect.ConnectError, psycopg.Error, RuntimeError) as exc:
            _emit(metrics.down(), output, "metrics")
            raise Fatal(f"profile: no report, metrics say down: {_one_line(exc)}") from None
        if record:
            history.record(dsn_of(ctx), report, keep_days)
        _emit(metrics.exposition(report), output, "metrics")
        return

    report = collect()
    if record:
        new_id = history.record(dsn_of(ctx), report, keep_days)
        click.echo(f"profile: figures recorded as run {new_id} (midi.profile_runs)", err=True)
    text = json.dumps(report, indent=2) + "\n" if as_json else profile_markdown.render(report)
    _emit(text, output, "report", f" (health {report['summary']['health_score']}/100)")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _unknown(ctx: click.Context, why: str, as_json: bool) -> None:
    from runner.profile import checks

    click.echo(f"UNKNOWN profile: {why}", err=True)
    if as_json:
        click.echo(json.dumps({"status": checks.UNKNOWN, "exit_status": 3, "reason": why, "checks": []}, indent=2))
    else:
        click.echo(f"MIDICENTER UNKNOWN - could not check: {why}")
    ctx.exit(3)


def _finish_check(ctx: click.Context, results: list, report: dict, as_json: bool) -> None:
    from runner.profile import checks

    for r in results:
        for line in r.lines:
            click.echo(line, err=True)
    status = checks.worst(r.status for r in results)
    code = checks.EXIT[status]
    if as_json:
        click.echo(json.dumps({"status": status, "exit_status": code, "health_score": report["summary"]["health_score"],
                               "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        counts = {s: sum(r.status == s for r in results) for s in (checks.CRITICAL, checks.WARNING, checks.UNKNOWN)}
        click.echo(f"MIDICENTER {status.upper()} - {counts['critical']} critical, {counts['warning']} warning, "
                   f"{counts['unknown']} unknown of {len(results)} checks; health {report['summary']['health_score']}/100")
    ctx.exit(code)
