"""Each process keeps enough pooled connections for the requests it runs in parallel.

A pool smaller than the requests in flight closes the extra connection after
each request and opens a new one for the next: on PostgreSQL that is a new
server process per request. With SQLAlchemy's default of 5, eight parallel
sign-ups opened a PostgreSQL session for one request in five.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event, text

from compliance.app import open_runtime
from compliance.core.db import read_only
from compliance.core.ratelimit_db import DatabaseRateLimits
from compliance.core.settings import Settings

PARALLEL = 8
ROUNDS = 5


def _connections_opened(engine: Engine, parallel: int) -> int:
    """Run ROUNDS rounds of ``parallel`` overlapping checkouts; count the connections opened."""
    opened = 0
    lock = threading.Lock()

    def count(_connection: Any, _record: Any) -> None:
        nonlocal opened
        with lock:
            opened += 1

    event.listen(engine, "connect", count)
    try:
        for _ in range(ROUNDS):
            # Every thread keeps its connection until all have one, as
            # parallel requests do. Reads, so that SQLite lets them overlap.
            barrier = threading.Barrier(parallel)

            def hold(barrier: threading.Barrier) -> None:
                with read_only(engine).connect() as connection:
                    connection.execute(text("SELECT 1"))
                    barrier.wait(timeout=30)

            threads = [threading.Thread(target=hold, args=(barrier,)) for _ in range(parallel)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        event.remove(engine, "connect", count)
    return opened


def test_runtime_pools_reuse_parallel_connections(settings: Settings) -> None:
    runtime = open_runtime(settings)
    try:
        # The key store opened its connections while creating its schema.
        runtime.engine.dispose()
        runtime.keystore_engine.dispose()

        main = _connections_opened(runtime.engine, PARALLEL)
        keystore = _connections_opened(runtime.keystore_engine, PARALLEL)
    finally:
        runtime.dispose()

    # One connection per parallel checkout, opened in the first round and
    # reused in the next four.
    assert main == PARALLEL
    assert keystore == PARALLEL


def test_pool_size_comes_from_the_settings(settings: Settings) -> None:
    tuned = settings.model_copy(update={"database_pool_size": 3, "database_max_overflow": 9})
    runtime = open_runtime(tuned)
    try:
        runtime.engine.dispose()

        opened = _connections_opened(runtime.engine, PARALLEL)
    finally:
        runtime.dispose()

    # 3 kept: the 5 others are closed after each round and opened again.
    assert opened == 3 + 5 * ROUNDS


def test_rate_limit_store_reuses_connections(settings: Settings) -> None:
    store = DatabaseRateLimits(settings.resolved_database_url, b"k" * 32)
    try:
        opened = _connections_opened(store.engine, 5)
    finally:
        store.dispose()

    assert opened == 5
