"""midi.analysis_claim with two real sessions: the rows one session claimed are locked against the other
until its transaction ends, the other's own claim skips them and returns different files, and the lock
(FOR NO KEY UPDATE) still lets the other session reference a claimed file (a favorite's foreign key)."""

from __future__ import annotations

import psycopg
import pytest

from runner.queries import queries

VERSION = 1


@pytest.fixture
def six_files(dsn: str) -> list[int]:
    """Six files that need analysis (never analyzed), each with a path."""
    with psycopg.connect(dsn) as conn:
        ids = [r[0] for r in conn.execute("""
            INSERT INTO midi.files (filename, filepath, content_hash, file_size_bytes)
            SELECT 'f' || i || '.mid', '/lib/f' || i || '.mid', sha256(int8send(i)), 100
              FROM generate_series(1, 6) AS i
            RETURNING id""").fetchall()]
        conn.execute("INSERT INTO midi.file_paths (path, file_id) SELECT filepath, id FROM midi.files")
    return sorted(ids)


def claim(conn: psycopg.Connection, n: int, after: int = 0) -> list[int]:
    return [r[0] for r in conn.execute(queries["analysis_claim"], [after, n, VERSION, None]).fetchall()]


def test_a_claim_locks_its_rows_against_a_second_session(dsn: str, six_files: list[int]) -> None:
    # a statement of the second session that waited instead of skipping fails after 5 s, never hangs
    with psycopg.connect(dsn) as first, psycopg.connect(dsn, options="-c lock_timeout=5s") as second:
        mine = claim(first, 3)  # first's transaction stays open: its claim holds the locks
        assert mine == six_files[:3]

        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute("SELECT id FROM midi.files WHERE id = ANY(%s) FOR UPDATE NOWAIT", [mine])
        second.rollback()

        theirs = claim(second, 10)  # the same keyset start: the locked files are skipped, not waited for
        assert theirs == six_files[3:]
        assert not set(mine) & set(theirs)
        second.rollback()

        # FOR NO KEY UPDATE: a row that only references a claimed file (foreign key) does not wait
        second.execute("INSERT INTO midi.favorites (file_id) VALUES (%s)", [mine[0]])
        second.rollback()

        first.rollback()  # the claim ends: its files are free again for the next claim
        assert claim(second, 10) == six_files
        second.rollback()


def test_a_committed_claim_without_results_leaves_the_files_pending(dsn: str, six_files: list[int]) -> None:
    """Claiming writes nothing: only analysis_apply marks a file analyzed, so a runner that claims and
    dies (or commits nothing) leaves the files for the next run."""
    with psycopg.connect(dsn) as conn:
        assert claim(conn, 6) == six_files
        conn.commit()
        assert conn.execute(queries["analysis_pending"], [VERSION, None]).fetchone()[0] == 6
