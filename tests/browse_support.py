"""What the browse tests share: a library imported from real files, `midicenter browse` run as a user runs
it (a subprocess of the CLI), JSON requests to it, and headless Chromium from Debian driven by Selenium.

Chromium runs from /usr/bin/chromium with Debian's matching chromedriver: nothing is downloaded (Selenium
Manager is never asked, since both paths are given). As root it needs --no-sandbox; every run gets a fresh
profile folder.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import mido

from tests import corpus

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NO_TARGET = ("MIDICENTER_DSN", "DATABASE_URL", "PGHOST", "PGDATABASE", "PGPORT", "PGUSER")
DEMO_FILES = 3000
"""The demo library's generator (seed 42, as `make demo`) at a size where a query and a ticked facet still
fill two pages."""


def demo_library() -> Path:
    """The generated sample-pack library of `make demo` (seed 42), cached with the other test libraries."""
    from runner.bench import library

    return library.generate(corpus.default_cache_dir() / "libs", DEMO_FILES, seed=42)


def real_songs(root: Path, n: int = 6) -> Path:
    """A few real multi-track songs (Debian packages, tests/corpus.py), copied under root."""
    real = sorted(corpus.real_corpus().rglob("*.mid"))[:n]
    root.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(real):
        shutil.copy(path, root / f"song_{i:02d}_{path.name}")
    return root


def fill(dsn: str, *roots: Path) -> None:
    """Import and analyze roots into the database, as `midicenter import` and `analyze` do."""
    from runner import analyzer, importer

    importer.run_import(dsn, [str(r) for r in roots])
    analyzer.run_analysis(dsn, workers=1)


def mido_notes(path: str) -> int:
    """Notes of a file as mido reads it: note-on messages with a velocity above 0."""
    return sum(1 for track in mido.MidiFile(path).tracks for m in track if m.type == "note_on" and m.velocity > 0)


@dataclass
class Browse:
    """A running `midicenter browse`: its URL, and what it printed on stderr so far."""

    proc: subprocess.Popen
    url: str
    _err: list[str] = field(default_factory=list)

    def stderr(self) -> str:
        return "".join(self._err)

    def said(self, text: str, timeout: float = 60) -> str:
        """Wait until stderr holds text (the terminal lines come after the URL); return all of stderr."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if time.monotonic() > deadline:
                raise AssertionError(f"midicenter browse never said {text!r}; it said: {self.stderr()!r}")
            time.sleep(0.05)
        return self.stderr()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict | bytes, dict[str, str]]:
        return request(self.url + path.lstrip("/"), headers=headers)

    def post(self, path: str, body: object, headers: dict[str, str] | None = None):
        data = json.dumps(body).encode()
        return request(self.url + path.lstrip("/"), data, {"Content-Type": "application/json", **(headers or {})})


def request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None):
    """(status, JSON or bytes, headers) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, body, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, body, hdrs = exc.code, exc.read(), dict(exc.headers)
    if hdrs.get("Content-Type", "").startswith("application/json"):
        return status, json.loads(body), hdrs
    return status, body, hdrs


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NO_TARGET}
    return env | (extra or {})


@contextmanager
def browse(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
           options: tuple[str, ...] = ()) -> Iterator[Browse]:
    """Run `midicenter [args] browse --port 0 [options]` until the block ends; yields once it printed its URL."""
    cmd = [sys.executable, "-m", "runner.cli", *args, "browse", "--port", "0", *options]
    proc = subprocess.Popen(cmd, cwd=REPO, env=cli_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    err: list[str] = []
    readers = [threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True),
               threading.Thread(target=lambda: [err.append(x) for x in proc.stderr], daemon=True)]
    for t in readers:
        t.start()
    try:
        try:
            url = lines.get(timeout=timeout).strip()
        except queue.Empty:
            raise AssertionError(f"midicenter browse printed no URL in {timeout} s: {''.join(err)}") from None
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), (url, "".join(err))
        yield Browse(proc, url, err)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        for t in readers:
            t.join(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None (scripts/ensure-system-packages.sh installs both)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (f"{' and '.join(missing)} missing: apt-get install chromium chromium-driver "
                "(make test installs them as root)")
    return None


@contextmanager
def chromium(tmp: Path, size: tuple[int, int] = (1400, 860)) -> Iterator[object]:
    """A headless Chromium session (Selenium WebDriver) with its browser log kept, closed after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    for arg in ("--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={size[0]},{size[1]}",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
