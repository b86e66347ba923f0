"""`midicenter bench analyze`: analysis speed and accuracy on a generated library and on real songs.

For each corpus the files are imported once into a fresh database on the target server, which then serves as
the template of one fresh copy per run, so every run analyzes the same never-analyzed catalog (the first
analysis, the case that matters). Each run is a real `midicenter analyze --json` child process; its files/s
come from its own summary, its memory from sampling the resident set of the whole runner tree (the command,
the fork server and the worker processes) while it runs. In the same bench, on the same files and with the
same number of processes, it times pretty_midi loading the files (the common Python stack) and symusic
parsing them and nothing else (the floor of any analyzer built on it). Accuracy is scored against the
known truth: the generated library's manifest, and the real songs' TRUTH.tsv. Each run also says where its
time went: the CPU the server spent (its whole process tree, from /proc) and the CPU of the runner's process
tree (the command, the fork server, the workers), per file (runner.bench.cputime). With ``cold``, the corpus
files are evicted from the page cache before each run, and the disk's random-read ceiling for them is
measured (runner.bench.importbench.cold_ceiling).

The real songs are a folder (``--songs``, default ``songs/`` in the cache folder) that the test tooling
builds (``make corpus``): MIDI files anywhere below it, and optionally ``TRUTH.tsv``, tab-separated with a
header row naming at least the columns ``path`` (relative to the folder), ``key`` (a canonical key name,
empty when unknown) and ``bpm`` (empty when unknown).
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg

from runner import importer
from runner.bench import cputime, importbench, library
from runner.bench.cache import SONGS_COMMAND, libs_dir, songs_dir
from runner.bench.scratch import throwaway_database

_MIDI = (".mid", ".midi", ".kar", ".rmi")
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# The generator's categories and the catalog categories that name them correctly.
_CATEGORY_MATCH = {
    "Drums": {"drums"}, "Kick": {"kick"}, "Snare": {"snare"}, "Hats": {"hats"}, "Percussion": {"percussion"},
    "Bass": {"bass"}, "Chords": {"chords"}, "Pads": {"pad"}, "Leads": {"lead", "pluck"}, "Melodies": {"melody"},
    "Arps": {"arp"}, "Keys": {"keys", "piano", "organ"}, "Strings": {"strings"}, "Brass": {"brass"}, "FX": {"fx"},
    "Full Mix": {"full_mix"},
}


def mirex(found: str | None, truth: str) -> float:
    """MIREX key score: 1 same key, 0.5 a fifth away in the same mode, 0.3 relative, 0.2 parallel, else 0."""
    if not found or found == "UNKNOWN":
        return 0.0
    if found == truth:
        return 1.0
    fm, tm = found.endswith("m"), truth.endswith("m")
    fp, tp = _NAMES.index(found.rstrip("m")), _NAMES.index(truth.rstrip("m"))
    if fm == tm and (fp - tp) % 12 in (5, 7):
        return 0.5
    if fm != tm:
        if (tm and (fp - tp) % 12 == 3) or (not tm and (tp - fp) % 12 == 3):
            return 0.3
        if fp == tp:
            return 0.2
    return 0.0


def analyze_once(dsn: str, workers: int, server: cputime.ServerCPU | None = None) -> dict:
    """One `midicenter analyze --json` child process; its summary plus the runner tree's peak RSS in MB and the
    CPU per file of the runner's processes and (with ``server``) of the server."""
    cmd = [sys.executable, "-m", "runner.cli", "--dsn", dsn, "analyze", "--json", "--workers", str(workers)]
    server_before = server.seconds() if server else None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = cputime.TreeSampler(proc.pid)
    sampler.start()
    with proc.stdout, proc.stderr:
        out = proc.stdout.read()
        err = proc.stderr.read()
    code, usage = cputime.wait_child(proc)
    sampler.done.set()
    sampler.join()
    server_after = server.seconds() if server else None
    if code != 0:
        raise RuntimeError(f"analyze failed: {err.decode(errors='replace').strip()[-500:]}")
    result = json.loads(out)
    result["peak_rss_mb"] = round(sampler.peak / 2**20, 1)
    result["peak_processes"] = sampler.peak_processes
    files = result["analyzed"] + result["errors"]
    result["runner_cpu_us_per_file"] = cputime.per_file(sampler.cpu_seconds(usage), files)
    result["server_cpu_us_per_file"] = (cputime.per_file(server_after - server_before, files)
                                        if server_before is not None and server_after is not None else None)
    return result


def _runs(server_dsn: str, roots: list[Path], runs: int, workers: int, label: str,
          log: Callable[[str], None], score: Callable[[str], dict], cold: bool = False) -> dict:
    """Import `roots` into a template database, analyze fresh copies of it `runs` times; median and scores."""
    server = cputime.ServerCPU(server_dsn)
    paths = _midi_files(roots) if cold else []
    with throwaway_database(server_dsn, f"{label}_tpl") as template:
        imported = importer.run_import(template, roots)
        log(f"{label}: imported {imported.files_new:,} distinct files ({imported.files_seen:,} seen) "
            f"in {imported.seconds:.1f} s")
        results = []
        scores: dict = {}
        for i in range(runs):
            with throwaway_database(server_dsn, f"{label}_{i}", template=template) as run_dsn:
                if cold:
                    importbench.evict(paths)
                r = analyze_once(run_dsn, workers, server)
                log(f"{label} run {i + 1}/{runs}{' (cold)' if cold else ''}: {r['analyzed'] + r['errors']:,} files in "
                    f"{r['seconds']:.2f} s = {r['files_per_second']:,.0f} files/s, peak RSS {r['peak_rss_mb']} MB, "
                    f"CPU per file: server {cputime.us_text(r['server_cpu_us_per_file'])}, runner {cputime.us_text(r['runner_cpu_us_per_file'])}")
                results.append(r)
                if i == runs - 1:
                    scores = score(run_dsn)
    rates = [r["files_per_second"] for r in results]
    out = {
        "files": results[0]["analyzed"] + results[0]["errors"],
        "analysis_errors": results[0]["errors"],
        "runs_files_per_second": rates,
        "median_files_per_second": statistics.median(rates),
        "server_cpu_us_per_file": cputime.median_known([r["server_cpu_us_per_file"] for r in results]),
        "runner_cpu_us_per_file": cputime.median_known([r["runner_cpu_us_per_file"] for r in results]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "bulk": results[0].get("bulk"),
        **scores,
    }
    if cold:
        ceiling = importbench.cold_ceiling(paths, log=lambda s: log(f"{label}: {s}"))
        out["cold_read_ceiling"] = ceiling
        out["analyze_to_cold_ceiling_ratio"] = round(out["median_files_per_second"] / ceiling["ceiling_files_per_second"], 3)
    return out



def _load_pretty_midi(paths: list[str]) -> int:
    """Worker: load each file with pretty_midi; returns how many loaded."""
    import warnings

    import pretty_midi

    ok = 0
    for p in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with open(p, "rb") as fh:
                    pretty_midi.PrettyMIDI(io.BytesIO(fh.read()))
            ok += 1
        except Exception:  # noqa: BLE001 - a file pretty_midi refuses still cost its time
            pass
    return ok


def _parse_symusic(paths: list[str]) -> int:
    """Worker: parse each file with symusic and nothing else; returns how many parsed."""
    import symusic

    ok = 0
    for p in paths:
        try:
            with open(p, "rb") as fh:
                symusic.Score.from_midi(fh.read())
            ok += 1
        except Exception:  # noqa: BLE001
            pass
    return ok


def parallel_rate(fn: Callable[[list[str]], int], paths: list[str], processes: int) -> dict:
    """Files/s of `fn` over `paths` split into chunks over `processes` processes (start-up excluded)."""
    chunks = [paths[i : i + 200] for i in range(0, len(paths), 200)]
    ctx = mp.get_context("forkserver")
    with ctx.Pool(processes) as pool:
        pool.map(fn, [paths[:1]] * processes)  # import the libraries in every process first
        start = time.perf_counter()
        ok = sum(pool.map(fn, chunks, chunksize=1))
        seconds = time.perf_counter() - start
    return {"files": len(paths), "loaded": ok, "seconds": round(seconds, 3),
            "files_per_second": round(len(paths) / seconds, 1)}


def _midi_files(roots: Iterable[Path]) -> list[str]:
    out = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            out += [os.path.join(dirpath, f) for f in files if f.lower().endswith(_MIDI)]
    return sorted(out)


def _accuracy(rows: Iterable[tuple[str, float | None, str | None, str | None, str | None]],
              truth: dict[str, tuple]) -> dict:
    """BPM exact rate, MIREX key scores (chosen key, estimate alone) and, when the truth has categories, the
    share of files whose primary category names their true one; rows are (path, bpm, key, estimate, category)."""
    bpm_n = bpm_ok = key_n = cat_n = cat_ok = 0
    chosen = estimate = 0.0
    chosen_exact = 0
    for path, bpm, key, est, category in rows:
        if path not in truth:
            continue
        t_bpm, t_key, *t_cat = truth[path]
        if t_cat and t_cat[0] in _CATEGORY_MATCH:
            cat_n += 1
            cat_ok += category in _CATEGORY_MATCH[t_cat[0]]
        if t_bpm is not None:
            bpm_n += 1
            bpm_ok += bpm is not None and abs(float(bpm) - t_bpm) < 0.005
        if t_key is not None:
            key_n += 1
            c = mirex(key, t_key)
            chosen += c
            chosen_exact += c == 1.0
            estimate += mirex(est, t_key)
    return {
        "bpm_files": bpm_n,
        "bpm_exact": round(bpm_ok / bpm_n, 4) if bpm_n else None,
        "key_files": key_n,
        "key_mirex_chosen": round(chosen / key_n, 4) if key_n else None,
        "key_exact_chosen": round(chosen_exact / key_n, 4) if key_n else None,
        "key_mirex_estimate": round(estimate / key_n, 4) if key_n else None,
        **({"category_files": cat_n, "category_correct": round(cat_ok / cat_n, 4)} if cat_n else {}),
    }


def _rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("""SELECT p.path, m.bpm, m.key_signature::text, m.key_estimate::text, c.primary_category::text
                                 FROM midi.file_paths p JOIN midi.musical_metadata m ON m.file_id = p.file_id
                                 LEFT JOIN midi.file_categories c ON c.file_id = p.file_id""").fetchall()


def _compare(result: dict, paths: list[str], workers: int, label: str, log: Callable[[str], None]) -> None:
    """Add to a corpus's result the rates of pretty_midi and of symusic alone on ``paths`` (same processes),
    and the analyzer's rate against each."""
    result["pretty_midi"] = parallel_rate(_load_pretty_midi, paths, workers)
    result["symusic_parse_only"] = parallel_rate(_parse_symusic, paths, workers)
    pretty, floor = result["pretty_midi"]["files_per_second"], result["symusic_parse_only"]["files_per_second"]
    log(f"{label}: pretty_midi {pretty:,.0f} files/s, symusic alone {floor:,.0f} files/s "
        f"(same {len(paths):,} files, {workers} processes)")
    result["speedup_vs_pretty_midi"] = round(result["median_files_per_second"] / pretty, 1)
    result["share_of_symusic_floor"] = round(result["median_files_per_second"] / floor, 3)


def read_truth(songs: Path) -> dict[str, tuple[float | None, str | None]]:
    """{absolute path: (bpm, key)} of a songs folder's TRUTH.tsv (empty when it has none)."""
    truth_file = songs / "TRUTH.tsv"
    if not truth_file.is_file():
        return {}
    with open(truth_file, encoding="utf-8", newline="") as fh:
        return {str(songs / row["path"]): (float(row["bpm"]) if row.get("bpm") else None, row.get("key") or None)
                for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)}


def song_files(songs: Path) -> list[str]:
    """The MIDI files of the real-song folder; a clear error naming the command that builds it when absent."""
    paths = _midi_files([songs]) if songs.is_dir() else []
    if not paths:
        raise RuntimeError(f"no real songs in {songs}: build them in a midicenter checkout with `{SONGS_COMMAND}` "
                           f"(python -m tests.corpus songs --dest {songs}), or pass --songs DIR, a folder of MIDI files")
    return paths


def run(server_dsn: str, *, files: int = 100_000, runs: int = 3, seed: int = 1, songs: Path | None = None,
        workers: int = 2, pretty_sample: int = 5000, cold: bool = False,
        log: Callable[[str], None] = lambda s: None) -> dict:
    """The whole bench; returns the report (see the module docstring)."""
    songs = Path(songs) if songs is not None else songs_dir()
    paths = song_files(songs)  # before the long generated part: a missing corpus fails at once
    try:
        import pretty_midi  # noqa: F401 - the comparison's library, loaded again in its worker processes
    except ImportError:
        raise RuntimeError("bench analyze compares with pretty_midi: pip install 'midicenter[bench]'") from None
    out: dict = {"workers": workers, "runs": runs, "cold": cold}

    lib = library.generate(libs_dir(), files, seed=seed)
    truth = {str(lib / t.path): (t.bpm, t.key, t.category) for t in library.truth(lib) if t.kind == "midi"}
    gen = _runs(server_dsn, [lib], runs, workers, "generated", log, lambda dsn: _accuracy(_rows(dsn), truth), cold)
    sample = _midi_files([lib])
    sample = sample[:: max(1, len(sample) // pretty_sample)][:pretty_sample]
    _compare(gen, sample, workers, "generated", log)
    out["generated"] = {"library": str(lib), **gen}

    truth_songs = read_truth(songs)
    result = _runs(server_dsn, [songs], runs, workers, "real", log, lambda dsn: _accuracy(_rows(dsn), truth_songs),
                   cold)
    _compare(result, paths, workers, "real", log)
    out["real_songs"] = {"corpus": str(songs), **result}

    out["targets"] = {  # issue 4's, and issue 15's (4,000 files/s generated, 5x pretty_midi on real songs)
        "generated_files_per_second>=4000": gen["median_files_per_second"] >= 4000,
        "real_speedup_vs_pretty_midi>=5": result["speedup_vs_pretty_midi"] >= 5,
        "generated_files_per_second>=5000": gen["median_files_per_second"] >= 5000,
        "generated_bpm_exact": gen["bpm_exact"] == 1.0,
        "generated_key_mirex_chosen>=0.9": (gen["key_mirex_chosen"] or 0) >= 0.9,
        "real_files_per_second>=1000": result["median_files_per_second"] >= 1000,
        "real_speedup_vs_pretty_midi>=10": result["speedup_vs_pretty_midi"] >= 10,
        "peak_rss_mb<300": max(gen["peak_rss_mb"], result["peak_rss_mb"]) < 300,
    }
    return out
