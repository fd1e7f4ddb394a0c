"""The ingestion policy: which verdicts suppress an address, and when soft bounces add up.

- A hard bounce suppresses at once (``hard_bounce``).
- A complaint suppresses at once (``complaint``), except the ARF types that
  report no wish to stop mail: ``not-spam`` and ``auth-failure`` (RFC 5965
  section 7.3, RFC 6591).
- Soft bounces are counted per address, one per failed send (the original
  Message-ID), within a sliding window: a bounce older than the window no
  longer counts, and a delivery after it resets the count. At the limit the
  failure is confirmed and the address is suppressed as a hard bounce.
- An automatic reply never unsubscribes or suppresses.
- A request mailed to the List-Unsubscribe address suppresses as ``unsubscribe``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from compliance.core.settings import Settings
from suppression.bounces.verdict import BounceClass, Verdict
from suppression.models import SuppressionReason

# ARF feedback types that are no request to stop mail.
NON_SUPPRESSING_FEEDBACK = frozenset({"not-spam", "auth-failure"})


@dataclass(frozen=True)
class BouncePolicy:
    soft_limit: int = 3
    soft_window: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> BouncePolicy:
        return cls(
            soft_limit=settings.bounce_soft_limit,
            soft_window=timedelta(days=settings.bounce_soft_window_days),
        )


class Outcome(enum.StrEnum):
    """What ingestion did with one verdict."""

    SUPPRESSED = "suppressed"
    # A soft bounce that reached the limit: a confirmed failure, suppressed.
    CONFIRMED_FAILURE = "confirmed_failure"
    COUNTED = "counted"
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


def immediate_suppression(verdict: Verdict) -> SuppressionReason | None:
    """Return the reason a verdict suppresses its recipient at once, or None."""
    if verdict.bounce_class is BounceClass.HARD:
        return SuppressionReason.HARD_BOUNCE
    if verdict.bounce_class is BounceClass.COMPLAINT:
        if verdict.feedback_type in NON_SUPPRESSING_FEEDBACK:
            return None
        return SuppressionReason.COMPLAINT
    if verdict.bounce_class is BounceClass.UNSUBSCRIBE:
        return SuppressionReason.UNSUBSCRIBE
    return None


def recorded(verdict: Verdict) -> bool:
    """Tell whether a verdict is worth an event row (a message that is no report is not)."""
    return bool(verdict.recipient) and verdict.bounce_class is not BounceClass.NOT_BOUNCE
