"""Progress a person can read, on stderr, drawn only when stderr is a terminal (tqdm does the drawing).

`analyze` knows its total (midi.analysis_pending): it shows done/total, percent, a bar, the rate and the
time left. `import` streams (nothing counts the library first): it shows the files and bytes read so far,
the rate, the errors and the folder being read. Nothing is drawn when stderr is not a terminal or with
``--quiet``, and then the callbacks are not even handed to the import or the analysis.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from typing import Any, TextIO

from tqdm import tqdm

_REFRESH = 0.2  # seconds between redraws
_ANALYZE_FORMAT = ("{desc}: {n_fmt}/{total_fmt} files {percentage:3.0f}% |{bar}| {speed}, "
                   "{remaining} left, {errors} errors")
_COUNT_FORMAT = "{desc}: {n_fmt} files {speed}, {errors} errors"
_IMPORT_FORMAT = "{desc}: {n_fmt} files, {size} read, {speed}, {errors} errors, in {folder}"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 0


class _Bar(tqdm):
    """tqdm with a few fields of our own in its format (errors, bytes, the current folder)."""

    def __init__(self, *args: Any, extra: dict[str, Any], **kwargs: Any) -> None:
        self.extra = extra
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self) -> dict[str, Any]:
        d = super().format_dict
        rate = d.get("rate") or (d["n"] / d["elapsed"] if d["elapsed"] else 0)
        d.update(self.extra, n_fmt=f"{d['n']:,}", total_fmt=f"{d['total']:,}" if d["total"] is not None else "?",
                 speed=f"{rate:,.0f} files/s")
        return d


class Progress:
    """One progress line on stderr. ``update(done, errors)`` after each applied batch or merged chunk,
    ``total(n)`` once the total is known (then a bar with percent and time left), ``file(path, nbytes)``
    for each file the import reads. Thread-safe: callbacks arrive from several threads."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None,
                 quiet: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = not quiet and (self.stream.isatty() if enabled is None else enabled)
        self.errors = 0
        self._lock = threading.Lock()
        self._bar: _Bar | None = None
        # import side: files and bytes read, the last path, counted here and handed to tqdm at most
        # five times a second (a call per file must cost next to nothing)
        self._files = 0
        self._bytes = 0
        self._path = ""
        self._flushed = 0
        self._next = 0.0

    # ------------------------------------------------------------------------------ what callers call

    def import_callbacks(self) -> dict[str, Any]:
        """The keyword arguments of importer.run_import that feed this display (none when not drawn)."""
        return {"progress": self.update, "seen": self.file} if self.enabled else {}

    def analyze_callbacks(self) -> dict[str, Any]:
        """The keyword arguments of analyzer.run_analysis that feed this display (none when not drawn)."""
        return {"progress": self.update, "total": self.total} if self.enabled else {}

    def total(self, n: int) -> None:
        """The number of files this run will take (analyze): switches to done/total, percent, time left."""
        if not self.enabled or n <= 0:
            return
        with self._lock:
            bar = self._ensure(_ANALYZE_FORMAT, total=int(n))
            bar.total = max(int(n), bar.n)
            bar.bar_format = _ANALYZE_FORMAT
            bar.refresh()

    def update(self, done: int = 0, errors: int = 0) -> None:
        """Files finished (analyze) or merged (import), and how many of them were errors."""
        if not self.enabled:
            return
        with self._lock:
            self.errors += errors
            if self._files:  # import: the count is of files read; merged chunks only bring errors
                bar = self._ensure(_IMPORT_FORMAT)
                bar.extra["errors"] = f"{self.errors:,}"
                return
            bar = self._ensure(_COUNT_FORMAT)
            bar.extra["errors"] = f"{self.errors:,}"
            if bar.total is not None and bar.n + done > bar.total:
                bar.total = bar.n + done  # another runner left more than was pending: never over 100%
            bar.update(done)

    def file(self, path: str, nbytes: int) -> None:
        """One file read by the import (its path and size)."""
        if not self.enabled:
            return
        self._files += 1
        self._bytes += nbytes
        self._path = path
        now = time.monotonic()
        if now >= self._next:
            self._next = now + _REFRESH
            self._flush()

    def close(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._files:
                self._flush_locked()
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    # -------------------------------------------------------------------------------------- internals

    def _ensure(self, fmt: str, total: int | None = None, **extra: str) -> _Bar:
        if self._bar is None:
            # follow the terminal's width; a terminal that reports no size (0x0: `script ... /dev/null`,
            # a bare pty) gets 110 columns, and a row count, without which tqdm draws nothing at all
            sized = _columns(self.stream) > 0
            self._bar = _Bar(total=total, desc=self.label, file=self.stream, bar_format=fmt, unit=" files",
                             mininterval=_REFRESH, maxinterval=1.0, smoothing=0.1, dynamic_ncols=sized,
                             ncols=None if sized else 110, nrows=None if sized else 24, leave=True,
                             extra={"errors": f"{self.errors:,}", "size": "0 B", "folder": ""} | extra)
        return self._bar

    def _flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        folder = os.path.dirname(self._path)
        folder = folder if len(folder) <= 60 else "..." + folder[-57:]
        bar = self._ensure(_IMPORT_FORMAT, folder=folder)
        bar.bar_format = _IMPORT_FORMAT
        bar.extra.update(size=_size(self._bytes), folder=folder)
        n, self._flushed = self._files - self._flushed, self._files
        bar.update(n)
