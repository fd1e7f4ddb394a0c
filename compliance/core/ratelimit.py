"""A sliding-window rate limiter for public endpoints."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """Allow at most ``limit`` hits per ``window_seconds`` for each key.

    Keys are caller-chosen strings (a client address, a form id, a blind
    index), never an address in clear.
    """

    # TODO: keep the windows in PostgreSQL or Redis so the limit applies across several processes.

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
