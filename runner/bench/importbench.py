"""`midicenter bench import`: import a generated sample-pack library into fresh databases and compare
the rate with this machine's floor (a bare read + BLAKE3 pass over the same files) and with the seed
documents' own method (a duplicate check and a single-row INSERT per file, 500 per transaction)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from blake3 import blake3

from runner import midifile, scan
from runner.bench import library
from runner.bench.cache import libs_dir
from runner.bench.scratch import throwaway_database

# The seed documents' import statements, as printed there (2.1 Duplicate Check, 2.2 Single File Insert).
SEED_DUPLICATE_CHECK = "SELECT COUNT(*) FROM files WHERE content_hash = %s"
SEED_INSERT = """INSERT INTO files (
    filename, filepath, original_filename, content_hash,
    file_size_bytes, format, num_tracks, ticks_per_quarter_note,
    duration_seconds, duration_ticks, manufacturer, collection_name,
    folder_tags, import_batch_id
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING id"""
SEED_BATCH = 500


def read_hash_floor(lib: Path) -> tuple[int, float]:
    """Walk, read every MIDI file once and BLAKE3 it: the least any import of these files must do."""
    stats = scan.ScanStats()
    n = 0
    start = time.perf_counter()
    for item in scan.iter_candidates([lib], stats=stats):
        if isinstance(item, scan.Candidate):
            blake3(item.read()).digest()
            n += 1
    return n, time.perf_counter() - start


def import_once(dsn: str, lib: Path) -> dict:
    """One `midicenter import --json` in a child process, reaped with wait4 so its own peak RSS (MB) is known."""
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", "--json", str(lib)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with proc.stdout, proc.stderr:
        out = proc.stdout.read()
        err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"import failed: {err.decode(errors='replace').strip()}")
    result = json.loads(out)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    return result


def seed_method(dsn: str, lib: Path, limit: int) -> tuple[int, float]:
    """The seed's documented import: per file a duplicate check and a single-row INSERT, 500 per
    transaction, into the same indexed files table. Reads and hashes too, like a real import."""
    n = 0
    stats = scan.ScanStats()
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path = midi")
        cur = conn.cursor()
        for item in scan.iter_candidates([lib], stats=stats):
            if not isinstance(item, scan.Candidate):
                continue
            data = item.read()
            digest = blake3(data).digest()
            info = midifile.inspect(data)
            if cur.execute(SEED_DUPLICATE_CHECK, [digest]).fetchone()[0] == 0:
                name = item.path.rsplit("/", 1)[-1]
                cur.execute(SEED_INSERT, [name, item.path, name, digest, len(data), info.format,
                                          min(info.num_tracks, 32767), info.ticks_per_quarter_note, None, None,
                                          None, None, [], None])
            n += 1
            if n % SEED_BATCH == 0:
                conn.commit()
            if n >= limit:
                break
        conn.commit()
    return n, time.perf_counter() - start


def run(server_dsn: str, *, files: int, runs: int = 3, seed: int = 1, baseline_files: int = 20_000,
        cache: Path | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    """Generate (cached) and import the library `runs` times; returns every measured figure."""
    root = cache / "libs" if cache else libs_dir()
    log(f"library: generating or reusing {files:,} files under {root}")
    lib = library.generate(root, files, seed=seed)

    n, secs = read_hash_floor(lib)  # untimed warm-up: the runs below read from a warm page cache
    log(f"warm-up: {n:,} files read in {secs:.1f} s")
    floors = []
    for i in range(runs):
        n, secs = read_hash_floor(lib)
        floors.append(n / secs)
        log(f"floor run {i + 1}: {n:,} files read + hashed at {n / secs:,.0f} files/s")
    imports = []
    for i in range(runs):
        with throwaway_database(server_dsn, "import") as dsn:
            result = import_once(dsn, lib)
        imports.append(result)
        log(f"import run {i + 1}: {result['files_seen']:,} files at {result['files_per_second']:,.0f} files/s, "
            f"peak RSS {result['peak_rss_mb']} MB")
    with throwaway_database(server_dsn, "seed") as dsn:
        n, secs = seed_method(dsn, lib, baseline_files)
    log(f"seed method: {n:,} files at {n / secs:,.0f} files/s")

    rate = statistics.median(r["files_per_second"] for r in imports)
    floor = statistics.median(floors)
    baseline = n / secs
    return {
        "files": imports[0]["files_seen"],
        "library": str(lib),
        "runs": runs,
        "import_files_per_second": round(rate, 1),
        "import_runs": [r["files_per_second"] for r in imports],
        "floor_read_hash_files_per_second": round(floor, 1),
        "import_to_floor_ratio": round(rate / floor, 3),
        "seed_method_files_per_second": round(baseline, 1),
        "seed_method_files": n,
        "speedup_vs_seed_method": round(rate / baseline, 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in imports),
        "files_new": imports[0]["files_new"],
        "duplicates": imports[0]["duplicates"],
        "errors": imports[0]["errors"],
    }
