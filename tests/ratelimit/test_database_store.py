"""The database store of rate limits against a migrated database.

Most tests run on SQLite and PostgreSQL alike; the tests of several engines
sharing one limit need PostgreSQL, the store that a fleet uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, text

from compliance.core.ratelimit import RateLimitUnavailable
from compliance.core.ratelimit_db import (
    DatabaseRateLimits,
    RateLimitKeyHasher,
    purge_expired_windows,
    rate_limit_windows,
)
from tests.support.database import DatabaseUrls, postgres_admin_url

MASTER_KEY = bytes(range(32))
CLIENT = "ip:203.0.113.7"

needs_postgresql = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="several processes share limits on PostgreSQL only: set SENDGUARD_TEST_DATABASE_URL",
)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def open_store(database_urls: DatabaseUrls) -> Iterator[Callable[..., DatabaseRateLimits]]:
    stores: list[DatabaseRateLimits] = []

    def open_one(clock: Callable[[], float] | None = None) -> DatabaseRateLimits:
        store = DatabaseRateLimits(
            database_urls.database, MASTER_KEY, clock=clock or FakeClock(1_000_020.0)
        )
        stores.append(store)
        return store

    yield open_one
    for store in stores:
        store.dispose()


def stored_rows(store: DatabaseRateLimits) -> list[tuple[str, int, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                rate_limit_windows.c.key_hash,
                rate_limit_windows.c.window_start,
                rate_limit_windows.c.hits,
            ).order_by(rate_limit_windows.c.window_start)
        )
        return [(str(row[0]), int(row[1]), int(row[2])) for row in rows]


def test_limit_rejects_hit_over_limit(open_store: Callable[..., DatabaseRateLimits]) -> None:
    limiter = open_store().limiter("subscribe", 3, 60)

    results = [limiter.allow(CLIENT) for _ in range(4)]

    assert results == [True, True, True, False]
    assert limiter.allow("ip:198.51.100.1") is True


def test_window_slides(open_store: Callable[..., DatabaseRateLimits]) -> None:
    # Window 60 s from epoch second 1_000_020 (a multiple of 60).
    clock = FakeClock(1_000_020.0 + 10)
    limiter = open_store(clock).limiter("subscribe", 4, 60)

    first = [limiter.allow(CLIENT) for _ in range(5)]
    # Half-way through the next window, half of the previous 4 hits still count.
    clock.now = 1_000_020.0 + 90
    half_way = [limiter.allow(CLIENT) for _ in range(3)]
    # Two windows later nothing of the earlier hits is left.
    clock.now = 1_000_020.0 + 250
    later = [limiter.allow(CLIENT) for _ in range(5)]

    assert first == [True, True, True, True, False]
    assert half_way == [True, True, False]
    assert later == [True, True, True, True, False]


def test_rejected_hits_are_not_counted(open_store: Callable[..., DatabaseRateLimits]) -> None:
    clock = FakeClock(1_000_020.0)
    limiter = open_store(clock).limiter("subscribe", 2, 60)

    for _ in range(10):
        limiter.allow(CLIENT)

    assert [hits for _, _, hits in stored_rows(open_store())] == [2]


def test_keys_are_stored_hashed(open_store: Callable[..., DatabaseRateLimits]) -> None:
    store = open_store()
    store.limiter("subscribe", 5, 60).allow(CLIENT)
    store.limiter("dashboard-login", 5, 60).allow(CLIENT)

    hashes = [key_hash for key_hash, _, _ in stored_rows(store)]
    expected = RateLimitKeyHasher(MASTER_KEY)
    other_master = RateLimitKeyHasher(bytes(32))

    assert len(hashes) == 2
    assert all("203.0.113.7" not in key_hash for key_hash in hashes)
    assert sorted(hashes) == sorted(
        [expected.digest("subscribe", CLIENT), expected.digest("dashboard-login", CLIENT)]
    )
    assert other_master.digest("subscribe", CLIENT) not in hashes


def test_purge_deletes_expired_windows(open_store: Callable[..., DatabaseRateLimits]) -> None:
    clock = FakeClock(1_000_020.0)
    store = open_store(clock)
    limiter = store.limiter("subscribe", 5, 60)
    for number in range(5):
        limiter.allow(f"ip:192.0.2.{number}")
    clock.now = 1_000_020.0 + 600
    limiter.allow(CLIENT)
    # The first five rows expire after the window that follows theirs.
    expired_at = 1_000_020 + 120

    before = purge_expired_windows(store.engine, now=expired_at - 1)
    one_batch = purge_expired_windows(store.engine, now=expired_at, batch_size=2, max_batches=1)
    rest = purge_expired_windows(store.engine, now=expired_at, batch_size=2)

    assert before == 0
    assert one_batch == 2
    assert rest == 3
    assert [start for _, start, _ in stored_rows(store)] == [1_000_020 + 600]


def test_missing_table_raises_unavailable(open_store: Callable[..., DatabaseRateLimits]) -> None:
    store = open_store()
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE rate_limit_windows"))

    with pytest.raises(RateLimitUnavailable) as raised:
        store.limiter("subscribe", 5, 60).allow(CLIENT)

    assert raised.value.status_code == 503
    assert raised.value.headers == {"Retry-After": "30"}
    assert "203.0.113.7" not in str(raised.value)


@needs_postgresql
def test_two_engines_share_one_limit(open_store: Callable[..., DatabaseRateLimits]) -> None:
    # Two stores have two engines and two connection pools, like two processes.
    first = open_store().limiter("subscribe", 5, 60)
    second = open_store().limiter("subscribe", 5, 60)

    results = [(first if number % 2 else second).allow(CLIENT) for number in range(10)]

    assert results.count(True) == 5
    assert results[:5] == [True] * 5


@needs_postgresql
def test_concurrent_hits_never_overshoot(open_store: Callable[..., DatabaseRateLimits]) -> None:
    limiters = [open_store().limiter("subscribe", 7, 60) for _ in range(2)]
    start = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def hit_three_times(index: int) -> None:
        start.wait()
        for _ in range(3):
            allowed = limiters[index % 2].allow(CLIENT)
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=hit_three_times, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 24
    assert results.count(True) == 7
