"""Reads from a streaming replica: a primary and a hot standby made with pg_basebackup (tests/cluster.py).
Every read command works on the replica with a midi_reader login; every write command pointed at the
replica fails at once with one line naming the standby and what to use instead; --read-dsn /
MIDICENTER_READ_DSN send the reads of one configuration to the replica and its writes to the primary; the
materialized views the primary refreshes are what the replica serves once it has replayed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import conninfo

from runner import schema
from runner.cli import cli
from tests import cluster, corpus


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def ok(*args: str, env: dict[str, str] | None = None):
    out = run(*args, env=env)
    assert out.exit_code == 0, (args, out.output)
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A migrated primary with a reader and a writer login, and its streaming replica; their DSNs."""
    base = Path(tmp_path_factory.mktemp("replication"))
    primary = cluster.primary(base)
    servers = [primary]
    try:
        schema.migrate(primary.dsn())
        with psycopg.connect(primary.dsn(), autocommit=True) as conn:
            conn.execute("CREATE ROLE scale_reader LOGIN IN ROLE midi_reader")
            conn.execute("CREATE ROLE scale_writer LOGIN IN ROLE midi_writer")
        replica = cluster.replica(primary, base)
        servers.append(replica)
        yield {"admin": primary.dsn(), "replica_admin": replica.dsn(),
               "writer": primary.dsn(user="scale_writer"), "reader": primary.dsn(user="scale_reader"),
               "replica_writer": replica.dsn(user="scale_writer"), "replica_reader": replica.dsn(user="scale_reader")}
    finally:
        for s in reversed(servers):
            s.stop()


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    real = corpus.real_corpus()
    root = tmp_path_factory.mktemp("songs")
    for i, path in enumerate(sorted(real.rglob("*.mid"))[:12]):
        shutil.copy(path, root / f"{i:02d}_{path.name}")
    return root


@pytest.fixture(scope="module")
def library(pair: dict[str, str], songs: Path) -> dict[str, str]:
    """The songs imported and analyzed on the primary by the writer, a saved search and a favorite, replayed."""
    w = pair["writer"]
    ok("--dsn", w, "import", str(songs), "--quiet")
    ok("--dsn", w, "analyze", "--workers", "1", "--quiet")
    first = json.loads(ok("--dsn", w, "search", "--json").stdout)["results"][0]["id"]
    ok("--dsn", w, "saved", "save", "all-songs", "--bpm-min", "1")
    ok("--dsn", w, "fav", "add", str(first))
    ok("--dsn", w, "tag", "add", str(first), "replicated")
    cluster.wait_replayed(pair["admin"], pair["replica_admin"])
    return {**pair, "first": str(first)}


READS = [
    ["search", "--json"], ["search", "--count", "--json"], ["search", "--key", "C", "--sort", "bpm", "--json"],
    ["facets", "--json"], ["saved", "run", "all-songs", "--json"], ["saved", "list", "--json"], ["fav", "list", "--json"],
]


def test_every_read_command_works_on_the_replica_as_the_reader_and_answers_as_the_primary(library) -> None:
    first = library["first"]
    for args in [*READS, ["show", first, "--json"], ["tag", "list", "--file", first, "--json"], ["tag", "list", "--json"]]:
        on_replica = ok("--dsn", library["replica_reader"], *args)
        on_primary = ok("--dsn", library["reader"], *args)
        assert json.loads(on_replica.stdout) == json.loads(on_primary.stdout), args
    assert json.loads(ok("--dsn", library["replica_reader"], "search", "--count", "--json").stdout)["files"] == 12
    favs = json.loads(ok("--dsn", library["replica_reader"], "fav", "list", "--json").stdout)["results"]
    assert [str(r["id"]) for r in favs] == [first]
    report = json.loads(ok("--dsn", library["replica_reader"], "profile", "--json").stdout)
    assert report["summary"]["health_score"] is not None


WRITES = [
    ["import", "{songs}"], ["analyze", "--reanalyze"], ["fav", "add", "{first}"], ["rate", "{first}", "4"],
    ["tag", "add", "{first}", "x"], ["tag", "rename", "replicated", "y"], ["saved", "save", "s2", "--key", "C"],
    ["saved", "delete", "all-songs"], ["db", "migrate"], ["db", "rollback", "--yes"],
]


def test_every_write_command_on_the_replica_fails_at_once_in_one_line_naming_the_standby(library, songs) -> None:
    with psycopg.connect(library["admin"]) as conn:
        batches = conn.execute("SELECT count(*) FROM midi.import_batches").fetchone()[0]
    for template in WRITES:
        args = [a.format(songs=songs, first=library["first"]) for a in template]
        for who in ("replica_writer", "replica_admin"):
            out = run("--dsn", library[who], *args)
            assert out.exit_code == 1, (args, out.output)
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in out.output, (args, out.stderr)
            assert "read-only hot standby" in lines[0] and "--dsn" in lines[0] and "MIDICENTER_DSN" in lines[0], lines
            assert "cannot execute" not in lines[0]  # refused before any work, not by the server mid-way
    with psycopg.connect(library["admin"]) as conn:
        assert conn.execute("SELECT count(*) FROM midi.import_batches").fetchone()[0] == batches


def test_read_dsn_sends_reads_to_the_replica_and_writes_to_the_primary(library, songs: Path, tmp_path: Path) -> None:
    nowhere = conninfo.make_conninfo(host=str(tmp_path), port=cluster.free_port(), dbname="midicenter",
                                     user="scale_reader", connect_timeout=2)
    # reads go to the read DSN only: with --dsn pointing nowhere they still work
    for args in READS:
        ok("--dsn", nowhere, "--read-dsn", library["replica_reader"], *args)
        ok("--dsn", nowhere, *args, env={"MIDICENTER_READ_DSN": library["replica_reader"]})
    out = run("--dsn", nowhere, "--read-dsn", library["replica_reader"], "fav", "add", library["first"])
    assert out.exit_code == 1 and "Traceback" not in out.output  # a write does not go to the read DSN
    # one configuration for both: writes to the primary, reads from the replica, which shows them once replayed
    env = {"MIDICENTER_DSN": library["writer"], "MIDICENTER_READ_DSN": library["replica_reader"]}
    extra = tmp_path / "more"
    extra.mkdir()
    shutil.copy(next(songs.iterdir()), extra / "copy.mid")
    ok("import", str(extra), "--quiet", env=env)
    ok("saved", "save", "by-read-dsn", "--key", "C", env=env)
    cluster.wait_replayed(library["admin"], library["replica_admin"])
    names = [s["name"] for s in json.loads(ok("saved", "list", "--json", env=env).stdout)]
    assert "by-read-dsn" in names
    ok("saved", "delete", "by-read-dsn", env=env)
    report = json.loads(ok("--dsn", nowhere, "--read-dsn", library["replica_reader"], "profile", "--json").stdout)
    assert report["summary"]["health_score"] is not None


def test_the_replica_serves_the_views_the_primary_refreshed_once_it_has_replayed(library) -> None:
    """Facet counts come from materialized views refreshed on the primary at the end of an analysis: the
    replica answers with the primary's counts after replay (the lag: tests measure it, docs/scale.md says it)."""
    facets = ["facets", "--json"]
    before = json.loads(ok("--dsn", library["replica_reader"], *facets).stdout)
    with psycopg.connect(library["admin"]) as conn:
        conn.execute("UPDATE midi.musical_metadata SET bpm = 200 WHERE file_id = %s", [int(library["first"])])
        conn.execute("SELECT midi.refresh_views()")
    primary_now = json.loads(ok("--dsn", library["reader"], *facets).stdout)
    assert primary_now != before  # the change shows in the views (else this test proves nothing)
    lag = cluster.wait_replayed(library["admin"], library["replica_admin"])
    assert json.loads(ok("--dsn", library["replica_reader"], *facets).stdout) == primary_now
    assert lag < 30


def test_a_write_on_a_read_only_session_of_the_primary_fails_at_once_in_one_line(library, songs) -> None:
    read_only = conninfo.make_conninfo(library["writer"], options="-c default_transaction_read_only=on")
    out = run("--dsn", read_only, "import", str(songs))
    assert out.exit_code == 1, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only (default_transaction_read_only)" in lines[0], lines
    assert json.loads(ok("--dsn", read_only, "search", "--count", "--json").stdout)["files"] >= 12  # reads still work
