"""The web server of `midicenter browse`: one page, its static assets, and a JSON API over midi.* calls.

The standard library's ThreadingHTTPServer is enough here and adds no dependency: one user on the same
machine, a handful of small JSON requests per interaction, and every request's time spent in PostgreSQL;
a thread per request keeps a slow facet count from holding up the list. It is bound to 127.0.0.1 only.
Requests whose Host header is not this server's address (DNS rebinding), that a browser marks as coming
from another site, or that post anything but JSON are refused, so no other web page can use it.

Every API endpoint is one named statement of runner/browse/queries.sql (one midi.* call, bound
parameters), run by runner.browse.library in the reader role (the two writes in the writer role), except
the file's bytes (read from a location midi.file_sources gives, checked against the content hash) and
"collect" (runner.export, when that module exists).
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from runner import filters
from runner.browse import library as lib

STATIC = Path(__file__).with_name("static")
HOST = "127.0.0.1"
DEFAULT_PORT = 6434  # M-I-D-I on a phone keypad
PAGE_SIZE_MAX = 500
FACET_LIMIT = 12
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
# Everything the page loads comes from this server: no other origin, no inline script.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class PortInUse(Exception):
    """The asked port is taken on 127.0.0.1."""


def export_module():
    """runner.export when this midicenter has `midicenter export` (export() and ExportOptions), else None."""
    if importlib.util.find_spec("runner.export") is None:
        return None
    module = importlib.import_module("runner.export")
    return module if callable(getattr(module, "export", None)) and callable(getattr(module, "ExportOptions", None)) else None


COLLECT_OPTIONS = {"to": "a folder to write the files to", "zip": "a zip archive to write instead of a folder",
                   "rename": "a --rename template", "keep_tree": "manufacturer/collection folders",
                   "link": "links instead of copies", "inside_library": "a destination inside an imported folder"}
"""The export command's options the page may give (--to, --zip, --rename, --keep-tree, --link,
--inside-library), by the names the page sends."""
COLLECT_SUMMARY = ("dest", "manifest", "files", "written", "present", "errors", "error_classes")


def collect(target, request: dict[str, Any]) -> dict[str, Any]:
    """Export the page's current result list as `midicenter export` does: ``request`` holds the page's
    ``filters`` (the midi.search_filters JSON object) and ``options`` (the export command's options by
    COLLECT_OPTIONS' names). The sort does not matter to an export and is ignored. Answers the export's
    summary; a destination that cannot be written or a bad template is the caller's error (BadInput)."""
    module = export_module()
    if module is None:
        raise lib.NotFound("collect needs `midicenter export`, which this midicenter does not have")
    import psycopg

    from runner import connect

    opts = request.get("options") or {}
    if not isinstance(opts, dict):
        raise lib.BadInput("options must be an object of the export command's options")
    unknown = sorted(set(opts) - set(COLLECT_OPTIONS))
    if unknown:
        raise lib.BadInput(f"unknown export option(s): {', '.join(unknown)} (known: {', '.join(COLLECT_OPTIONS)})")
    places = [k for k in ("to", "zip") if opts.get(k)]
    if len(places) != 1:
        raise lib.BadInput("say where to: a folder (to) or a zip archive (zip), one of them")
    dest = opts[places[0]]
    if not isinstance(dest, str) or not Path(dest).is_absolute():
        raise lib.BadInput(f"the {places[0]} destination must be an absolute path, not {dest!r}")
    if places[0] == "zip" and opts.get("link"):
        raise lib.BadInput("link makes links in a folder; a zip archive holds copies")
    options = module.ExportOptions(template=opts.get("rename") or None, keep_tree=bool(opts.get("keep_tree")),
                                   link=bool(opts.get("link")), zip=places[0] == "zip",
                                   inside_library=bool(opts.get("inside_library")))
    try:
        result = module.export(connect.target_dsn(target), request.get("filters") or {}, dest, options)
    except module.DestinationError as exc:
        raise lib.BadInput(str(exc)) from None
    except psycopg.errors.InvalidParameterValue as exc:  # a --rename template with an unknown field
        raise lib.BadInput(exc.diag.message_primary or str(exc)) from None
    except psycopg.OperationalError as exc:
        raise lib.Unavailable("connection", f"collect: {str(exc).strip()}") from None
    data = module.result_dict(result)
    return {k: data[k] for k in COLLECT_SUMMARY if k in data}


class Reporter:
    """One line on stderr when the database's state changes (gone, back), not one per request."""

    def __init__(self, out=None) -> None:
        self.out = out
        self.last: str | None = None
        self.lock = threading.Lock()

    def say(self, message: str | None) -> None:
        with self.lock:
            if message == self.last:
                return
            if message is not None:
                print(f"midicenter browse: {message}", file=self.out or sys.stderr, flush=True)
            elif self.last is not None:
                print("midicenter browse: the database answers again", file=self.out or sys.stderr, flush=True)
            self.last = message


class BrowseServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port another server listens on must fail to bind, never be shared

    def __init__(self, port: int, library: lib.Library, reporter: Reporter | None = None) -> None:
        try:
            super().__init__((HOST, port), Handler)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                why = "in use" if exc.errno == errno.EADDRINUSE else "not allowed for this user"
                raise PortInUse(f"port {port} on {HOST} is {why}; choose another with --port N "
                                "(--port 0 picks a free one)") from None
            raise
        self.library = library
        self.reporter = reporter or Reporter()
        self.hosts = {f"{HOST}:{self.server_port}", f"localhost:{self.server_port}"}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_port}/"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"not JSON: {type(value).__name__}")


class Handler(BaseHTTPRequestHandler):
    server: BrowseServer
    server_version = "midicenter-browse"
    protocol_version = "HTTP/1.1"

    # ----------------------------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the terminal gets the database's state changes (Reporter), not an access log."""

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(data, default=_json_default, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8", extra)

    def _error(self, status: int, message: str, kind: str = "request") -> None:
        self.close_connection = True  # a refused request's body may be unread: never reuse its connection
        self._json(status, {"error": message, "kind": kind})

    def _allowed(self) -> bool:
        """Only this server's own pages may use it: the right Host (no DNS rebinding), no request a browser
        marks as coming from another site."""
        if self.headers.get("Host", "") not in self.server.hosts:
            self._error(HTTPStatus.MISDIRECTED_REQUEST, "this server answers only as " + self.server.url)
            return False
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            self._error(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
            return False
        return True

    def _body(self, allowed: set[str]) -> dict[str, Any] | None:
        """The posted JSON object; None (after answering 400/415) when it is not one or has unknown keys."""
        if self.headers.get_content_type() != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "post JSON (Content-Type: application/json)")
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
            return None
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return None
        if not isinstance(data, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return None
        unknown = sorted(set(data) - allowed)
        if unknown:
            self._error(HTTPStatus.BAD_REQUEST, f"unknown argument(s): {', '.join(unknown)}")
            return None
        return data

    def _db(self, fn: Callable[[], Any]) -> None:
        """Answer with what one database call returned, or with its failure in one line."""
        reporter = self.server.reporter
        started = time.perf_counter()
        try:
            data = fn()
        except lib.Unavailable as exc:
            reporter.say(str(exc))
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc), exc.kind)
            return
        except lib.BadInput as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except lib.Refused as exc:
            self._error(HTTPStatus.FORBIDDEN, str(exc))
            return
        except lib.NotFound as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
            return
        except lib.Timeout as exc:
            self._error(HTTPStatus.GATEWAY_TIMEOUT, str(exc))
            return
        reporter.say(None)
        took = (time.perf_counter() - started) * 1000
        if isinstance(data, tuple):  # (name, bytes): a MIDI file
            name, raw = data
            self._send(HTTPStatus.OK, raw, "audio/midi", {
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                "Server-Timing": f"db;dur={took:.1f}"})
            return
        self._json(HTTPStatus.OK, data, {"Server-Timing": f"db;dur={took:.1f}"})

    # -------------------------------------------------------------------------------------- routes

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if not self._allowed():
            return
        path = urlsplit(self.path).path
        library = self.server.library
        if path == "/":
            self._static("index.html")
        elif m := re.fullmatch(r"/static/([a-z0-9_-]+\.(?:js|css|svg|png))", path):
            self._static(m.group(1))
        elif path == "/api/status":
            self._db(lambda: self._status(library))
        elif m := re.fullmatch(r"/api/files/(\d{1,18})", path):
            file_id = int(m.group(1))
            self._db(lambda: _one(library.call("file_details", {"id": file_id}), file_id))
        elif m := re.fullmatch(r"/api/files/(\d{1,18})/midi", path):
            file_id = int(m.group(1))
            self._db(lambda: library.file_bytes(file_id))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def do_POST(self) -> None:  # noqa: N802
        if not self._allowed():
            return
        path = urlsplit(self.path).path
        library = self.server.library
        if path == "/api/search":
            body = self._body({"filters", "sort", "after", "lim"})
            if body is not None:
                self._db(lambda: self._search(library, body))
        elif path == "/api/count":
            body = self._body({"filters"})
            if body is not None:
                self._db(lambda: library.call("search_count", {"filters": _filters(body)})[0])
        elif path == "/api/facets":
            body = self._body({"filters", "facet_limit"})
            if body is not None:
                self._db(lambda: library.call("facets", {
                    "filters": _filters(body), "facet_limit": _int(body.get("facet_limit"), FACET_LIMIT, 1, 100)}))
        elif m := re.fullmatch(r"/api/files/(\d{1,18})/similar", path):
            body = self._body({"lim"})
            if body is not None:
                self._db(lambda: self._similar(library, {"id": int(m.group(1)),
                                                         "lim": _int(body.get("lim"), 20, 1, 100)}))
        elif m := re.fullmatch(r"/api/files/(\d{1,18})/favorite", path):
            body = self._body(set())
            if body is not None:
                self._db(lambda: library.call("favorite_toggle", {"id": int(m.group(1))}, write=True)[0])
        elif m := re.fullmatch(r"/api/files/(\d{1,18})/rating", path):
            body = self._body({"stars"})
            if body is not None:
                self._db(lambda: library.call("rate", {"id": int(m.group(1)),
                                                       "stars": _int(body.get("stars"), 0, 0, 5)}, write=True)[0])
        elif path == "/api/collect":
            body = self._body({"filters", "sort", "options"})
            if body is not None:
                self._db(lambda: collect(library.target, body))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")

    # ------------------------------------------------------------------------------------ handlers

    def _static(self, name: str) -> None:
        path = STATIC / name
        if not path.is_file():
            self._error(HTTPStatus.NOT_FOUND, f"no such file: {name}")
            return
        self._send(HTTPStatus.OK, path.read_bytes(), TYPES[path.suffix])

    @staticmethod
    def _status(library: lib.Library) -> dict[str, Any]:
        return library.status() | {
            "collect": export_module() is not None,
            "sorts": list(filters.SORTS),
            "keys": list(filters.MUSICAL_KEYS),
            "categories": list(filters.CATEGORIES),
            "page_size": 50,
        }

    @staticmethod
    def _search(library: lib.Library, body: dict[str, Any]) -> dict[str, Any]:
        sort = body.get("sort")
        if sort is not None and sort not in filters.SORTS:
            raise lib.BadInput(f"sort must be one of {', '.join(filters.SORTS)}")
        after = body.get("after")
        if after is not None and not isinstance(after, str):
            raise lib.BadInput("after must be the cursor text of the previous page's last row")
        lim = _int(body.get("lim"), 50, 1, PAGE_SIZE_MAX)
        rows = library.call("search", {"filters": _filters(body), "sort": sort, "lim": lim, "after": after})
        return {"results": rows, "after": rows[-1]["cursor"] if len(rows) >= lim else None}

    @staticmethod
    def _similar(library: lib.Library, params: dict[str, Any]) -> list[dict[str, Any]]:
        if not library.session().similar:
            raise lib.NotFound("this database has no midi.similar (or this role may not call it)")
        return library.call("similar", params)


def _filters(body: dict[str, Any]):
    """The page's filter object, passed through as JSON: midi._filters checks its keys and types."""
    from psycopg.types.json import Jsonb

    value = body.get("filters") or {}
    if not isinstance(value, dict):
        raise lib.BadInput("filters must be a JSON object of search arguments")
    return Jsonb(value)


def _int(value: Any, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise lib.BadInput(f"expected a whole number from {low} to {high}, not {value!r}")
    return value


def _one(rows: list[dict[str, Any]], file_id: int) -> dict[str, Any]:
    if not rows:
        raise lib.NotFound(f"no file with id {file_id}")
    return rows[0]


def serve(server: BrowseServer) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM); close the database sessions after."""
    import signal

    def stop(signum, frame) -> None:  # noqa: ARG001
        threading.Thread(target=server.shutdown, daemon=True).start()

    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.library.close()
