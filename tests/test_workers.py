"""runner.workers: the pool returns every job once, survives aborting and hanging workers, stays flat."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest

from runner import workers
from runner.workers import ERROR_CLASSES, TEST_ABORT, TEST_EXIT, TEST_HANG, Job, WorkerPool, analyze_bytes

M = mido.Message
X = mido.MetaMessage


def song(seed: int) -> bytes:
    """A small two-track file that differs with the seed (tempo, pitches, drums every third)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    conductor = mido.MidiTrack(
        [X("set_tempo", tempo=400000 + 1000 * seed), X("track_name", name=f"song {seed}")]
    )
    music = mido.MidiTrack([M("program_change", program=seed % 128)])
    for i in range(40):
        pitch = 48 + (seed * 7 + i * 5) % 36
        music.append(M("note_on", note=pitch, velocity=60 + i, time=0))
        music.append(M("note_off", note=pitch, time=120))
    if seed % 3 == 0:
        music.append(M("note_on", channel=9, note=36, velocity=100))
        music.append(M("note_off", channel=9, note=36, time=60))
    mid.tracks.extend([conductor, music])
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict[int, Path]:
    """40 good files plus the bad ones, by file id (bad ids are 900 and up)."""
    root = tmp_path_factory.mktemp("library")
    files = {}
    for i in range(40):
        path = root / f"song {i}.mid"
        path.write_bytes(song(i))
        files[i] = path
    bad = {
        900: b"",
        901: b"this is a text file with a .mid name",
        902: song(1)[:40],
        903: b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28" + song(2)[14:],
    }
    for file_id, data in bad.items():
        path = root / f"bad {file_id}.mid"
        path.write_bytes(data)
        files[file_id] = path
    return files


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2, timeout=3.0) as p:
        yield p


def jobs_of(library: dict[int, Path], ids) -> list[Job]:
    return [Job(i, str(library[i])) for i in ids]


def batches(jobs: list[Job], size: int) -> list[list[Job]]:
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def run(pool: WorkerPool, batch_list) -> dict[int, workers.Result]:
    """Every Result by file id, checking each job comes back exactly once."""
    out: dict[int, workers.Result] = {}
    for results in pool.map(batch_list):
        for r in results:
            assert r.file_id not in out, f"file {r.file_id} returned twice"
            out[r.file_id] = r
    return out


def in_process(file_id: int, data: bytes) -> bytes:
    """The facts of a file computed in this process, as the pool's workers send them (COPY text)."""
    return workers.copy_text(analyze_bytes(file_id, data).row)


def test_results_are_the_in_process_facts(pool, library):
    out = run(pool, batches(jobs_of(library, range(40)), 7))
    assert sorted(out) == list(range(40))
    for file_id, result in out.items():
        assert result.error_class is None and result.message is None
        assert result.row == in_process(file_id, library[file_id].read_bytes())


def test_bad_files_become_error_results(pool, library):
    jobs = jobs_of(library, [0, 900, 901, 902, 903, 1]) + [Job(950, str(library[0].parent / "gone.mid"))]
    out = run(pool, [jobs])
    assert out[0].row is not None and out[1].row is not None
    assert {i: out[i].error_class for i in (900, 901, 902, 903)} == {
        900: "empty",
        901: "not_midi",
        902: "parse_failed",
        903: "smpte_division",
    }
    assert out[950].error_class in ("vanished", "unreadable") and out[950].message


def test_an_aborting_worker_loses_only_its_file(pool, library):
    before = set(pool.pids)
    crashes = pool.crashes
    jobs = jobs_of(library, range(0, 12))
    jobs.insert(5, Job(800, TEST_ABORT))  # in the middle of a batch: the 5 before it ran and are redone
    jobs.insert(14, Job(801, TEST_EXIT))
    out = run(pool, batches(jobs, 8))
    assert sorted(out) == [*range(12), 800, 801]
    assert out[800].error_class == "worker_crash" and "SIGABRT" in out[800].message
    assert out[801].error_class == "worker_crash" and "exit code 3" in out[801].message
    assert all(out[i].row is not None for i in range(12))
    assert pool.crashes == crashes + 2
    assert len(pool.pids) == 2 and set(pool.pids) != before


def test_a_hanging_worker_times_out_and_the_rest_goes_on(pool, library):
    timeouts = pool.timeouts
    jobs = jobs_of(library, range(10, 30))
    jobs.insert(3, Job(802, TEST_HANG))
    started = time.monotonic()
    out = run(pool, batches(jobs, 6))
    assert time.monotonic() - started < 30
    assert out[802].error_class == "timeout" and "3 s" in out[802].message
    assert all(out[i].row is not None for i in range(10, 30))
    assert len(out) == 21 and pool.timeouts == timeouts + 1


def test_several_failures_in_one_batch(pool, library):
    jobs = [Job(810, TEST_ABORT), Job(811, TEST_ABORT), *jobs_of(library, [3, 4]), Job(812, TEST_EXIT)]
    out = run(pool, [jobs])
    assert [out[i].error_class for i in (810, 811, 812)] == ["worker_crash"] * 3
    assert out[3].row is not None and out[4].row is not None


def test_an_abandoned_map_leaves_the_pool_usable(pool, library):
    gen = pool.map(batches(jobs_of(library, range(40)), 2))
    next(gen)
    gen.close()  # stop reading while workers are busy
    out = run(pool, batches(jobs_of(library, range(5)), 2))
    assert sorted(out) == list(range(5)) and all(r.row is not None for r in out.values())


def test_input_is_read_only_as_workers_free_up(pool, library):
    taken = 0
    yielded = 0

    def source():
        nonlocal taken
        for batch in batches(jobs_of(library, range(40)), 2):
            taken += 1
            assert taken - yielded <= pool.n + 1, "the pool reads its input ahead of the workers"
            yield batch

    for _ in pool.map(source()):
        yielded += 1
    assert taken == yielded == 20


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_stays_flat_over_many_batches(library):
    ids = list(range(40))
    with WorkerPool(2, timeout=10) as p:

        def source():
            for n in range(400):
                yield jobs_of(library, ids[(n % 4) * 10 : (n % 4) * 10 + 10])  # 4,000 files in all

        seen = 0
        early: dict[int, int] = {}
        for results in p.map(source()):
            seen += len(results)
            if seen == 400:  # after warm-up: imports done, heaps grown to their working size
                early = {pid: _rss_kib(pid) for pid in p.pids}
                parent_early = _rss_kib(os.getpid())
        late = {pid: _rss_kib(pid) for pid in p.pids}
        parent_late = _rss_kib(os.getpid())
    assert seen == 4000
    assert set(early) == set(late)  # no worker was replaced
    for pid in late:
        assert late[pid] - early[pid] < 8 * 1024, (early, late)
        assert late[pid] < 200 * 1024
    assert parent_late - parent_early < 8 * 1024


def test_workers_are_recycled_after_their_share(library):
    with WorkerPool(1, timeout=10, max_batches_per_worker=2) as p:
        seen_pids = set()
        out = {}
        for results in p.map(batches(jobs_of(library, range(12)), 2)):
            seen_pids.update(p.pids)
            out.update({r.file_id: r for r in results})
        assert sorted(out) == list(range(12)) and p.restarts == 0
        assert len(seen_pids) >= 3
        pids = p.pids
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


def test_close_stops_every_worker(library):
    with WorkerPool(2, timeout=10) as p:
        pids = p.pids
        run(p, [jobs_of(library, [1, 2])])
    assert len(pids) == 2
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def test_read_falls_back_to_open_without_the_scanner(monkeypatch, tmp_path):
    path = tmp_path / "x.mid"
    path.write_bytes(b"MThd")
    monkeypatch.setitem(sys.modules, "runner.scan", None)  # import runner.scan now raises ImportError
    assert workers.read_bytes(str(path)) == b"MThd"
    assert workers.read_bytes("ignored", bytes(path)) == b"MThd"


def test_configuration():
    assert WorkerPool().n == (os.cpu_count() or 1)
    with pytest.raises(ValueError):
        WorkerPool(1, start_method="fork")
    with pytest.raises(RuntimeError):
        next(WorkerPool(1).map([]))  # not started: use it as a context manager
    for word in ("worker_crash", "timeout", "analysis_failed", "unreadable", "parse_failed", "not_midi",
                 "out_of_memory", "rejected"):
        assert word in ERROR_CLASSES


def test_workers_do_not_run_the_main_module_again(tmp_path: Path) -> None:
    """A worker (first start and every replacement of a crashed one) starts without importing the parent's
    main module, which for the `midicenter` command is the whole CLI. The script below counts its own
    imports in a file; only the parent may add to it, and the parent's main module is left as it was."""
    marks = tmp_path / "imports.txt"
    script = tmp_path / "main_script.py"
    script.write_text(
        "import os, sys\n"
        f"with open({str(marks)!r}, 'a') as fh:\n"
        "    fh.write(f'{os.getpid()}\\n')\n"
        "from runner.workers import TEST_EXIT, Job, WorkerPool\n"
        "if __name__ == '__main__':\n"
        "    spec, file = sys.modules['__main__'].__spec__, sys.modules['__main__'].__file__\n"
        "    with WorkerPool(1) as pool:\n"
        f"        jobs = [[Job(1, TEST_EXIT, None, False)], [Job(2, {str(script)!r}, None, False)]]\n"
        "        results = [r for batch in pool.map(iter(jobs)) for r in batch]\n"
        "    assert sys.modules['__main__'].__spec__ is spec and sys.modules['__main__'].__file__ == file\n"
        "    print(pool.restarts, sorted((r.file_id, r.error_class) for r in results))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split(maxsplit=1) == ["1", "[(1, 'worker_crash'), (2, 'not_midi')]\n"]
    assert len(marks.read_text().split()) == 1, "a worker imported the main module"


# ---------------------------------------------------------------- archives and memory


def zip_counting_reader(path: str, path_bytes: bytes | None = None) -> bytes:
    """Worker-side reader for tests: counts, per worker, the zip archives it opens from disk and the nested
    ones it inflates (every zipfile.ZipFile made, whoever makes it), in files beside the archive."""
    import zipfile

    if not getattr(zipfile.ZipFile, "_counted", False):
        original = zipfile.ZipFile.__init__
        where = Path(path.split("!", 1)[0]).parent / "counts"

        def counting_init(self, file, *args, **kwargs):
            kind = "inflate" if isinstance(file, io.BytesIO) else "open"
            with open(where / f"{os.getpid()}.{kind}", "a") as fh:
                fh.write("x")
            original(self, file, *args, **kwargs)

        zipfile.ZipFile.__init__ = counting_init
        zipfile.ZipFile._counted = True
    return workers.read_bytes(path, path_bytes)


def counts(folder: Path, kind: str) -> int:
    return sum(len(p.read_text()) for p in (folder / "counts").glob(f"*.{kind}"))


@pytest.fixture(scope="module")
def real_song() -> bytes:
    from tests import corpus

    real = corpus.real_corpus()
    return (real / "pianobooster/usr/share/doc/pianobooster/courses/BoosterMusic/02-LavendersBlue.mid").read_bytes()


def test_an_archive_is_opened_once_per_worker_not_once_per_member(tmp_path: Path, real_song: bytes) -> None:
    """2,000 members of one zip and 500 of a zip inside a zip, shared out as the analyzer does (sorted by
    path, slices of 200): each worker opens the archive and inflates the nested one once."""
    import zipfile

    (tmp_path / "counts").mkdir()
    pack, outer = tmp_path / "pack.zip", tmp_path / "outer.zip"
    with zipfile.ZipFile(pack, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(2000):
            z.writestr(f"loops/{i:04d}.mid", real_song)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(500):
            z.writestr(f"{i:03d}.mid", real_song)
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("inner.zip", inner.getvalue())
    jobs = [Job(i, f"{pack}!loops/{i:04d}.mid") for i in range(2000)]
    jobs += [Job(5000 + i, f"{outer}!inner.zip!{i:03d}.mid") for i in range(500)]
    jobs.sort(key=lambda j: j.path)
    expected = in_process(0, real_song)
    with WorkerPool(2, timeout=30, read="tests.test_workers:zip_counting_reader") as p:
        out = run(p, batches(jobs, 200))
    assert len(out) == 2500 and all(r.row == expected for r in out.values())
    assert counts(tmp_path, "open") <= 2 * 2  # each of the two archives, at most once per worker
    assert counts(tmp_path, "inflate") <= 2  # the nested archive, at most once per worker


def test_the_archive_cache_reads_what_read_path_reads_and_notices_a_new_archive(tmp_path: Path, real_song: bytes) -> None:
    import zipfile

    from runner import scan

    pack = tmp_path / "pack.zip"
    with zipfile.ZipFile(pack, "w") as z:
        z.writestr("a.mid", real_song)
        z.writestr("b.mid", real_song[:100])
        z.writestr("nested.zip", b"not a zip")
    cache = workers.ArchiveCache()
    assert cache.read(f"{pack}!a.mid") == scan.read_path(f"{pack}!a.mid") == real_song
    assert cache.read(f"{pack}!b.mid") == real_song[:100]
    assert cache.opens == 1
    for member, error_class in (("gone.mid", "vanished"), ("nested.zip!x.mid", "bad_archive")):
        with pytest.raises(scan.ReadError) as info:
            cache.read(f"{pack}!{member}")
        assert info.value.error_class == error_class
    time.sleep(0.01)
    with zipfile.ZipFile(pack, "w") as z:  # the archive at that path is replaced
        z.writestr("a.mid", real_song[:50])
    assert cache.read(f"{pack}!a.mid") == real_song[:50] and cache.opens == 2
    pack.unlink()
    with pytest.raises(scan.ReadError) as info:
        cache.read(f"{pack}!a.mid")
    assert info.value.error_class == "vanished"
    cache.close()


def big_song(real_song: bytes, repeats: int) -> bytes:
    """A real song with its longest track played `repeats` times more in one extra track: a real, valid file
    that makes the parser allocate a lot (repeats=40000: 17 MB, 1.9 million notes, ~390 MB to analyze)."""
    import struct

    pos, chunks = 14, []
    while pos + 8 <= len(real_song):
        length = int.from_bytes(real_song[pos + 4 : pos + 8], "big")
        chunks.append(real_song[pos : pos + 8 + length])
        pos += 8 + length
    events = max(chunks, key=len)[8:-4]  # without its end-of-track
    track = events * repeats + b"\x00\xff\x2f\x00"
    head = real_song[:10] + struct.pack(">H", len(chunks) + 1) + real_song[12:14]
    return head + b"".join(chunks) + b"MTrk" + struct.pack(">I", len(track)) + track


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
def test_a_file_that_needs_too_much_memory_is_its_own_out_of_memory_error(tmp_path: Path, real_song: bytes) -> None:
    big = tmp_path / "big.mid"
    big.write_bytes(big_song(real_song, 40000))
    small = tmp_path / "small.mid"
    small.write_bytes(real_song)
    jobs = [Job(1, str(small)), Job(2, str(big)), Job(3, str(big), None, True), Job(4, str(small))]
    with WorkerPool(1, timeout=60, memory=300 << 20) as p:
        before = p.pids
        out = run(p, [jobs])
        assert p.crashes == 0 and p.timeouts == 0
        assert p.pids != before  # the worker that ran out was replaced by a fresh one
        again = run(p, [[Job(5, str(small))]])
    assert out[2].error_class == "out_of_memory" and "300 MiB" in out[2].message
    assert out[3].error_class == "out_of_memory" and "mido" in out[3].message  # the fallback, refused up front
    assert out[1].row == out[4].row == again[5].row == in_process(1, real_song)
    with WorkerPool(1, timeout=60, memory=0) as p:  # without a limit the same file analyzes
        assert run(p, [[Job(2, str(big))]])[2].row is not None


def test_memory_limits_parse_and_default():
    assert workers.parse_memory("2G") == 2 << 30 and workers.parse_memory("512m") == 512 << 20
    assert workers.parse_memory("1.5GiB") == 3 << 29 and workers.parse_memory("0") == 0
    for bad in ("lots", "-1G", "10M"):
        with pytest.raises(ValueError):
            workers.parse_memory(bad)
    assert 512 << 20 <= workers.default_memory(2) <= workers.DEFAULT_MEMORY
    assert workers.default_memory(10_000) == 512 << 20
    with WorkerPool(2) as p:
        assert p.memory == workers.default_memory(2)
        run(p, [[Job(1, TEST_EXIT)], [Job(2, "/nowhere.mid")], [Job(3, "/nowhere.mid")]])  # one replaced
        deadline = time.monotonic() + 10
        for pid in p.pids:  # every worker, the replacement too, limits itself as it starts
            while True:
                limit = next(line for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
                             if line.startswith("Max address space"))
                if str(p.memory) in limit or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert str(p.memory) in limit


def test_bytes_that_are_not_the_files_content_are_never_analyzed(tmp_path: Path, real_song: bytes) -> None:
    """A file edited in place after the import holds other bytes: they are not this file's, so they give no
    facts (`changed`, transient) unless another of its paths still holds its content."""
    from blake3 import blake3

    content = blake3(real_song).digest()
    edited, kept = tmp_path / "edited.mid", tmp_path / "kept.mid"
    edited.write_bytes(song(5))  # another song now at the path
    kept.write_bytes(real_song)
    jobs = [Job(1, str(edited), None, False, content),
            Job(2, f"{edited}\x00{tmp_path / 'gone.mid'}\x00{kept}", None, False, content),
            Job(3, str(kept), None, False, content), Job(4, str(edited))]
    with WorkerPool(1, timeout=30, read="runner.analyzer:read_any") as p:  # the analyzer's multi-path reader
        out = run(p, [jobs])
    assert out[1].error_class == "changed" and str(edited) in out[1].message
    assert out[2].row == out[3].row == in_process(0, real_song)  # read from the path that still has it
    assert out[4].row == in_process(0, song(5))  # no hash to check: as before
