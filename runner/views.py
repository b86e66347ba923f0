"""Refreshing the library statistics and facet views after a run: only the views whose inputs the run
changed, in two sessions at once.

The views (db/migrations/0006, tag_counts since 0011) are materialized from midi.files. An import adds rows
(every view may change); an analysis rewrites the analysis columns of files (analyzed_at, duration,
cached_bpm, cached_key, cached_category, tag_ids, search_vector) and so cannot change the manufacturer and
collection counts, which read only manufacturer, collection_name and created_at. Each REFRESH ...
CONCURRENTLY reads the whole library once and works on one core; two sessions refresh two views at once.

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


def refresh(dsn: str, views: Iterable[str] = ALL_VIEWS, sessions: int = SESSIONS) -> list[str]:
    """Refresh ``views`` (names in schema midi, from ALL_VIEWS) without blocking readers, ``sessions`` at a
    time when this role owns them, else every view through midi.refresh_views(). Returns what it refreshed."""
    todo = [v for v in ALL_VIEWS if v in set(views)]
    unknown = set(views) - set(ALL_VIEWS)
    if unknown:
        raise ValueError(f"not a library view: {sorted(unknown)}")
    if not todo:
        return []
    with psycopg.connect(dsn, autocommit=True) as conn:
        owned = conn.execute(queries["views_owned"], [todo, todo]).fetchone()[0]
        if not owned:
            conn.execute(queries["refresh_views"])
            return list(ALL_VIEWS)
    lock = threading.Lock()
    failure: list[BaseException] = []
    done: list[str] = []

    def work() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
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

    threads = [threading.Thread(target=work, name=f"midicenter-refresh-{i}", daemon=True)
               for i in range(max(1, min(sessions, len(todo))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failure:
        raise failure[0]
    return done
