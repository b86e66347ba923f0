"""`midicenter bench import`: import a generated sample-pack library into fresh databases and compare
the rate with this machine's floor (a bare read + BLAKE3 pass over the same files) and with the seed
documents' own method (a duplicate check and a single-row INSERT per file, 500 per transaction).

Each run also says where its time went: the CPU the server spent (its whole process tree, from /proc:
runner.bench.cputime) and the CPU of the import command, per file seen. With ``cold``, the library's files
are evicted from the page cache before each run (posix_fadvise DONTNEED on every file, no privileges
needed), and the bench measures the ceiling a cold import can reach: the rate of reading the same files,
evicted, in random order with 1 to 64 reads in flight."""

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
from runner.bench import cputime, library
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


def import_once(dsn: str, lib: Path, server: cputime.ServerCPU | None = None) -> dict:
    """One `midicenter import --json` in a child process, reaped with wait4 so its own peak RSS (MB) and CPU
    are known; with ``server``, the server's CPU over the same span."""
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "import", "--json", str(lib)]
    server_before = server.seconds() if server else None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with proc.stdout, proc.stderr:
        out = proc.stdout.read()
        err = proc.stderr.read()
    code, usage = cputime.wait_child(proc)
    server_after = server.seconds() if server else None
    if code != 0:
        raise RuntimeError(f"import failed: {err.decode(errors='replace').strip()}")
    result = json.loads(out)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    seen = result["files_seen"]
    result["runner_cpu_us_per_file"] = cputime.per_file(usage.ru_utime + usage.ru_stime, seen)
    result["server_cpu_us_per_file"] = (cputime.per_file(server_after - server_before, seen)
                                        if server_before is not None and server_after is not None else None)
    return result


def midi_paths(lib: Path) -> list[str]:
    """The MIDI files of a library (walked once)."""
    out = []
    for dirpath, _dirs, files in os.walk(lib):
        out += [os.path.join(dirpath, f) for f in files if f.lower().endswith((".mid", ".midi", ".kar", ".rmi"))]
    return out


def evict(paths: list[str]) -> None:
    """Drop the files' pages from the page cache (posix_fadvise DONTNEED: no privileges needed)."""
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold_read_rate(paths: list[str], in_flight: int) -> float:
    """Files/s reading evicted files in random order with ``in_flight`` reads at once (threads)."""
    import queue
    import random
    import threading

    order = list(paths)
    random.Random(len(order) + in_flight).shuffle(order)
    evict(order)
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for p in order:
        todo.put(p)

    def reader() -> None:
        while True:
            try:
                p = todo.get_nowait()
            except queue.Empty:
                return
            with open(p, "rb") as fh:
                fh.read()

    start = time.perf_counter()
    threads = [threading.Thread(target=reader) for _ in range(in_flight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(order) / (time.perf_counter() - start)


def cold_ceiling(paths: list[str], sample: int = 10_000, log: Callable[[str], None] = lambda s: None) -> dict:
    """The disk's random-read capacity for these files: evicted files of the library (a random sample of
    them, the same sizes) read in random order with 1, 4, 16, 32 and 64 reads in flight."""
    import random

    chosen = random.Random(1).sample(paths, min(sample, len(paths)))
    rates = {}
    for n in (1, 4, 16, 32, 64):
        rates[n] = round(cold_read_rate(chosen, n), 1)
        log(f"cold read ceiling: {len(chosen):,} evicted files, {n} in flight: {rates[n]:,.0f} files/s")
    return {"files": len(chosen), "files_per_second_by_reads_in_flight": rates,
            "ceiling_files_per_second": max(rates.values())}


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
        cache: Path | None = None, cold: bool = False, log: Callable[[str], None] = lambda s: None) -> dict:
    """Generate (cached) and import the library `runs` times; returns every measured figure."""
    root = cache / "libs" if cache else libs_dir()
    log(f"library: generating or reusing {files:,} files under {root}")
    lib = library.generate(root, files, seed=seed)
    paths = midi_paths(lib) if cold else []

    n, secs = read_hash_floor(lib)  # untimed warm-up: the runs below read from a warm page cache
    log(f"warm-up: {n:,} files read in {secs:.1f} s")
    floors = []
    for i in range(runs):
        n, secs = read_hash_floor(lib)
        floors.append(n / secs)
        log(f"floor run {i + 1}: {n:,} files read + hashed at {n / secs:,.0f} files/s")
    server = cputime.ServerCPU(server_dsn)
    imports = []
    for i in range(runs):
        with throwaway_database(server_dsn, "import") as dsn:
            if cold:
                evict(paths)
            result = import_once(dsn, lib, server)
        imports.append(result)
        log(f"import run {i + 1}{' (cold)' if cold else ''}: {result['files_seen']:,} files at "
            f"{result['files_per_second']:,.0f} files/s, peak RSS {result['peak_rss_mb']} MB, CPU per file: server "
            f"{cputime.us_text(result['server_cpu_us_per_file'])}, runner {cputime.us_text(result['runner_cpu_us_per_file'])}")
    with throwaway_database(server_dsn, "seed") as dsn:
        n, secs = seed_method(dsn, lib, baseline_files)
    log(f"seed method: {n:,} files at {n / secs:,.0f} files/s")

    rate = statistics.median(r["files_per_second"] for r in imports)
    floor = statistics.median(floors)
    baseline = n / secs
    out = {
        "files": imports[0]["files_seen"],
        "library": str(lib),
        "runs": runs,
        "cold": cold,
        "import_files_per_second": round(rate, 1),
        "import_runs": [r["files_per_second"] for r in imports],
        "server_cpu_us_per_file": cputime.median_known([r["server_cpu_us_per_file"] for r in imports]),
        "runner_cpu_us_per_file": cputime.median_known([r["runner_cpu_us_per_file"] for r in imports]),
        "floor_read_hash_files_per_second": round(floor, 1),
        "import_to_floor_ratio": round(rate / floor, 3),
        "seed_method_files_per_second": round(baseline, 1),
        "seed_method_files": n,
        "speedup_vs_seed_method": round(rate / baseline, 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in imports),
        "files_new": imports[0]["files_new"],
        "duplicates": imports[0]["duplicates"],
        "errors": imports[0]["errors"],
        "bulk": imports[0].get("bulk"),
    }
    if cold:
        ceiling = cold_ceiling(paths, log=log)
        out["cold_read_ceiling"] = ceiling
        out["import_to_cold_ceiling_ratio"] = round(rate / ceiling["ceiling_files_per_second"], 3)
    return out

