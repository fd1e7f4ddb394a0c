"""Postmark webhooks: unsigned, so the endpoint is protected by HTTP Basic credentials."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from suppression.bounces.verdict import BounceClass
from suppression.bounces.webhooks.common import (
    SignatureError,
    WebhookEvent,
    WebhookFormatError,
    failure_verdict,
    parse_time,
    simple_verdict,
    text,
)

# Postmark bounce types (its Bounce API "Type"): permanence and the closest Sisimai reason.
_BOUNCE_TYPES: dict[str, tuple[bool | None, str]] = {
    "HardBounce": (True, "userunknown"),
    "BadEmailAddress": (True, "userunknown"),
    "SoftBounce": (False, "onhold"),
    "Transient": (False, "expired"),
    "DnsError": (False, "networkerror"),
    "Blocked": (False, "blocked"),
    "SpamNotification": (False, "spamdetected"),
    "ContentRelated": (False, "contenterror"),
    "DMARCPolicy": (False, "authfailure"),
    "VirusNotification": (False, "virusdetected"),
    "ChallengeVerification": (False, "onhold"),
    "SMTPApiError": (False, "systemerror"),
}


def verify(password: str, authorization: str) -> None:
    """Check the password of the ``Authorization: Basic`` header set in Postmark's webhook URL.

    :raises SignatureError: when the header is missing or the password does not match.
    """
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError("header Authorization with Basic credentials is missing")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SignatureError("header Authorization is not valid Basic credentials") from None
    given = decoded.partition(":")[2]
    if not hmac.compare_digest(given.encode("utf-8"), password.encode("utf-8")):
        raise SignatureError("header Authorization has the wrong password")


def parse(body: bytes) -> list[WebhookEvent]:
    try:
        item = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers UnicodeDecodeError and integers too long to convert.
        raise WebhookFormatError("body is not JSON") from None
    if not isinstance(item, dict):
        raise WebhookFormatError("body must be a JSON object")
    return _events(item)


def _events(item: dict[str, Any]) -> list[WebhookEvent]:
    kind = text(item.get("RecordType"))
    recipient = text(item.get("Email")) or text(item.get("Recipient"))
    message_id = text(item.get("MessageID"))
    metadata = item.get("Metadata")
    campaign = text(metadata.get("sendguard_campaign")) if isinstance(metadata, dict) else ""
    if not recipient:
        return []
    when = parse_time(item.get("BouncedAt") or item.get("DeliveredAt") or item.get("ChangedAt"))

    if kind == "Bounce":
        bounce_type = text(item.get("Type"))
        if bounce_type == "AutoResponder":
            verdict = simple_verdict(
                recipient,
                BounceClass.AUTOREPLY,
                "vacation",
                message_id=message_id,
                campaign=campaign,
            )
        elif bounce_type == "Unsubscribe":
            verdict = simple_verdict(
                recipient,
                BounceClass.UNSUBSCRIBE,
                "unsubscribe",
                message_id=message_id,
                campaign=campaign,
            )
        else:
            permanent, fallback = _BOUNCE_TYPES.get(bounce_type, (None, "onhold"))
            verdict = failure_verdict(
                recipient,
                permanent=permanent,
                diagnostic=" ".join((text(item.get("Details")), text(item.get("Description")))),
                fallback_reason=fallback,
                message_id=message_id,
                campaign=campaign,
            )
    elif kind == "SpamComplaint":
        verdict = simple_verdict(
            recipient,
            BounceClass.COMPLAINT,
            "feedback",
            feedback_type="abuse",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "SubscriptionChange" and item.get("SuppressSending") is True:
        verdict = simple_verdict(
            recipient,
            BounceClass.UNSUBSCRIBE,
            "unsubscribe",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "Delivery":
        verdict = simple_verdict(
            recipient, BounceClass.DELIVERED, "delivered", message_id=message_id, campaign=campaign
        )
    else:
        return []
    origin = f"postmark:{kind}:{item.get('ID') or message_id}:{recipient.lower()}"
    return [WebhookEvent(origin, verdict, when)]
