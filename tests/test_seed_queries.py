"""Every query printed in the seed documents that touches midicenter's tables parses and plans unchanged
with search_path = midi (the contract keeps the seed column names for exactly this)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from runner.queries import load

SEED = load(Path(__file__).with_name("seed_queries.sql"))


def test_all_seed_queries_are_listed() -> None:
    assert len(SEED) == 12


@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_query_plans(name: str, dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path = midi")
        conn.execute(f"PREPARE seed_q AS {SEED[name]}")
        nparams = conn.execute(
            "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'seed_q'"
        ).fetchone()[0]
        args = ", ".join(["NULL"] * nparams)
        plan = conn.execute(f"EXPLAIN EXECUTE seed_q{f'({args})' if nparams else ''}").fetchall()
        assert plan and plan[0][0], f"{name}: no plan"
        conn.rollback()
