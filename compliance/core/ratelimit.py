"""Rate limits of public endpoints: the limiter interface and the in-memory store.

Two stores implement :class:`RateLimiter`. :class:`MemoryRateLimiter` keeps
its counts in one process, and :mod:`compliance.core.ratelimit_db` keeps them
in the database so that every process of a fleet shares one limit. The
setting ``SENDGUARD_RATE_LIMIT_STORE`` chooses between them
(docs/deployment.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from compliance.core.errors import SendguardError
from compliance.core.i18n import N_

# How long a client should wait after a 503 from an unavailable store.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30


class RateLimitUnavailable(SendguardError):
    """The store of the rate-limit counters could not be reached, so the request is rejected.

    The limiters fail closed: sign-ups, magic links, DSR codes and dashboard
    logins all need the same database to do their work, so letting the
    request through would rarely help. Rejecting it keeps a store outage
    from turning into unlimited confirmation emails to third parties, or
    unlimited login attempts.
    """

    status_code = 503
    code = "rate_limit_unavailable"

    def __init__(self) -> None:
        super().__init__(
            N_("The service cannot check its request limits right now; try again in a minute."),
            context={"retry_after_seconds": UNAVAILABLE_RETRY_AFTER_SECONDS},
        )
        self.headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}


class RateLimiter(Protocol):
    """At most a fixed number of hits per window for each key.

    Keys are caller-chosen strings (a client address, a form id, a blind
    index). A store that persists them must not keep them in clear.
    """

    def allow(self, key: str) -> bool:
        """Count one hit for ``key`` and return whether it is within the limit.

        :raises RateLimitUnavailable: when the store cannot be reached.
        """
        ...


class MemoryRateLimiter:
    """A sliding-window limiter whose counts live in this process only.

    Exact (it keeps the time of every accepted hit), but each process has
    its own counts: N processes allow N times the limit.
    """

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:
                self._forget_idle(now)
            return True

    def _forget_idle(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if not hits or now - hits[-1] > self._window
        ]
        for key in idle:
            del self._hits[key]
