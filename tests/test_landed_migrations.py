"""Landed migrations never change: tests/migrations.sha256 holds the checksum of every db/migrations file.

A database migrated before an edit of a landed migration never gets the edit (yoyo applies each migration
once, by id), so a change to the schema must be a new migration. A new migration appends its line to the
list (`sha256sum db/migrations/NNNN_verb_object*.sql >> tests/migrations.sha256`); `sha256sum -c
tests/migrations.sha256` from the checkout's root checks the same thing by hand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIST = Path(__file__).with_name("migrations.sha256")
MIGRATIONS = ROOT / "db" / "migrations"


def listed() -> dict[str, str]:
    """{path relative to the checkout: sha256 hex} of the committed list, in its order."""
    out: dict[str, str] = {}
    for n, line in enumerate(LIST.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        assert sep and len(digest) == 64, f"tests/migrations.sha256 line {n} is not `<sha256>  <path>`: {line!r}"
        assert rel not in out, f"tests/migrations.sha256 lists {rel} twice"
        out[rel] = digest
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(files: list[Path], known: dict[str, str]) -> list[str]:
    """Every problem of `files` against the list `known`, as one clear line each."""
    problems = []
    present = {f"db/migrations/{p.name}": p for p in files}
    for rel, digest in known.items():
        path = present.get(rel)
        if path is None:
            problems.append(f"{rel} is listed in tests/migrations.sha256 but gone: a landed migration is never "
                            "removed (roll it forward with a new migration instead)")
        elif sha256(path) != digest:
            problems.append(f"{rel} changed after it landed: a database migrated before the edit never gets it. "
                            "Revert the edit and put the change in a new migration (NNNN_verb_object.sql + "
                            ".rollback.sql). Only if this migration has not landed on main yet, replace its line "
                            f"in tests/migrations.sha256 with: sha256sum {rel}")
    for rel in sorted(set(present) - set(known)):
        problems.append(f"{rel} is not in tests/migrations.sha256: a new migration appends its line: "
                        f"sha256sum {rel} >> tests/migrations.sha256")
    return problems


def test_landed_migrations_are_unchanged() -> None:
    problems = check(sorted(MIGRATIONS.glob("*.sql")), listed())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_guard_names_an_edited_a_removed_and_an_unlisted_migration(tmp_path: Path) -> None:
    """The check itself, on a scratch copy: each kind of change is caught with its own message."""
    copies = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        copy = tmp_path / path.name
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    known = {f"db/migrations/{c.name}": sha256(c) for c in copies}
    assert check(copies, known) == []

    edited = copies[2]
    edited.write_bytes(edited.read_bytes() + b"\n-- a harmless-looking edit\n")
    new = tmp_path / "9999_add_something.sql"
    new.write_text("-- depends: x\n")
    gone = copies[0]
    problems = check([c for c in copies if c != gone] + [new], known)
    assert len(problems) == 3, problems
    assert any(p.startswith(f"db/migrations/{edited.name} changed after it landed") for p in problems)
    assert any(p.startswith(f"db/migrations/{gone.name} is listed") and "gone" in p for p in problems)
    assert any(p.startswith("db/migrations/9999_add_something.sql is not in") for p in problems)
