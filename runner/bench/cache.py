"""Where the benchmarks and the demo keep what they generate or read: one cache folder.

``$MIDICENTER_CACHE``, else ``~/.cache/midicenter``. Generated libraries go to ``libs/`` (built by
``runner.bench.library`` on demand); the real-song corpus that ``midicenter bench analyze`` reads is
``songs/``, built by the test tooling (``make corpus``), never by the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

SONGS_COMMAND = "make corpus"
"""How to build the real-song corpus (in a midicenter checkout; it runs python -m tests.corpus songs)."""


def cache_dir() -> Path:
    """`$MIDICENTER_CACHE`, else `~/.cache/midicenter`."""
    env = os.environ.get("MIDICENTER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "midicenter"


def libs_dir() -> Path:
    """The folder of generated libraries (``lib-<n>-s<seed>/``)."""
    return cache_dir() / "libs"


def songs_dir() -> Path:
    """The default real-song corpus of ``midicenter bench analyze``."""
    return cache_dir() / "songs"
