"""A one-line progress display on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work and redraws `label: N files  R files/s  E errors` at most five times a second."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done = 0
        self.errors = 0
        self._last_draw = 0.0

    def update(self, done: int = 0, errors: int = 0) -> None:
        self.done += done
        self.errors += errors
        if self.enabled:
            now = time.perf_counter()
            if now - self._last_draw >= 0.2:
                self._last_draw = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.start, 1e-9)
        self.stream.write(f"\r{self.label}: {self.done:,} files  {rate:,.0f} files/s  {self.errors:,} errors ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
