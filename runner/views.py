"""Refreshing the library statistics and facet views after a run: only the views whose inputs the run
changed, in the run's own session, and for a large library in two sessions at once.

The views (db/migrations/0006, tag_counts since 0011) are materialized from midi.files. An import adds rows
(every view may change); an analysis rewrites the analysis columns of files (analyzed_at, duration,
cached_bpm, cached_key, cached_category, tag_ids, search_vector) and so cannot change the manufacturer and
collection counts, which read only manufacturer, collection_name and created_at. Each REFRESH ...
CONCURRENTLY reads the whole library once and works on one core; from 100,000 files, two sessions refresh two
views at once.

Only the views' owner may refresh them directly. Any other role (midi_writer) calls midi.refresh_views(),
the one SECURITY DEFINER function, which refreshes all of them in one session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import psycopg
from psycopg import sql

from runner.queries import queries

ALL_VIEWS: tuple[str, ...] = ("library_stats", "tag_counts", "manufacturer_counts", "collection_counts",
                              "key_counts", "category_counts", "bpm_bucket_counts")
"""Every view midi.refresh_views() refreshes, the costliest first (library_stats counts distinct values over
every row; tag_counts unnests every file's tag_ids)."""
ANALYSIS_VIEWS: tuple[str, ...] = ("library_stats", "tag_counts", "key_counts", "category_counts",
                                   "bpm_bucket_counts")
"""The views whose inputs an analysis changes (not manufacturer_counts and collection_counts)."""
SESSIONS = 2
TWO_SESSIONS_FROM = 100_000
"""Files (the planner's estimate) from which a second session pays: a view of a small library refreshes in
tens of milliseconds, about what opening a session costs on a busy machine (measured: 50-130 ms per view
and 140 ms per connection on 2,562 files at load average 20)."""


def refresh(dsn: str, views: Iterable[str] = ALL_VIEWS, conn: psycopg.Connection | None = None,
            sessions: int = SESSIONS) -> list[str]:
    """Refresh ``views`` (names in schema midi, from ALL_VIEWS) without blocking readers. When this role owns
    them: in ``conn`` (an autocommit session of the caller, else a new one) and, for a large library, in
    ``sessions`` - 1 more at once; else every view through midi.refresh_views(). Returns what it refreshed."""
    wanted = set(views)
    unknown = wanted - set(ALL_VIEWS)
    if unknown:
        raise ValueError(f"not a library view: {sorted(unknown)}")
    todo = [v for v in ALL_VIEWS if v in wanted]
    if not todo:
        return []
    if conn is None:
        with psycopg.connect(dsn, autocommit=True) as own:
            return refresh(dsn, todo, own, sessions)
    owned, files = conn.execute(queries["views_owned"], [todo, todo]).fetchone()
    if not owned:
        conn.execute(queries["refresh_views"])
        return list(ALL_VIEWS)
    lock = threading.Lock()
    failure: list[BaseException] = []
    done: list[str] = []

    def work(c: psycopg.Connection) -> None:
        try:
            while True:
                with lock:
                    if not todo or failure:
                        return
                    view = todo.pop(0)
                c.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(sql.Identifier("midi", view)))
                with lock:
                    done.append(view)
        except BaseException as exc:  # noqa: BLE001 -- re-raised by the caller's thread
            with lock:
                failure.append(exc)

    def other() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
                work(c)
        except BaseException as exc:  # noqa: BLE001
            with lock:
                failure.append(exc)

    extra = max(0, min(sessions, len(todo)) - 1) if (files or 0) >= TWO_SESSIONS_FROM else 0
    threads = [threading.Thread(target=other, name=f"midicenter-refresh-{i}", daemon=True) for i in range(extra)]
    for t in threads:
        t.start()
    work(conn)
    for t in threads:
        t.join()
    if failure:
        raise failure[0]
    return done
