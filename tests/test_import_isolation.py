"""One file never stops an import (issue 11, items 1-3), end to end through the real CLI and PostgreSQL:
whatever one file's row trips in the database becomes that file's error row and the rest of its chunk is
merged; paths of any length are stored and looked up through indexes; FIFOs, sockets and devices named
like MIDI files or zips are error rows at once, never opened for reading."""

from __future__ import annotations

import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner import importer, midifile, scan
from tests import corpus

RUN_TIMEOUT = 120


@pytest.fixture(scope="module")
def real() -> Path:
    return corpus.real_corpus()


def real_files(real: Path, n: int) -> list[bytes]:
    """n distinct MIDI files: the real corpus (small files first), then copies of it made distinct by
    trailing zero bytes (a readable file with the warning trailing_padding)."""
    paths = sorted((p for p in real.rglob("*") if p.suffix.lower() in (".mid", ".midi", ".kar")),
                   key=lambda p: (p.stat().st_size, str(p)))
    pool = list(dict.fromkeys(d for d in (p.read_bytes() for p in paths) if d[:4] == b"MThd"))
    assert pool, "no real MIDI file"
    return [pool[i % len(pool)] + b"\0" * (i // len(pool)) for i in range(n)]


def smpte(data: bytes, fps_byte: int, ticks: int) -> bytes:
    """`data` with its division replaced by an SMPTE division: frame-rate byte and ticks per frame."""
    return data[:12] + bytes([fps_byte, ticks]) + data[14:]


def many_tracks(n: int) -> bytes:
    """A format 1 file of n empty tracks (each only its end-of-track event)."""
    track = b"MTrk" + struct.pack(">I", 4) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 1, min(n, 0xFFFF), 96) + track * n


def cli(dsn: str, *args: str | bytes, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """The real `midicenter` command, as a user runs it (argv may hold bytes: non-UTF-8 paths)."""
    return subprocess.run([sys.executable.encode(), b"-m", b"runner.cli", b"--dsn", dsn.encode(),
                           *(a if isinstance(a, bytes) else a.encode() for a in args)],
                          capture_output=True, timeout=timeout, check=False)


def rows(dsn: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


def located(dsn: str) -> dict[bytes, tuple[str, str | None]]:
    """Every stored location by its exact bytes: ('ok', None) or ('error', class). A location in both
    tables, or twice in one, fails the test."""
    out: dict[bytes, tuple[str, str | None]] = {}
    for path, raw, table, cls in rows(
            dsn, "SELECT path, path_bytes, 'ok', NULL FROM midi.file_paths UNION ALL "
                 "SELECT path, path_bytes, 'error', error_class FROM midi.import_errors"):
        key = bytes(raw) if raw is not None else path.encode()
        assert key not in out, f"{key!r} stored twice"
        out[key] = (table, cls)
    return out


def batches(dsn: str) -> list[str]:
    return [r[0] for r in rows(dsn, "SELECT status FROM midi.import_batches ORDER BY id")]


# ------------------------------------------------------------------------------------------ item 1


def test_smpte_rate_the_table_refuses_is_that_files_error_row(dsn: str, tmp_path: Path, real: Path) -> None:
    """The reported failure: a file whose SMPTE frame rate the structural reader accepts (warning
    unusual_smpte_rate) but files refuses took down its chunk, every later file and the batch. Now it is
    one `rejected` row; every other file of the chunk is merged, the batch is done, the run exits 0."""
    lib = tmp_path / "lib"
    lib.mkdir()
    good = real_files(real, 40)
    for i, data in enumerate(good):
        (lib / f"song_{i:02}.mid").write_bytes(data)
    odd = smpte(good[0], 0x100 - 20, 40)  # 20 frames per second
    assert "unusual_smpte_rate" in midifile.inspect(odd).warnings  # the reader accepts it
    (lib / "m_smpte_20fps.mid").write_bytes(odd)
    fine = smpte(good[1], 0x100 - 25, 40)
    (lib / "m_smpte_25fps.mid").write_bytes(fine)

    proc = cli(dsn, "import", str(lib))
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    got = located(dsn)
    assert got[str(lib / "m_smpte_20fps.mid").encode()] == ("error", "rejected")
    assert got[str(lib / "m_smpte_25fps.mid").encode()] == ("ok", None)
    assert sum(1 for v in got.values() if v == ("ok", None)) == len(good) + 1
    (message,) = rows(dsn, "SELECT message FROM midi.import_errors")[0]
    assert "files_smpte_fps_check" in message and "smpte_fps = 20" in message
    assert batches(dsn) == ["done"]


def test_every_smpte_division_is_stored_or_rejected(dsn: str, tmp_path: Path, real: Path) -> None:
    """All 128 frame-rate bytes (and 0 ticks per frame) in one chunk: the rates files holds are stored,
    every other one is its own error row (bad_header from the reader, rejected from the table)."""
    base = real_files(real, 1)[0]
    lib = tmp_path / "smpte"
    lib.mkdir()
    for fps_byte in range(0x80, 0x100):
        for ticks in (0, 1, 80, 255):
            (lib / f"r{fps_byte:02x}_{ticks}.mid").write_bytes(smpte(base, fps_byte, ticks))
    result = importer.run_import(dsn, [lib])
    assert result.files_seen == 128 * 4
    got = located(dsn)
    assert len(got) == 128 * 4
    for fps_byte in range(0x80, 0x100):
        fps = 0x100 - fps_byte
        for ticks in (0, 1, 80, 255):
            where = got[str(lib / f"r{fps_byte:02x}_{ticks}.mid").encode()]
            if ticks == 0:
                assert where == ("error", "bad_header")
            elif fps in (24, 25, 29, 30):
                assert where == ("ok", None)
            else:
                assert where == ("error", "rejected"), (fps, ticks, where)
    assert batches(dsn) == ["done"]


def test_track_count_beyond_smallint_is_rejected_not_clamped(dsn: str, tmp_path: Path, real: Path) -> None:
    """files.num_tracks is smallint: 40,000 tracks used to be stored as 32,767 (a made-up number)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "many.mid").write_bytes(many_tracks(40_000))
    (lib / "few.mid").write_bytes(many_tracks(3))
    importer.run_import(dsn, [lib])
    assert located(dsn)[str(lib / "many.mid").encode()] == ("error", "rejected")
    assert rows(dsn, "SELECT message FROM midi.import_errors")[0][0].endswith(
        "value out of range for type smallint (num_tracks = 40000)")
    assert rows(dsn, "SELECT num_tracks FROM midi.files") == [(3,)]


def test_import_refusals_cover_every_constraint_on_staged_columns(dsn: str) -> None:
    """The reader and the schema agree by construction: the refusal tests are read from the catalog, so a
    new CHECK on a staged column is refused before insert without a code change."""
    tests = {r[0] for r in rows(dsn, "SELECT test FROM midi.import_refusals()")}
    assert {"files_smpte_fps_check", "files_format_check", "num_tracks_range", "content_hash_not_null"} <= tests
    with psycopg.connect(dsn) as conn:
        conn.execute("ALTER TABLE midi.files ADD CONSTRAINT files_tpq_even CHECK (ticks_per_quarter_note % 2 = 0)")
        conn.commit()
    assert "files_tpq_even" in {r[0] for r in rows(dsn, "SELECT test FROM midi.import_refusals()")}


def test_a_fault_no_check_foresaw_costs_one_file(dsn: str, tmp_path: Path, real: Path) -> None:
    """The safety net: faults that import_refusals cannot know (a constraint on a column the merge
    computes, an index entry too large for a btree, a constraint COPY itself trips) are isolated by
    splitting the chunk; each faulty file gets the server's message, the rest of the chunk is merged."""
    lib = tmp_path / "lib"
    lib.mkdir()
    good = real_files(real, 60)
    rnd = random.Random(5)
    for i, data in enumerate(good[:57]):
        (lib / f"file_{i:02}.mid").write_bytes(data)
    (lib / "poison_name.mid").write_bytes(good[57])
    long_name = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(3000)) + ".mid"
    with zipfile.ZipFile(lib / "z.zip", "w") as z:
        z.writestr(long_name, good[58])
    (lib / "copy_fault.mid").write_bytes(good[59])
    from blake3 import blake3

    digest = blake3(good[59]).digest()  # COPY refuses this file's staging row
    with psycopg.connect(dsn) as conn:
        conn.execute("ALTER TABLE midi.files ADD CONSTRAINT t_poison CHECK (filename !~ 'poison')")
        conn.execute("CREATE INDEX t_full_name ON midi.files (original_filename)")
        conn.execute(f"ALTER TABLE midi.import_staging ADD CONSTRAINT t_copy CHECK (content_hash <> '\\x{digest.hex()}')")
        conn.commit()
    result = importer.run_import(dsn, [lib], rows_per_chunk=10_000, sessions=1)  # one chunk for all
    assert result.files_seen == 60 and result.errors == 3
    got = located(dsn)
    assert sum(1 for v in got.values() if v == ("ok", None)) == 57
    messages = dict(rows(dsn, "SELECT path, message FROM midi.import_errors WHERE error_class = 'rejected'"))
    assert "t_poison" in messages[str(lib / "poison_name.mid")]
    assert "index row size" in messages[f"{lib}/z.zip!{long_name}"]
    assert "t_copy" in messages[str(lib / "copy_fault.mid")]
    assert batches(dsn) == ["done"]


def test_a_runner_bug_on_one_file_is_that_files_row(dsn: str, tmp_path: Path, real: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's own net: an exception the reader or the walk was not written for (injected here:
    a bug cannot be produced on purpose) is that file's internal_error row, and the run goes on."""
    lib = tmp_path / "lib"
    lib.mkdir()
    good = real_files(real, 4)
    (lib / "a.mid").write_bytes(good[0])
    (lib / "b_bug.mid").write_bytes(good[1])
    with zipfile.ZipFile(lib / "c.zip", "w") as z:
        z.writestr("in/bug_member.mid", good[2])
        z.writestr("in/fine.mid", good[3])
    real_inspect, real_member = midifile.inspect, scan.read_member

    def inspect(data: bytes) -> midifile.MidiInfo:
        if data == good[1]:
            raise IndexError("injected")
        return real_inspect(data)

    def read_member(zf, info, disp, *args):
        if "bug_member" in info.filename:
            raise KeyError("injected")
        return real_member(zf, info, disp, *args)

    monkeypatch.setattr(midifile, "inspect", inspect)
    monkeypatch.setattr(scan, "read_member", read_member)
    result = importer.run_import(dsn, [lib])
    assert result.files_seen == 4
    got = located(dsn)
    assert got[str(lib / "b_bug.mid").encode()] == ("error", "internal_error")
    assert got[f"{lib}/c.zip!in/bug_member.mid".encode()] == ("error", "internal_error")
    assert got[str(lib / "a.mid").encode()] == got[f"{lib}/c.zip!in/fine.mid".encode()] == ("ok", None)


def test_a_root_that_is_not_utf8_on_the_command_line(dsn: str, tmp_path: Path, real: Path) -> None:
    """argv holds bytes: a root named in Latin-1 used to crash the run when the batch's roots were sent."""
    root = os.fsencode(tmp_path) + b"/caf\xe9"
    os.makedirs(root)
    with open(root + b"/x.mid", "wb") as f:
        f.write(real_files(real, 1)[0])
    proc = cli(dsn, "import", root)
    assert proc.returncode == 0, proc.stderr.decode()
    assert located(dsn) == {root + b"/x.mid": ("ok", None)}
    assert rows(dsn, "SELECT roots FROM midi.import_batches") == [([f"{tmp_path}/caf\ufffd"],)]
    proc = cli(dsn, "import", "--prune", root)  # the stored root still finds its paths
    assert proc.returncode == 0, proc.stderr.decode()
    assert rows(dsn, "SELECT count(*) FROM midi.file_paths WHERE missing_since IS NULL") == [(1,)]


# ------------------------------------------------------------------------------------------ item 2


def _name(rnd: random.Random, nbytes: int) -> str:
    """An incompressible ASCII file name of nbytes (a compressible one could slip under the btree limit)."""
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-") for _ in range(nbytes))


def long_dir(base: bytes, total: int, rnd: random.Random, bad: bool = False) -> bytes:
    """A directory under base whose absolute path is `total` bytes long (with a name of up to 200
    bytes still to come), built from names of up to 250 bytes; with bad, every name holds a Latin-1 byte."""
    path = base
    while len(path) < total - 200 - 251:
        path += b"/" + (b"\xe9" if bad else b"") + _name(rnd, 249 if bad else 250).encode()
    rest = total - 200 - len(path) - 1
    if rest > 0:
        path += b"/" + (b"\xe9" if bad else b"") + _name(rnd, rest - (1 if bad else 0)).encode()
    os.makedirs(path)
    return path


def test_paths_of_any_length_and_depth_import_and_analyze(dsn: str, tmp_path: Path, real: Path) -> None:
    """A 3,000-byte path, a 4,000-byte non-UTF-8 path and zip members with 3,000-character names (in
    multi-byte characters, and as folder names inside the zip) all import, analyze and re-import as a
    no-op; the labels derived from them (file name, collection, folder words) are cut to 255 bytes."""
    rnd = random.Random(11)
    good = real_files(real, 6)
    base = os.fsencode(tmp_path)
    d3 = long_dir(base, 3000, rnd)
    p3 = d3 + b"/" + _name(rnd, 3000 - len(d3) - 5).encode() + b".mid"
    assert len(p3) == 3000
    d4 = long_dir(base, 4000, rnd, bad=True)
    p4 = d4 + b"/\xff" + _name(rnd, 4000 - len(d4) - 6).encode() + b".mid"
    assert len(p4) == 4000
    for p, data in ((p3, good[0]), (p4, good[1])):
        with open(p, "wb") as f:
            f.write(data)
    wide = "".join(rnd.choice("音楽ファイル低音鼓弦") for _ in range(2996)) + ".mid"  # 3,000 chars, ~9 kB
    folder = "/".join(_name(rnd, 3000) for _ in range(3)) + "/x.mid"
    with zipfile.ZipFile(tmp_path / "long.zip", "w") as z:
        z.writestr(wide, good[2])
        z.writestr(folder, good[3])
    roots = [p3, p4, os.fsencode(tmp_path / "long.zip")]

    for args in (("import", *roots), ("analyze",), ("import", "--prune", *roots), ("analyze",)):
        proc = cli(dsn, *args)
        assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()
        if args[0] == "analyze":
            assert rows(dsn, "SELECT count(*) FROM midi.files f WHERE NOT EXISTS "
                             "(SELECT 1 FROM midi.musical_metadata m WHERE m.file_id = f.id) AND NOT EXISTS "
                             "(SELECT 1 FROM midi.analysis_errors e WHERE e.file_id = f.id)") == [(0,)]
    got = located(dsn)
    want = {p3, p4, f"{tmp_path}/long.zip!{wide}".encode(), f"{tmp_path}/long.zip!{folder}".encode()}
    assert got == {k: ("ok", None) for k in want}
    assert rows(dsn, "SELECT count(*) FROM midi.file_paths WHERE missing_since IS NULL") == [(4,)]
    assert rows(dsn, "SELECT count(*) FROM midi.musical_metadata") == [(4,)]
    labels = rows(dsn, "SELECT filename, original_filename, collection_name, folder_tags FROM midi.files")
    for filename, original, collection, tags in labels:
        assert len(filename.encode()) <= 255 and original.startswith(filename.rstrip("…"))
        assert all(len(t.encode()) <= 255 for t in [collection or "", *tags])
    assert {o for _, o, _, _ in labels} >= {wide, "x.mid"}
    assert any(f.endswith("…") for f, _, _, _ in labels)
    with psycopg.connect(dsn) as conn:  # the library views refresh with the long labels in them
        conn.execute("SELECT midi.refresh_views()")


def test_a_path_of_thousands_of_folders_parses_in_linear_time(dsn: str) -> None:
    """A zip member name can hold 65,535 bytes: thousands of folders. parse_folder used to check each folder
    word against every word before it (20,000 folders: about 7 s per distinct folder in one import)."""
    import time

    folder = "Maker/Pack/" + "/".join(f"Deep{i} Loops" for i in range(20_000)) + "/"
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        manufacturer, collection, tags = conn.execute("SELECT * FROM midi.parse_folder(%s)", [folder]).fetchone()
        assert time.perf_counter() - started < 2
    assert (manufacturer, collection) == ("Maker", "Pack")
    assert tags == ["deep0", "loops", *(f"deep{i}" for i in range(1, 20_000))]
    with psycopg.connect(dsn) as conn:  # the same words, in the same order, below and above 1 kB
        inner = "/".join(f"Ab{i % 7}_Cd{i % 5}" for i in range(60)) + "/"
        short, long = "A/B/" + inner, "A/B/" + inner * 4
        tags = [conn.execute("SELECT folder_tags FROM midi.parse_folder(%s)", [d]).fetchone()[0] for d in (short, long)]
    assert len(short) < 1024 < len(long)
    assert tags[0] == tags[1] == ["ab0", "cd0", "ab1", "cd1", "ab2", "cd2", "ab3", "cd3", "ab4", "cd4", "ab5", "ab6"]


@pytest.fixture
def big_catalog(dsn: str) -> str:
    """A catalog of 60,000 paths under 300 folders (enough that reading a whole table costs more than
    an index probe) with 3,000 error rows, planner statistics current."""
    with psycopg.connect(dsn) as conn:
        conn.execute("""
            INSERT INTO midi.files (id, filename, filepath, content_hash, file_size_bytes)
            SELECT g, 'f' || g || '.mid', '/lib/d' || (g % 300) || '/f' || g || '.mid',
                   sha256(int8send(g)), 100
              FROM generate_series(1, 60000) g""")
        conn.execute("""
            INSERT INTO midi.file_paths (path, file_id, first_seen, last_seen)
            SELECT f.filepath, f.id, now() - interval '1 day', now() - interval '1 day' FROM midi.files f""")
        conn.execute("INSERT INTO midi.import_batches (id, roots) VALUES (1, '{/lib}')")
        conn.execute("""
            INSERT INTO midi.import_errors (path, batch_id, error_class, message, first_seen, last_seen)
            SELECT '/lib/e' || (g % 300) || '/bad' || g || '.mid', 1, 'not_midi', 'x',
                   now() - interval '1 day', now() - interval '1 day'
              FROM generate_series(1, 3000) g""")
        conn.execute("ANALYZE midi.files, midi.file_paths, midi.import_errors")
        conn.commit()
    return dsn


def _plans(conn: psycopg.Connection, sql: str, params=None) -> str:
    """Every plan PostgreSQL runs for sql, nested statements of functions included (auto_explain)."""
    notices: list[str] = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    conn.execute("SET auto_explain.log_min_duration = 0")
    conn.execute("SET auto_explain.log_nested_statements = on")
    conn.execute("SET auto_explain.log_level = notice")
    conn.execute(sql, params)
    conn.execute("SET auto_explain.log_min_duration = -1")
    return "\n".join(notices)


def _statement(plans: str, marker: str) -> str:
    """The plan of the one nested statement whose query text holds marker."""
    found = [p for p in plans.split("Query Text:") if marker in p.split("\n", 1)[0] or marker in p[:400]]
    assert found, f"no statement with {marker!r} in:\n{plans[:3000]}"
    if os.environ.get("SHOW_PLANS"):  # to read the plans: SHOW_PLANS=1 pytest -s -k indexed
        print("=====", marker, found[0])
    return found[0]


def test_path_lookups_stay_indexed(big_catalog: str) -> None:
    """Every statement that looks paths up reads an index, never a whole table: the merge's upserts
    of paths and errors and its removal of errors that a path no longer has (path_key), prune and its
    canonical-path fix (a path_prefix range), the canonical-path choice (content_hash), analysis_claim's
    path lists (file_id). (No call looks a file up by its canonical path: migration 0014 dropped the seed's
    index on files.filepath.)"""
    dsn = big_catalog
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO midi.import_batches (id, roots) VALUES (2, '{/lib/d7}')")
        conn.execute("""
            INSERT INTO midi.import_staging (batch_id, chunk, root, path, rel, content_hash, file_size_bytes,
                                             format, header_tracks, num_tracks, ticks_per_quarter_note, is_rmid, warnings)
            SELECT 2, 1, '/lib', '/lib/e' || (g % 300) || '/bad' || g || '.mid', 'x/bad' || g || '.mid',
                   sha256(int8send(g)), 100, 1, 1, 1, 96, false, '{}'
              FROM generate_series(1, 40) g""")
        merge = _plans(conn, "SELECT * FROM midi.import_merge(2, 1)")
        assert "Conflict Arbiter Indexes: file_paths_path_key" in _statement(merge, "INSERT INTO midi.file_paths")
        delete = _statement(merge, "DELETE FROM midi.import_errors e")
        assert "import_errors_path_key" in delete and "Seq Scan on import_errors" not in delete
        canonical = _statement(merge, "WITH firsts AS")
        assert "idx_files_content_hash" in canonical and "Seq Scan on files" not in canonical

        prune = _plans(conn, "SELECT * FROM midi.import_finish(2, 0, true)")
        for marker in ("UPDATE midi.file_paths fp SET missing_since", "UPDATE midi.files f",
                       "DELETE FROM midi.import_errors e\n"):
            plan = _statement(prune, marker)
            assert "file_paths_path_key" in plan or "import_errors_path_key" in plan, plan
            assert "Seq Scan" not in plan, plan
        missing = conn.execute("SELECT count(*) FROM midi.file_paths WHERE missing_since IS NOT NULL").fetchone()[0]
        assert missing == 200  # the 200 paths of /lib/d7, and nothing under /lib/d70 ... /lib/d79

        claim = _plans(conn, "SELECT * FROM midi.analysis_claim(0, 100, 1)")  # whatever its statements are
        assert "idx_file_paths_file" in claim and "Seq Scan on file_paths" not in claim, claim

        conn.rollback()


# ------------------------------------------------------------------------------------------ item 3


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path: a unix socket's path must fit in 108 bytes."""
    d = Path(tempfile.mkdtemp(prefix="mcsock-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_fifos_sockets_and_devices_never_hang_a_run(dsn: str, short_tmp: Path, real: Path) -> None:
    """FIFOs, unix sockets and a device (/dev/null through symlinks, and a device node when root may
    make one) named *.mid or *.zip, inside a tree and as roots: each is a not_regular_file row at once.
    Opening a FIFO for reading waits for a writer, so one opened by mistake hangs the run (the timeout)."""
    tree = short_tmp / "t"
    tree.mkdir()
    (tree / "a.mid").write_bytes(real_files(real, 1)[0])
    specials = []
    for name in ("fifo.mid", "fifo.zip"):
        os.mkfifo(tree / name)
        specials.append(tree / name)
    socks = []
    for name in ("sock.mid", "sock.zip"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(tree / name))
        socks.append(s)
        specials.append(tree / name)
    for name in ("null.mid", "null.zip"):
        (tree / name).symlink_to("/dev/null")
        specials.append(tree / name)
    try:
        os.mknod(tree / "dev.mid", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        specials.append(tree / "dev.mid")
    except PermissionError:
        pass  # not root here: the /dev/null symlinks are the devices
    roots_dir = short_tmp / "r"
    roots_dir.mkdir()
    os.mkfifo(roots_dir / "rootfifo.mid")
    os.mkfifo(roots_dir / "rootfifo.zip")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(roots_dir / "rootsock.zip"))
    socks.append(s)
    (roots_dir / "rootnull.mid").symlink_to("/dev/null")
    roots = [roots_dir / n for n in ("rootfifo.mid", "rootfifo.zip", "rootsock.zip", "rootnull.mid")]
    try:
        proc = cli(dsn, "import", str(tree), *map(str, roots), "/dev/null", timeout=60)
    finally:
        for s in socks:
            s.close()
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()
    got = located(dsn)
    for p in [*specials, *roots]:
        assert got.get(str(p).encode()) == ("error", "not_regular_file"), (p, got.get(str(p).encode()))
    assert got[str(tree / "a.mid").encode()] == ("ok", None)
    assert len(got) == len(specials) + len(roots) + 1
    assert batches(dsn) == ["done"]


# ------------------------------------------------------------------------------- held-out style check


def test_a_folder_of_real_and_damaged_files_is_fully_accounted_for(dsn: str, short_tmp: Path, real: Path) -> None:
    """Real files from several Debian packages plus damaged copies built without the fuzzer's mutator
    (tests.corpus's corrupt kinds and bad archives, cuts at every chunk boundary, flips, lying lengths),
    odd and very long names, FIFOs, sockets, a device and nested zips: import and analysis, run twice
    through the CLI, account for every MIDI-named location, exit 0, print no traceback, change nothing."""
    from tests import fuzz

    lib = short_tmp / "lib"
    exp = fuzz.Expected()
    top = os.fsencode(lib)

    def put(rel: bytes, data: bytes, made: str) -> None:
        p = top + b"/" + rel
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        if p.lower().endswith(b".zip"):
            fuzz.expect_zip(p, data, 1, exp, made)
        else:
            exp.midi[p] = made

    originals = sorted(p for p in real.rglob("*") if p.is_file() and p.name != "MANIFEST")
    for p in originals:
        put(os.fsencode(p.relative_to(real)), p.read_bytes(), "real")
    smf = [d for d in (p.read_bytes() for p in originals) if d[:4] == b"MThd"]
    for i, good in enumerate(smf[:12]):
        for kind in corpus.CORRUPT_KINDS:
            put(f"Damaged/{kind}/{i:02}_{kind}.mid".encode(), corpus.make_corrupt(good, kind), kind)
    for i, good in enumerate(smf[:3]):
        cuts = sorted({c for o, n, _ in fuzz.chunks(good) for c in (o, o + 4, o + 8, o + 8 + n - 1, o + 8 + n)})
        for c in cuts:
            put(f"Cut/{i}/at_{c:06}.mid".encode(), good[:c], "cut")
    rnd = random.Random(23)
    for i, good in enumerate(smf[:10]):
        for j in range(3):
            b = bytearray(good)
            for _ in range(1 + j * 3):
                b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
            put(f"Flipped/{i:02}_{j}.MID".encode(), bytes(b), "bit_flips")
        o, n, _ = fuzz.chunks(good)[-1]
        for lie in (0, n - 1, n + 1, 0xFFFFFFFF):
            put(f"Lying/{i:02}_{lie}.mid".encode(), good[:o + 4] + struct.pack(">I", lie & 0xFFFFFFFF) + good[o + 8:],
                "lying_length")
    for name in (b"with space.mid", b"quote'\"q.mid", b"tab\there.mid", b"new\nline.mid", b"back\\slash.KAR",
                 b"bang!.mid", "ünï 音楽 🎹.midi".encode(), b"latin1-\xe9\xff.mid", b"\xff\xfe.rmi", b"-dash.mid"):
        put(b"Odd/" + name, smf[len(name) % len(smf)] + name, "odd_name")
    long_rel = b"/".join(bytes(rnd.choice(b"abcdefghijklmnop") for _ in range(240)) for _ in range(15))
    put(b"Long/" + long_rel[:3000 - len(top) - 20] + b"/long.mid", smf[0] + b"long", "long_path")
    bad_rel = b"/".join(b"\xe9" + bytes(rnd.choice(b"abcdefghijklmnop") for _ in range(239)) for _ in range(17))
    put(b"Long/" + bad_rel[:4000 - len(top) - 20] + b"/\xfflong.mid", smf[1] + b"bad", "long_path")
    put(b"Zips/pack.zip", fuzz.zip_archive([fuzz.Member(f"Inner/{i}.mid".encode(), d) for i, d in enumerate(smf[:8])]),
        "zip")
    nested = fuzz.zip_archive([fuzz.Member(b"deepest.mid", smf[2])])
    for level in range(4):
        nested = fuzz.zip_archive([fuzz.Member(f"level{level}.zip".encode(), nested),
                                   fuzz.Member(f"at{level}.mid".encode(), smf[3] + bytes(level))])
    put(b"Zips/nested.zip", nested, "nested_zip")
    put(b"Zips/long_member.zip", fuzz.zip_archive([fuzz.Member(("音" * 3000 + ".mid").encode(), smf[4])]), "zip")
    for kind, path in corpus.write_bad_archives(lib / "Zips" / "Bad", smf[5]).items():
        fuzz.expect_zip(os.fsencode(path), path.read_bytes(), 1, exp, kind)
    specials = lib / "Special"
    specials.mkdir()
    os.mkfifo(specials / "fifo.mid")
    os.mkfifo(specials / "fifo.zip")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(specials / "s.mid"))
    sock.close()
    (specials / "null.mid").symlink_to("/dev/null")
    for name in ("fifo.mid", "s.mid", "null.mid"):
        exp.midi[os.fsencode(specials / name)] = "special"
    exp.containers.add(os.fsencode(specials / "fifo.zip"))

    procs = [(" ".join(a), cli(dsn, *a)) for a in (("import", str(lib)), ("analyze",))]
    assert fuzz.check_round(dsn, top, exp, procs) == []
    with psycopg.connect(dsn) as conn:
        before = fuzz.catalog(conn)
        stored = conn.execute("SELECT count(*) FROM midi.file_paths").fetchone()[0]
        errors = conn.execute("SELECT count(*) FROM midi.import_errors").fetchone()[0]
    assert stored > 200 and errors > 50, (stored, errors)  # both sides were exercised
    procs = [(" ".join(a), cli(dsn, *a)) for a in (("import", "--prune", str(lib)), ("analyze",))]
    assert fuzz.check_round(dsn, top, exp, procs) == []
    with psycopg.connect(dsn) as conn:
        assert fuzz.catalog(conn) == before
