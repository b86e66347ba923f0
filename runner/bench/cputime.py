"""Where a benchmark run's CPU goes: the server's processes and the runner's process tree, from /proc.

Server: the CPU time of a local PostgreSQL server's whole process tree, read from /proc through psutil:
the postmaster's own time, the time of every live child (backends, parallel workers, autovacuum, WAL
writer, checkpointer) and, through the postmaster's children_user/children_system, the time of every
child that exited and was reaped (a backend whose connection closed). The difference between two
readings is everything the server did in between, whichever session did it. Only a server on this
machine can be read (found as the parent of a backend's process id); elsewhere it is None.

Runner: the processes of a benchmark's child command (the command, and for analysis its fork server and
worker processes), sampled every 20 ms; each process counts with the last CPU time seen for it (its own
user + system time), so a process loses at most its last 20 ms. The command itself is reaped with wait4,
whose rusage is exact and includes every descendant it waited for, so the larger of the two is used.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading

import psutil
import psycopg


def _own(t) -> float:
    return float(t.user + t.system)


class ServerCPU:
    """CPU seconds of a local PostgreSQL server's process tree (None when the server is not local)."""

    def __init__(self, dsn: str) -> None:
        self.postmaster: psutil.Process | None = None
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                # while the session lives: once closed, its backend exits and has no parent to find
                parent = psutil.Process(backend).parent()
            if parent is not None and "postgres" in (parent.name() or "") + " ".join(parent.cmdline() or []):
                self.postmaster = parent
        except (psutil.Error, psycopg.Error, OSError):
            self.postmaster = None

    def seconds(self) -> float | None:
        """Total CPU seconds of the server so far (live processes and reaped children)."""
        if self.postmaster is None:
            return None
        try:
            t = self.postmaster.cpu_times()
            total = _own(t) + float(t.children_user + t.children_system)
            for child in self.postmaster.children():
                with contextlib.suppress(psutil.Error):
                    total += _own(child.cpu_times())
            return total
        except psutil.Error:
            return None


class TreeSampler(threading.Thread):
    """Samples a process and its descendants every `interval` seconds: peak summed RSS (bytes), number of
    processes at the peak, and the last own CPU time seen for every process (seconds)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self.cpu: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error), p.oneshot():
                    total += p.memory_info().rss
                    self.cpu[p.pid] = _own(p.cpu_times())
            if total > self.peak:
                self.peak, self.peak_processes = total, len(procs)
            self.done.wait(self.interval)

    def cpu_seconds(self, rusage: object | None = None) -> float:
        """The tree's CPU seconds: the sampled processes, or the exact wait4 rusage of the root (which
        counts every descendant it reaped) when that is larger."""
        sampled = sum(self.cpu.values())
        if rusage is None:
            return sampled
        exact = float(rusage.ru_utime + rusage.ru_stime)
        return max(sampled, exact)


def per_file(seconds: float | None, files: int) -> float | None:
    """Microseconds per file, one decimal (None when not measured)."""
    if seconds is None or files <= 0:
        return None
    return round(seconds * 1e6 / files, 1)


def wait_child(proc) -> tuple[int, object]:
    """Reap a Popen child with wait4: (exit code, rusage)."""
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    return code, usage


def us_text(value: float | None) -> str:
    """Microseconds per file as a report shows them (the server's CPU is unknown when it is not local)."""
    return "n/a (server not local)" if value is None else f"{value:,.0f} us"


def median_known(values: list) -> float | None:
    """The median of the values measured (None where a run could not measure), one decimal; None if none was."""
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None
