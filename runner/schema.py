"""Schema management: yoyo migrations plus re-applying the repeatable SQL in ``db/functions``.

yoyo's post-apply hook only runs when a migration was applied, so the runner re-applies every file of
``db/functions/`` itself after each migrate, in one transaction, in file-name order (STYLE.md).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

from runner.connect import yoyo_uri

log = logging.getLogger(__name__)

# Serialises concurrent `db migrate` runs on the function re-apply step (yoyo locks its own part).
_FUNCTIONS_LOCK_KEY = 0x6D6964_69


def sql_root() -> Path:
    """The ``db`` folder: ``runner/db`` inside an installed wheel, ``<checkout>/db`` in a source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "db", here.parent / "db"):
        if (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError(f"midicenter SQL not found next to {here} (looked for db/migrations)")


def migrations_dir() -> Path:
    return sql_root() / "migrations"


def functions_dir() -> Path:
    return sql_root() / "functions"


def pgtap_dir() -> Path:
    return sql_root() / "tests"


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied: bool


@contextlib.contextmanager
def _backend(dsn: str):
    """A yoyo backend whose connection is closed afterwards (yoyo itself leaves it open)."""
    from yoyo import get_backend

    backend = get_backend(yoyo_uri(dsn))
    try:
        yield backend
    finally:
        backend.connection.close()


def _migrations():
    from yoyo import read_migrations

    return read_migrations(str(migrations_dir()))


def status(dsn: str) -> list[MigrationState]:
    """Every migration known to this runner and whether the database has it."""
    migrations = _migrations()
    with _backend(dsn) as backend, backend.lock():
        applied = backend.to_rollback(migrations)
    ids = {m.id for m in applied}
    return [MigrationState(m.id, m.id in ids) for m in migrations]


def migrate(dsn: str) -> list[str]:
    """Apply pending migrations, re-apply db/functions, and build the search indexes a killed bulk load left
    missing (runner.bulk.repair); returns the ids applied (maybe none)."""
    migrations = _migrations()
    with _backend(dsn) as backend, backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    apply_functions(dsn)
    from runner import bulk

    bulk.repair(dsn)  # search indexes a killed bulk load left missing (none while a live run holds them)
    return [m.id for m in pending]


# The user's own data (DESIGN.md, invariant 7): what no schema operation may drop without an explicit
# opt-in. Each entry: (what it is called, SQL counting it, the relation the count needs). Tags are user
# data when users made them: the file_tags rows a user added, and the tags no path or analysis gave.
USER_DATA = (
    ("favorites", "SELECT count(*) FROM midi.favorites", "midi.favorites"),
    ("ratings", "SELECT count(*) FROM midi.ratings", "midi.ratings"),
    ("file_tags (source user)", "SELECT count(*) FROM midi.file_tags WHERE source = 'user'", "midi.file_tags"),
    ("tags (made by users)",
     "SELECT count(*) FROM midi.tags t WHERE EXISTS (SELECT 1 FROM midi.file_tags ft WHERE ft.tag_id = t.id)"
     " AND NOT EXISTS (SELECT 1 FROM midi.file_tags ft WHERE ft.tag_id = t.id AND ft.source <> 'user')",
     "midi.tags"),
    ("saved_searches", "SELECT count(*) FROM midi.saved_searches", "midi.saved_searches"),
)


class UserDataAtRisk(RuntimeError):
    """A rollback would drop the user's own data and was not allowed to; nothing was changed."""

    def __init__(self, lost: dict[str, int]) -> None:
        self.lost = lost
        what = ", ".join(f"{name} ({n:,} row{'s' if n != 1 else ''})" for name, n in lost.items())
        super().__init__(f"this rollback would drop user data: {what}; nothing was changed; "
                         "export what you need, then add --drop-user-data to roll back anyway")


def user_data(conn: psycopg.Connection) -> dict[str, int]:
    """How many rows of each kind of user data the database holds (0 where the table is absent)."""
    counts = {}
    for name, sql, relation in USER_DATA:
        present = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [relation]).fetchone()[0]
        counts[name] = conn.execute(sql).fetchone()[0] if present else 0
    return counts


@dataclass(frozen=True)
class Rollback:
    rolled_back: list[str]
    user_data_dropped: dict[str, int]


def rollback(dsn: str, *, count: int | None = 1, all_: bool = False, drop_user_data: bool = False) -> Rollback:
    """Roll back the last ``count`` migrations (or all), newest first, in one transaction.

    The repeatable layer goes first (its functions may name the tables being dropped, and it cannot be
    re-applied over a partial schema; the next migrate re-creates it), then each migration's rollback
    steps, then yoyo's record of them. One transaction: a rollback that fails anywhere changes nothing,
    the API functions included. Before it commits, the user data still there is counted again: when some
    would be lost and ``drop_user_data`` is not set, it raises UserDataAtRisk and rolls everything back.
    """
    migrations = _migrations()
    with _backend(dsn) as backend, backend.lock():
        todo = list(backend.to_rollback(migrations))
        if not all_:
            todo = todo[: count or 1]
        if not todo:
            return Rollback([], {})
        conn = backend.connection
        with backend.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_FUNCTIONS_LOCK_KEY])
            before = user_data(conn)
            _drop_repeatable(conn)
            for migration in todo:
                migration.load()
                try:
                    # every step runs inside this transaction (savepoints), also those of a migration
                    # marked "-- transactional: false": its rollback must not need CONCURRENTLY
                    for step in reversed(migration.steps):
                        step.rollback(backend)
                except psycopg.Error as exc:
                    first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                    detail = " ".join((exc.diag.message_detail or "").split())
                    raise RuntimeError(f"rollback of {migration.id} failed, nothing was changed "
                                       f"(the API functions are in place): {first}"
                                       + (f" ({detail})" if detail else "")) from exc
                backend.log_migration(migration, "rollback")
                backend.unmark_one(migration, log=False)
            after = user_data(conn)
            lost = {name: before[name] - after[name] for name in before if before[name] > after[name]}
            if lost and not drop_user_data:
                raise UserDataAtRisk(lost)
    return Rollback([m.id for m in todo], lost)


# The functions of the repeatable layer: every routine of schema midi except extension members, the
# functions a migration-owned index, column or materialized view is built on, and the functions those
# depend on (recorded for SQL-standard bodies): they belong to the migrations.
_REPEATABLE_FUNCTION = """
    p.pronamespace = 'midi'::regnamespace
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                                AND d.objid = p.oid AND d.deptype = 'e')
    AND p.oid NOT IN (
        WITH RECURSIVE owned(oid) AS (
            SELECT d.refobjid FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_proc'::regclass
               AND c.relkind IN ('i', 'I', 'r', 'p', 'm')
            UNION
            SELECT d.refobjid FROM pg_depend d JOIN owned o ON o.oid = d.objid
             WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_proc'::regclass)
        SELECT owned.oid FROM owned)
"""

_REPEATABLE_OBJECTS = f"""
SELECT format('DROP %s IF EXISTS %s CASCADE', kind, ident) FROM (
    SELECT 'VIEW' AS kind, c.oid::regclass::text AS ident, 1 AS ord
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'midi' AND c.relkind = 'v'
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
           p.oid::regprocedure::text, 2
      FROM pg_proc p
     WHERE {_REPEATABLE_FUNCTION}
) o ORDER BY ord
"""

def drop_functions(dsn: str) -> int:
    """Drop the repeatable layer (views, functions and, through CASCADE, their triggers) of schema midi;
    extension members and functions that migration-owned indexes, columns or materialized views are built
    on stay. Returns how many objects were dropped."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_FUNCTIONS_LOCK_KEY])
        return _drop_repeatable(conn)


def _drop_repeatable(conn: psycopg.Connection) -> int:
    """drop_functions inside the caller's transaction."""
    if not conn.execute("SELECT to_regnamespace('midi') IS NOT NULL").fetchone()[0]:
        return 0
    statements = [r[0] for r in conn.execute(_REPEATABLE_OBJECTS).fetchall()]
    for stmt in statements:
        conn.execute(stmt)
    return len(statements)


def _deferred_index_functions(conn: psycopg.Connection) -> set[str]:
    """The functions the search indexes a bulk load dropped (and has not built again, runner.bulk) are built
    on, and the functions those depend on: no index depends on them meanwhile, yet they belong to the
    migrations."""
    if not conn.execute("SELECT to_regclass('midi.deferred_indexes') IS NOT NULL").fetchone()[0]:
        return set()
    return {r[0] for r in conn.execute(_DEFERRED_INDEX_FUNCTIONS)}


def function_files() -> list[Path]:
    return sorted(functions_dir().glob("*.sql"))


# apply_functions marks every repeatable function before it runs the files: CREATE OR REPLACE replaces a
# function's settings (proconfig) with its new definition's, so a mark still there afterwards means the
# files no longer define that function (it was renamed, removed, or its arguments changed).
_MARK = "midi.apply_pending=on"
_MARK_FUNCTIONS = f"""
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.prokind IN ('f', 'p') AND {_REPEATABLE_FUNCTION} LOOP
        EXECUTE format('ALTER ROUTINE %s SET midi.apply_pending = on', f);
    END LOOP;
END
$$
"""
_DEFERRED_INDEX_FUNCTIONS = """
WITH RECURSIVE keep(oid) AS (
    SELECT p.oid FROM pg_proc p JOIN midi.deferred_indexes x ON strpos(x.definition, 'midi.' || p.proname || '(') > 0
     WHERE p.pronamespace = 'midi'::regnamespace
    UNION
    SELECT d.refobjid FROM pg_depend d JOIN keep k ON k.oid = d.objid
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_proc'::regclass)
SELECT oid::regprocedure::text FROM keep
"""
_STALE_FUNCTIONS = f"""
SELECT p.oid::regprocedure::text,
       ARRAY(SELECT format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::regclass)
               FROM pg_trigger t WHERE t.tgfoid = p.oid AND NOT t.tgisinternal)
  FROM pg_proc p
 WHERE p.proconfig @> ARRAY['{_MARK}'] AND {_REPEATABLE_FUNCTION}
 ORDER BY 1
"""


def apply_functions(dsn: str, directory: Path | None = None) -> int:
    """Run every db/functions file (or those of ``directory``) in one transaction, in name order, then drop
    the functions of the repeatable layer that the files no longer define (with the triggers that call
    them), so a changed signature leaves no old overload behind. Anything else that depends on such a
    function stops the apply with PostgreSQL's message naming it. Returns how many files were applied."""
    files = sorted(directory.glob("*.sql")) if directory else function_files()
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_FUNCTIONS_LOCK_KEY])
        conn.execute(_MARK_FUNCTIONS)
        for path in files:
            try:
                conn.execute(path.read_text(encoding="utf-8"))
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                raise RuntimeError(f"{path.name}: {first}") from exc
        kept = _deferred_index_functions(conn)
        for function, triggers in conn.execute(_STALE_FUNCTIONS).fetchall():
            if function in kept:
                continue  # an index a bulk load dropped for a while is built on it: it belongs to the migrations
            try:
                for stmt in triggers:
                    conn.execute(stmt)
                conn.execute(f"DROP ROUTINE {function}")  # a regprocedure from the catalog, quoted by it
            except psycopg.Error as exc:
                why = "; ".join(x for x in (exc.diag.message_primary, exc.diag.message_detail) if x) or str(exc)
                raise RuntimeError(f"{function} is no longer defined by db/functions but cannot be dropped: "
                                   f"{why}") from exc
            log.info("dropped %s: db/functions no longer defines it", function)
    return len(files)
