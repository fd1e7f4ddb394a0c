"""Hypothesis settings for the parser fuzz tests, used only by the tests in this folder.

The ``sendguard-fuzz`` profile is registered here but never loaded, so the
rest of the suite keeps Hypothesis's defaults. Each fuzz test applies it
with ``@settings(FUZZ_SETTINGS)`` (see ``tests/fuzz/targets.py``).

``SENDGUARD_FUZZ_EXAMPLES`` sets the number of examples per test (default
100, sized so that the folder finishes in CI in under two minutes). A longer
campaign sets it to thousands and sets ``SENDGUARD_FUZZ_RANDOM=1`` so that
each run draws new inputs instead of the same derandomized ones::

    SENDGUARD_FUZZ_EXAMPLES=5000 SENDGUARD_FUZZ_RANDOM=1 \
    SENDGUARD_CORPUS_DIR=/path/to/corpus pytest tests/fuzz

A failure prints a ``@reproduce_failure`` blob that replays the shrunk
input. Keep that input under ``crashers/<target>/`` (see
``crashers/README.md``) before fixing the parser.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 100


def _examples() -> int:
    configured = os.environ.get("SENDGUARD_FUZZ_EXAMPLES", "")
    if not configured:
        return DEFAULT_EXAMPLES
    if not configured.isdigit() or int(configured) < 1:
        raise ValueError(
            f"SENDGUARD_FUZZ_EXAMPLES must be a positive whole number, not {configured!r}"
        )
    return int(configured)


settings.register_profile(
    "sendguard-fuzz",
    max_examples=_examples(),
    derandomize=os.environ.get("SENDGUARD_FUZZ_RANDOM", "") != "1",
    # One example of a bounded input runs in milliseconds. Five seconds
    # leaves room for a loaded CI machine and still fails on a parser that
    # slows down faster than linearly.
    deadline=timedelta(seconds=5),
    # The example database would make runs depend on earlier ones.
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
