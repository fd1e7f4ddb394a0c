"""PostgreSQL plans each statement with its values: no server-side prepared statements.

psycopg 3 prepares a statement after its fifth run, and PostgreSQL may then
reuse one generic plan for any parameters. For a look-up with thousands of
blind indexes in an IN list, that plan compared each index with every row of
the sender, and a 100,000-row suppression import took ten times longer.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import bindparam, text

from compliance.core.db import make_engine
from tests.support.database import PostgresDatabases, postgres_admin_url

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="needs PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)

# Twice psycopg's default threshold of 5 runs.
RUNS = 10

LOOKUP = text(
    "SELECT count(*) FROM generate_series(1, 3) AS n WHERE n::text IN :values"
).bindparams(bindparam("values", expanding=True))


def _prepared_after_runs(url: str, **overrides: object) -> int:
    engine = make_engine(url, **overrides)
    try:
        with engine.connect() as connection:
            for _ in range(RUNS):
                values = [secrets.token_hex(8) for _ in range(50)] + ["2"]
                assert connection.execute(LOOKUP, {"values": values}).scalar_one() == 1
            return int(
                connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
            )
    finally:
        engine.dispose()


def test_repeated_statements_are_not_prepared(postgres: PostgresDatabases | None) -> None:
    assert postgres is not None

    prepared = _prepared_after_runs(postgres.new().database)

    assert prepared == 0


def test_caller_connect_args_keep_unprepared(
    postgres: PostgresDatabases | None,
) -> None:
    # The rate-limit store passes connect_args of its own (a statement timeout).
    assert postgres is not None

    prepared = _prepared_after_runs(
        postgres.new().database, connect_args={"options": "-c statement_timeout=5000"}
    )

    assert prepared == 0
