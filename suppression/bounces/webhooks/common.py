"""What every ESP parser returns, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from suppression.bounces.reasons import class_of, decide_reason
from suppression.bounces.verdict import BounceClass, Source, Verdict


class SignatureError(Exception):
    """The payload's signature is missing or wrong; the message names the header or field."""


class WebhookFormatError(Exception):
    """The payload is not the ESP's JSON; the message names the missing or invalid field."""


@dataclass(frozen=True)
class WebhookEvent:
    """One recipient's event: ``origin`` is the ESP's event id, for idempotent retries."""

    origin: str
    verdict: Verdict
    occurred_at: datetime | None


def failure_verdict(
    recipient: str,
    *,
    permanent: bool | None,
    diagnostic: str,
    status: str = "",
    reply_code: str = "",
    fallback_reason: str = "onhold",
    message_id: str = "",
    campaign: str = "",
) -> Verdict:
    """Build a bounce verdict from an ESP's words; the ESP's permanence decides the class."""
    reason = decide_reason(diagnostic, "", status, "failed")
    if reason == "onhold":
        reason = fallback_reason
    if permanent is None:
        bounce_class = class_of(reason, status, reply_code)
    else:
        bounce_class = BounceClass.HARD if permanent else BounceClass.SOFT
    return Verdict(
        recipient=recipient,
        bounce_class=bounce_class,
        reason=reason,
        status=status,
        reply_code=reply_code,
        diagnostic=" ".join(diagnostic.split())[:1000],
        action="failed",
        original_message_id=message_id,
        campaign_ref=campaign,
        source=Source.WEBHOOK,
    )


def simple_verdict(
    recipient: str,
    bounce_class: BounceClass,
    reason: str,
    *,
    feedback_type: str = "",
    message_id: str = "",
    campaign: str = "",
) -> Verdict:
    return Verdict(
        recipient=recipient,
        bounce_class=bounce_class,
        reason=reason,
        feedback_type=feedback_type,
        original_message_id=message_id,
        campaign_ref=campaign,
        source=Source.WEBHOOK,
    )


def parse_time(value: object) -> datetime | None:
    """Read an ISO 8601 string or a Unix timestamp; None when absent or invalid."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def text(value: object) -> str:
    return value if isinstance(value, str) else ""
