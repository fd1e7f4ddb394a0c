"""Processes of a fleet that start together create the key store's schema once, without failing.

Seen in the fleet test: two uvicorn workers both found no ``data_keys``
table, both ran CREATE TABLE, and the loser stopped the whole service.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, inspect

from compliance.core.keystore import KeyStore
from tests.support.database import PostgresDatabases, postgres_admin_url

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="needs PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)

STARTERS = 8
ROUNDS = 5


def test_concurrent_starts_create_the_key_store_once(postgres: PostgresDatabases | None) -> None:
    assert postgres is not None

    for _ in range(ROUNDS):
        keystore_url = postgres.new().keystore
        barrier = threading.Barrier(STARTERS)

        def start(_: int, url: str = keystore_url, gate: threading.Barrier = barrier) -> str:
            # One engine per starter, like one per process.
            engine = create_engine(url)
            try:
                store = KeyStore(engine, b"7" * 32)
                gate.wait(timeout=30)
                store.create_schema()
                store.create_key(f"contact-{threading.get_ident()}")
                return "started"
            finally:
                engine.dispose()

        with ThreadPoolExecutor(max_workers=STARTERS) as pool:
            outcomes = list(pool.map(start, range(STARTERS)))

        assert outcomes == ["started"] * STARTERS
        engine = create_engine(keystore_url)
        try:
            assert inspect(engine).get_table_names() == ["data_keys"]
        finally:
            engine.dispose()
