"""`midicenter bench export`: export a generated library (imported into a fresh database) to folders and a
zip, and stream a large catalog, each run a `midicenter export` child process whose own peak RSS is read
from wait4.

Files: the library (``--files``) is imported once; an untimed export warms the page cache; then for each
size (the first N files by id, and all of them) ``runs`` fresh copy exports into empty folders, each
followed by a re-run into the same folder (which must write nothing), and one zip export. Every export
checks every file's BLAKE3; the report says how many hashes were checked and how many files a re-run wrote.

Catalog (``--catalog-files``, 0 to skip): a fresh database filled in SQL with N files (as `bench search`
does), then `export --catalog` to CSV and JSON lines at a few sizes, so the peak RSS at N can be compared
with the peak at a tenth of it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from runner.bench import library
from runner.bench.cache import libs_dir
from runner.bench.scratch import throwaway_database


def cli_run(dsn: str, args: Sequence[str], stdout: Any = subprocess.PIPE) -> tuple[dict | None, float, float]:
    """One `midicenter --dsn DSN ARGS` child: (its JSON output or None, wall seconds, peak RSS in MB)."""
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if proc.stdout:
        proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({code}): {err.decode(errors='replace').strip()[-500:]}")
    return (json.loads(out) if out.strip() else None), seconds, round(usage.ru_maxrss / 1024, 1)


def _ids_file(dsn: str, n: int, folder: Path) -> list[str]:
    """--ids @FILE naming the first n files by id (in a file: a command line holds about 20,000 ids at
    most), or no option for all of them."""
    with psycopg.connect(dsn) as conn:
        total = conn.execute("SELECT count(*) FROM midi.files").fetchone()[0]
        if n >= total:
            return []
        ids = [r[0] for r in conn.execute("SELECT id FROM midi.files ORDER BY id LIMIT %s", [n])]
    path = folder / f"ids-{n}.txt"
    path.write_text("\n".join(map(str, ids)) + "\n", encoding="ascii")
    return ["--ids", f"@{path}"]


def files_bench(server_dsn: str, *, files: int, sizes: Sequence[int], runs: int, seed: int, work: Path,
                log: Callable[[str], None]) -> dict[str, Any]:
    lib = library.generate(libs_dir(), files, seed=seed)
    log(f"library: {lib}")
    out: dict[str, Any] = {"library": str(lib), "sizes": [], "load_average_at_start": os.getloadavg()[0]}
    with throwaway_database(server_dsn, "export") as dsn:
        imported, secs, _ = cli_run(dsn, ["import", "--json", "-q", str(lib)])
        log(f"imported {imported['files_seen']:,} files ({imported['files_new']:,} distinct) in {secs:.1f} s")
        out["distinct_files"] = imported["files_new"]
        # untimed: the sources are in the page cache afterwards. Exported folders are removed only at the
        # end: deleting 100,000 files keeps the disk busy for a while and would slow the next run down.
        cli_run(dsn, ["export", "--json", "-q", "--to", str(work / "warm")])
        for size in sizes:
            pick = _ids_file(dsn, size, work)
            fresh, rerun = [], []
            for i in range(runs):
                dest = work / f"out-{size}-{i}"
                r, secs, rss = cli_run(dsn, ["export", "--json", "-q", "--to", str(dest), *pick])
                fresh.append({"seconds": secs, "files_per_second": r["files"] / secs, "rss": rss, "result": r})
                r2, secs2, rss2 = cli_run(dsn, ["export", "--json", "-q", "--to", str(dest), *pick])
                rerun.append({"seconds": secs2, "files_per_second": r2["files"] / secs2, "rss": rss2, "result": r2})
                log(f"  {size:>9,} files run {i + 1}: copy {r['files'] / secs:,.0f} files/s (process wall, "
                    f"in-export {r['files_per_second']:,.0f}), peak RSS {rss} MB; re-run wrote {r2['written']}, "
                    f"{r2['files'] / secs2:,.0f} files/s, {rss2} MB; load average {os.getloadavg()[0]:.1f}")
            zr, zsecs, zrss = cli_run(dsn, ["export", "--json", "-q", "--zip", str(work / f"out-{size}.zip"), *pick])
            zbytes = (work / f"out-{size}.zip").stat().st_size
            log(f"  {size:>9,} files zip: {zr['files'] / zsecs:,.0f} files/s, {zbytes / 1e6:.1f} MB, peak RSS {zrss} MB")
            first = fresh[0]["result"]
            out["sizes"].append({
                "files": first["files"],
                "copy_files_per_second": round(statistics.median(x["files_per_second"] for x in fresh), 1),
                "copy_runs": [round(x["files_per_second"], 1) for x in fresh],
                "copy_peak_rss_mb": max(x["rss"] for x in fresh),
                "hashes_checked": first["hashes_checked"],
                "errors": first["errors"],
                "rerun_files_per_second": round(statistics.median(x["files_per_second"] for x in rerun), 1),
                "rerun_written": max(x["result"]["written"] for x in rerun),
                "rerun_present": rerun[0]["result"]["present"],
                "rerun_peak_rss_mb": max(x["rss"] for x in rerun),
                "zip_files_per_second": round(zr["files"] / zsecs, 1),
                "zip_mb": round(zbytes / 1e6, 1),
                "zip_peak_rss_mb": zrss,
            })
    return out


def catalog_bench(server_dsn: str, *, files: int, log: Callable[[str], None]) -> dict[str, Any]:
    from runner.bench import search as search_bench

    out: dict[str, Any] = {"files": files, "runs": []}
    with throwaway_database(server_dsn, "catalog") as dsn:
        t = time.perf_counter()
        search_bench.fill(dsn, files, log=log)
        log(f"filled {files:,} files in {time.perf_counter() - t:.0f} s")
        with tempfile.TemporaryDirectory(prefix="midicenter-bench-catalog-") as tmp:
            for fmt in ("csv", "jsonl"):
                for n in sorted({max(1, files // 10), files}):
                    args = ["export", "--catalog", "--format", fmt, "--json", *_ids_file(dsn, n, Path(tmp))]
                    out_file = Path(tmp) / f"catalog.{fmt}"
                    r, secs, rss = cli_run(dsn, [*args, "--to", str(out_file)])
                    out_file.unlink()
                    log(f"  catalog {fmt:5s} {r['rows']:>9,} rows: {r['rows'] / secs:,.0f} rows/s, "
                        f"{r['bytes'] / 1e6:,.0f} MB, peak RSS {rss} MB")
                    out["runs"].append({"format": fmt, "rows": r["rows"], "rows_per_second": round(r["rows"] / secs, 1),
                                        "mb": round(r["bytes"] / 1e6, 1), "peak_rss_mb": rss})
    return out


def run(server_dsn: str, *, files: int, sizes: Sequence[int], runs: int = 3, seed: int = 1,
        catalog_files: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """The export benchmark (see the module's docstring); returns every measured figure."""
    result: dict[str, Any] = {"runs": runs}
    with tempfile.TemporaryDirectory(prefix="midicenter-bench-export-") as tmp:
        result["export"] = files_bench(server_dsn, files=files, sizes=[s for s in sizes if s < files] + [files],
                                       runs=runs, seed=seed, work=Path(tmp), log=log)
    if catalog_files:
        result["catalog"] = catalog_bench(server_dsn, files=catalog_files, log=log)
    return result


def format_table(result: dict[str, Any]) -> str:
    lines = ["| files | copy files/s (median) | peak RSS | hashes checked | re-run: written, files/s | zip files/s, MB, RSS |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in result["export"]["sizes"]:
        lines.append(f"| {s['files']:,} | {s['copy_files_per_second']:,.0f} ({', '.join(f'{x:,.0f}' for x in s['copy_runs'])})"
                     f" | {s['copy_peak_rss_mb']} MB | {s['hashes_checked']:,} | {s['rerun_written']}, "
                     f"{s['rerun_files_per_second']:,.0f} | {s['zip_files_per_second']:,.0f}, {s['zip_mb']} MB, "
                     f"{s['zip_peak_rss_mb']} MB |")
    if "catalog" in result:
        lines += ["", "| catalog format | rows | rows/s | MB | peak RSS |", "| --- | ---: | ---: | ---: | ---: |"]
        for r in result["catalog"]["runs"]:
            lines.append(f"| {r['format']} | {r['rows']:,} | {r['rows_per_second']:,.0f} | {r['mb']:,} | {r['peak_rss_mb']} MB |")
    return "\n".join(lines)
