"""Every SQL statement the runner sends, loaded by name from queries.sql (one file, greppable)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_HEADER = re.compile(r"^-- name: (\w+)\b.*$", re.MULTILINE)


@cache
def load(path: Path | None = None) -> dict[str, str]:
    """Parse ``-- name: x`` sections into {name: sql}; duplicate names are an error."""
    text = (path or Path(__file__).with_name("queries.sql")).read_text(encoding="utf-8")
    out: dict[str, str] = {}
    marks = list(_HEADER.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end].strip()
        if m.group(1) in out:
            raise ValueError(f"queries.sql: duplicate name {m.group(1)}")
        out[m.group(1)] = body.rstrip(";").strip()
    return out


class _Queries:
    def __getitem__(self, name: str) -> str:
        return load()[name]


queries = _Queries()
