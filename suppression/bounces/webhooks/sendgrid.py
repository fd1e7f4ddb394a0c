"""SendGrid Event Webhook: an array of events, signed with ECDSA P-256 over timestamp and body."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

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

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def verify(public_key_b64: str, body: bytes, signature_b64: str, timestamp: str) -> None:
    """Check the signature SendGrid computes over ``timestamp + body`` (ECDSA, SHA-256).

    :raises SignatureError: when a header is missing, or the signature does not match.
    """
    if not signature_b64 or not timestamp:
        raise SignatureError(f"header {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} is missing")
    try:
        key = load_der_public_key(base64.b64decode(public_key_b64))
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(f"header {SIGNATURE_HEADER} is not base64") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureError("the configured SendGrid key is not an ECDSA public key")
    try:
        key.verify(signature, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError(f"header {SIGNATURE_HEADER} does not match the body") from None


def parse(body: bytes) -> list[WebhookEvent]:
    """Return the bounce, complaint, unsubscribe and delivery events of a payload.

    :raises WebhookFormatError: when the body is not a JSON array of objects.
    """
    try:
        events = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers UnicodeDecodeError and integers too long to convert.
        raise WebhookFormatError("body is not JSON") from None
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list):
        raise WebhookFormatError("body must be a JSON array of events")
    found = []
    for position, item in enumerate(events):
        if not isinstance(item, dict):
            raise WebhookFormatError(f"event {position} is not a JSON object")
        event = _event(item)
        if event is not None:
            found.append(event)
    return found


def _event(item: dict[str, Any]) -> WebhookEvent | None:
    recipient = text(item.get("email"))
    kind = text(item.get("event"))
    message_id = text(item.get("smtp-id")) or text(item.get("sg_message_id"))
    campaign = text(item.get("sendguard_campaign")) or text(item.get("campaign_id"))
    if not recipient:
        return None
    if kind == "bounce":
        # "bounce" is a permanent refusal; "blocked" a temporary one (SendGrid's bounce types).
        verdict = failure_verdict(
            recipient,
            permanent=text(item.get("type")) != "blocked",
            diagnostic=text(item.get("reason")),
            status=text(item.get("status")),
            fallback_reason="blocked" if text(item.get("type")) == "blocked" else "onhold",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "deferred":
        verdict = failure_verdict(
            recipient,
            permanent=False,
            diagnostic=text(item.get("response")),
            fallback_reason="expired",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "spamreport":
        verdict = simple_verdict(
            recipient,
            BounceClass.COMPLAINT,
            "feedback",
            feedback_type="abuse",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind in ("unsubscribe", "group_unsubscribe"):
        verdict = simple_verdict(
            recipient,
            BounceClass.UNSUBSCRIBE,
            "unsubscribe",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "delivered":
        verdict = simple_verdict(
            recipient, BounceClass.DELIVERED, "delivered", message_id=message_id, campaign=campaign
        )
    else:
        return None
    origin = "sendgrid:" + (text(item.get("sg_event_id")) or f"{message_id}:{kind}:{recipient}")
    return WebhookEvent(origin, verdict, parse_time(item.get("timestamp")))
