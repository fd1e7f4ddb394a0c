"""Mailgun webhooks: ``event-data`` signed by HMAC-SHA256 of timestamp and token."""

from __future__ import annotations

import hashlib
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


def load(body: bytes) -> dict[str, Any]:
    """:raises WebhookFormatError: when the body is not a JSON object."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers UnicodeDecodeError and integers too long to convert.
        raise WebhookFormatError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookFormatError("body must be a JSON object with 'signature' and 'event-data'")
    return payload


def verify(signing_key: str, payload: dict[str, Any]) -> None:
    """Check ``signature.signature`` = HMAC-SHA256(key, timestamp + token), in hex.

    :raises SignatureError: when a field is missing or the signature does not match.
    """
    signature = payload.get("signature")
    if not isinstance(signature, dict):
        raise SignatureError("field 'signature' is missing")
    timestamp, token, given = (
        text(signature.get(name)) for name in ("timestamp", "token", "signature")
    )
    if not (timestamp and token and given):
        raise SignatureError("field 'signature' needs 'timestamp', 'token' and 'signature'")
    # Mailgun sends digits and hex. hmac.compare_digest raises TypeError on other
    # characters, and a lone surrogate from a JSON escape cannot be encoded.
    if not (timestamp + token + given).isascii():
        raise SignatureError("field 'signature' must contain only ASCII characters")
    expected = hmac.new(
        signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise SignatureError("field 'signature.signature' does not match")


def parse(payload: dict[str, Any]) -> list[WebhookEvent]:
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise WebhookFormatError("field 'event-data' is missing or not an object")
    recipient = text(data.get("recipient"))
    if not recipient:
        return []
    kind = text(data.get("event"))
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message, dict) else {}
    message_id = text(headers.get("message-id")) if isinstance(headers, dict) else ""
    variables = data.get("user-variables")
    campaign = text(variables.get("sendguard_campaign")) if isinstance(variables, dict) else ""
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    assert isinstance(status, dict)

    if kind == "failed":
        code = status.get("code")
        verdict = failure_verdict(
            recipient,
            permanent=text(data.get("severity")) == "permanent",
            diagnostic=" ".join(
                (
                    text(status.get("message")),
                    text(status.get("description")),
                    text(data.get("reason")),
                )
            ),
            status=text(status.get("enhanced-code")),
            reply_code=str(code) if isinstance(code, int) else text(code),
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "complained":
        verdict = simple_verdict(
            recipient,
            BounceClass.COMPLAINT,
            "feedback",
            feedback_type="abuse",
            message_id=message_id,
            campaign=campaign,
        )
    elif kind == "unsubscribed":
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
        return []
    origin = "mailgun:" + (text(data.get("id")) or f"{message_id}:{kind}:{recipient}")
    return [WebhookEvent(origin, verdict, parse_time(data.get("timestamp")))]
