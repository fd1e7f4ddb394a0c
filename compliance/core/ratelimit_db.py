"""The database store of rate limits: one set of counters for every process of a fleet.

Each key has one row per fixed window in ``rate_limit_windows``. A hit is
counted by one ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` in its
own transaction, on a connection of the store's own engine. So a counted hit
stays counted when the request's transaction rolls back, and the request's
transaction holds no lock of the limiter.

The key column contains an HMAC of the key under a key derived from the
master key, never the client address, form id or blind index in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import BigInteger, Column, Engine, Index, Integer, String, Table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from compliance.core.db import make_engine, sqlite_writer
from compliance.core.ratelimit import RateLimitUnavailable

log = structlog.get_logger(__name__)

_HKDF_INFO = b"sendguard rate limit key v1"

# The store's engine is separate from the request engine, so a request that
# has a pooled connection does not wait for a second one from that pool,
# which deadlocks once every connection belongs to a waiting request. A hit
# is one short statement, so a small pool is enough. With 2 connections
# kept, eight parallel sign-ups kept closing and reopening the overflow ones.
# With 5 kept, none were opened after warm-up (benchmarks/consent_capture.py).
# A store that does not reply within these bounds makes the request fail with 503.
POOL_SIZE = 5
MAX_OVERFLOW = 3
POOL_TIMEOUT_SECONDS = 2.0
STATEMENT_TIMEOUT_MS = 2000

# Expired windows deleted per transaction, and transactions per purge run.
PURGE_BATCH_SIZE = 1000
PURGE_MAX_BATCHES = 50

rate_limit_windows = Table(
    "rate_limit_windows",
    SQLModel.metadata,
    # Hex HMAC-SHA256 of the limiter's scope and the key.
    Column("key_hash", String(64), primary_key=True),
    # Start of the fixed window, in seconds since the Unix epoch.
    Column("window_start", BigInteger, primary_key=True),
    Column("hits", Integer, nullable=False),
    # Time after which no limiter reads the row (the end of the next window), in epoch seconds.
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_rate_limit_windows_expires_at", "expires_at"),
)

# Sliding-window estimate: the hits of the current fixed window, plus those
# of the previous window weighted by how much of it still lies inside the
# sliding window that ends now. It assumes the previous window's hits were
# spread evenly, so it can be off by part of one window's hits, and it needs
# two rows per key and one statement per hit. A log of every hit would be
# exact, but costs one row per hit and a count on every request.
#
# A rejected hit is not counted (the ON CONFLICT update and the insert are
# both conditional), like the memory store: a client that keeps retrying is
# let in again as soon as its earlier hits slide out.
#
# The CTE reads the previous window, which no statement updates any more.
# The conflict on the current window's row takes its row lock, and the WHERE
# is checked again on the newest row version, so concurrent hits from
# several processes never overshoot the limit.
_HIT = text(
    """
    WITH previous AS (
        SELECT COALESCE(SUM(hits), 0) AS hits FROM rate_limit_windows
        WHERE key_hash = :key_hash AND window_start = :previous_start
    )
    INSERT INTO rate_limit_windows (key_hash, window_start, hits, expires_at)
    SELECT :key_hash, :window_start, 1, :expires_at FROM previous
    WHERE previous.hits * :previous_weight + 1 <= :limit
    ON CONFLICT (key_hash, window_start) DO UPDATE
    SET hits = rate_limit_windows.hits + 1
    WHERE rate_limit_windows.hits + 1 + (SELECT hits FROM previous) * :previous_weight <= :limit
    RETURNING hits
    """
)

_PURGE = text(
    """
    DELETE FROM rate_limit_windows
    WHERE (key_hash, window_start) IN (
        SELECT key_hash, window_start FROM rate_limit_windows
        WHERE expires_at <= :now LIMIT :batch_size
    )
    """
)


class RateLimitKeyHasher:
    """HMAC-SHA256 of limiter keys, under a key derived from the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )

    def digest(self, scope: str, key: str) -> str:
        # The scope is part of the message, so one client has separate
        # counters in each limiter.
        message = f"{scope}\n{key}".encode("utf-8", "replace")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class DatabaseRateLimits:
    """The database store of one process: its engine and hasher, shared by its limiters."""

    def __init__(
        self,
        database_url: str,
        master_key: bytes,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        options: dict[str, Any] = {
            "pool_size": POOL_SIZE,
            "max_overflow": MAX_OVERFLOW,
            "pool_timeout": POOL_TIMEOUT_SECONDS,
        }
        if database_url.startswith("postgresql"):
            options["connect_args"] = {"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}
        self.engine = make_engine(database_url, **options)
        self._hasher = RateLimitKeyHasher(master_key)
        self._clock = clock

    def limiter(self, scope: str, limit: int, window_seconds: int) -> DatabaseRateLimiter:
        return DatabaseRateLimiter(
            self.engine, self._hasher, scope, limit, window_seconds, clock=self._clock
        )

    def dispose(self) -> None:
        self.engine.dispose()


class DatabaseRateLimiter:
    """At most ``limit`` hits per sliding ``window_seconds`` for each key, in every process.

    Windows are aligned on the Unix epoch in the clock of each process, so
    the hosts of a fleet need synchronised clocks (NTP). A skew of a few
    seconds only moves the window edges by that much.
    """

    def __init__(
        self,
        engine: Engine,
        hasher: RateLimitKeyHasher,
        scope: str,
        limit: int,
        window_seconds: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_seconds < 1:
            raise ValueError(f"window_seconds must be 1 or more, got {window_seconds}")
        self._engine = engine
        self._hasher = hasher
        self.scope = scope
        self._limit = limit
        self._window = window_seconds
        self._clock = clock

    def allow(self, key: str) -> bool:
        now = self._clock()
        window_start = int(now // self._window) * self._window
        # The share of the previous window that the sliding window still covers.
        previous_weight = 1.0 - (now - window_start) / self._window
        parameters = {
            "key_hash": self._hasher.digest(self.scope, key),
            "window_start": window_start,
            "previous_start": window_start - self._window,
            "previous_weight": previous_weight,
            "expires_at": window_start + 2 * self._window,
            "limit": self._limit,
        }

        try:
            with sqlite_writer(self._engine), self._engine.begin() as connection:
                counted = connection.execute(_HIT, parameters).first()
        except SQLAlchemyError as error:
            # The error text may quote the statement's parameters: log its type only.
            log.error("ratelimit.store_failed", scope=self.scope, error_type=type(error).__name__)
            raise RateLimitUnavailable() from error

        return counted is not None


def purge_expired_windows(
    engine: Engine,
    *,
    now: float | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
    max_batches: int = PURGE_MAX_BATCHES,
) -> int:
    """Delete expired windows in batches and return the number of rows deleted.

    Each batch is its own short transaction, so the purge never holds many
    row locks at once. A run stops after ``max_batches``, and the next
    maintenance run continues.
    """
    cutoff = int(time.time() if now is None else now)
    deleted = 0
    for _ in range(max_batches):
        with sqlite_writer(engine), engine.begin() as connection:
            result = connection.execute(_PURGE, {"now": cutoff, "batch_size": batch_size})
        deleted += result.rowcount
        if result.rowcount < batch_size:
            break
    if deleted:
        log.info("ratelimit.purged", windows=deleted)
    return deleted
