"""The typed result of classifying one recipient of a bounce, complaint or reply."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class BounceClass(enum.StrEnum):
    """What happened to one recipient, from the sender's point of view."""

    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    AUTOREPLY = "autoreply"
    DELIVERED = "delivered"
    # A person asked to leave by mailing the List-Unsubscribe mailto address (RFC 2369).
    UNSUBSCRIBE = "unsubscribe"
    NOT_BOUNCE = "not_bounce"
    UNKNOWN = "unknown"


class Source(enum.StrEnum):
    """Which part of the message the verdict was read from."""

    DSN = "dsn"
    TEXT = "text"
    ARF = "arf"
    AUTOREPLY = "autoreply"
    UNSUBSCRIBE = "unsubscribe"
    WEBHOOK = "webhook"
    NONE = "none"


@dataclass(frozen=True)
class Verdict:
    """One affected recipient: its class, Sisimai-vocabulary reason and the evidence.

    ``status`` is the RFC 3463 enhanced status code and ``reply_code`` the
    RFC 5321 reply code; both are empty when the report gives none.
    ``recipient`` is empty only for a ``not_bounce`` verdict. ``truncated`` is
    true when the message was cut at one of the classifier's bounds before the
    end of a part it reads: recipients after the cut have no verdict.
    """

    recipient: str
    bounce_class: BounceClass
    reason: str
    status: str = ""
    reply_code: str = ""
    diagnostic: str = ""
    action: str = ""
    remote_mta: str = ""
    feedback_type: str = ""
    original_message_id: str = ""
    campaign_ref: str = ""
    source: Source = Source.NONE
    truncated: bool = False

    def as_json(self) -> dict[str, str | bool]:
        """Return the verdict with the field names of the CLI and API output."""
        data = asdict(self)
        data["class"] = str(data.pop("bounce_class"))
        data["replycode"] = data.pop("reply_code")
        data["source"] = str(data["source"])
        return data


def not_bounce(source: Source = Source.NONE) -> Verdict:
    return Verdict(recipient="", bounce_class=BounceClass.NOT_BOUNCE, reason="", source=source)
