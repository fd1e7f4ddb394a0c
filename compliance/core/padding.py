"""Response-time padding for public endpoints whose work depends on whether an address is known.

The sign-up of a new address creates a data key, encrypts, writes and
commits. For a pending address it skips the key, and for a confirmed,
suppressed or recently mailed one it only reads. Its response time would
then tell anyone whether an address is on a list. So every path, the full
one included, sleeps until about the time that the full path has taken
recently in this process.

Padding the full path too is what makes the estimate safe to expose. A
client that slows new sign-ups for a while (with a burst of them) raises
the estimate. If only the fast paths waited for it, they would then be
slower than a new sign-up, which would reveal that the address is known. With every path padded,
each one ends at about the estimate, and only a full path slower than the
estimate shows its own time.

The sleep is an ``asyncio.sleep`` in the route, so a padded request keeps
no worker thread busy while it waits. A new sign-up waits on average about
half the spread of its own durations.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time


class ResponseTimePadding:
    """A running estimate of one endpoint's full-path duration, and the wait that pads each request.

    The estimate is an exponentially weighted mean of the durations passed
    to :meth:`record`, each capped at ``max_seconds``, so one stalled request
    moves it little. Each process keeps its own estimate.
    """

    def __init__(
        self,
        *,
        initial_seconds: float = 0.05,
        weight: float = 0.1,
        max_seconds: float = 1.0,
        jitter: float = 0.1,
    ) -> None:
        # NOTE: initial_seconds is a guess that pads requests until the full
        # path has run a few times; it is not measured.
        self._estimate = initial_seconds
        self._weight = weight
        self._max = max_seconds
        self._jitter = jitter
        self._random = secrets.SystemRandom()
        self._lock = threading.Lock()

    @property
    def estimate_seconds(self) -> float:
        return self._estimate

    def record(self, seconds: float) -> None:
        """Add one full-path duration, in seconds, to the estimate."""
        sample = min(max(seconds, 0.0), self._max)
        with self._lock:
            self._estimate += self._weight * (sample - self._estimate)

    def delay(self, elapsed_seconds: float) -> float:
        """Return how long a request that took ``elapsed_seconds`` still has to wait, in seconds.

        The target is the estimate times a random factor within
        ``1 ± jitter``, so that repeated requests do not all end at one
        fixed time.
        """
        factor = self._random.uniform(1.0 - self._jitter, 1.0 + self._jitter)
        target = min(self._estimate * factor, self._max)
        return max(target - elapsed_seconds, 0.0)

    async def pad(self, started: float) -> None:
        """Sleep until the request that began at ``started`` has taken about a full path's time.

        ``started`` is a ``time.perf_counter()`` value.
        """
        await asyncio.sleep(self.delay(time.perf_counter() - started))
