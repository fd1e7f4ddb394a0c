"""Amazon SES notifications and event publishing, delivered through Amazon SNS.

SNS signs each message with RSA: SHA1 for ``SignatureVersion`` 1, SHA256
for 2, over the message's fields in a fixed order. The signing
certificate is fetched from ``SigningCertURL``, which must be an https
URL of an ``sns.<region>.amazonaws.com`` host; the fetcher is passed in so
tests serve their own certificate and never reach the network.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

CertificateFetcher = Callable[[str], bytes]

# The SNS endpoint of one region. The group captures the region, such as "eu-west-1".
_SNS_HOST = re.compile(r"sns\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
# The fields SNS signs, in order, per message type.
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
# SES bounce sub-types that name the Sisimai reason when the diagnostic names none.
_SUBTYPE_REASONS = {
    "NoEmail": "userunknown",
    "Suppressed": "suppressed",
    "OnAccountSuppressionList": "suppressed",
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "mesgtoobig",
    "ContentRejected": "contenterror",
    "AttachmentRejected": "securityerror",
}


def load(body: bytes) -> dict[str, Any]:
    """:raises WebhookFormatError: when the body is not a JSON object."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers UnicodeDecodeError and integers too long to convert.
        raise WebhookFormatError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookFormatError("body must be a JSON object")
    return payload


def is_sns_host(hostname: str) -> bool:
    """Return whether ``hostname`` is a regional SNS endpoint, ``sns.<region>.amazonaws.com[.cn]``.

    ``hostname`` must already be lowercase, as ``urlsplit(...).hostname`` returns it.
    """
    return _SNS_HOST.fullmatch(hostname) is not None


def sns_host_region(hostname: str) -> str:
    """Return the region of an SNS endpoint host, or "" when ``hostname`` is not one."""
    match = _SNS_HOST.fullmatch(hostname)
    return match.group(1) if match else ""


class RejectRedirect(urllib.request.HTTPRedirectHandler):
    """A urllib handler that rejects every redirect.

    Returning None makes urllib raise ``HTTPError`` with the 3xx status, so a
    call never reaches a host that the URL checks did not see.
    """

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@lru_cache(maxsize=16)
def _fetch_https(url: str) -> bytes:
    """Fetch an SNS signing certificate: no redirect, a 5 s timeout, at most 64 KiB.

    :raises OSError: ``HTTPError`` for a non-2xx status (3xx included),
        ``URLError`` or ``TimeoutError`` when the connection fails.
    """
    opener = urllib.request.build_opener(RejectRedirect)
    try:
        response = opener.open(url, timeout=5)
    except urllib.error.HTTPError as error:
        # The error keeps the connection open; the caller needs only the failure.
        error.close()
        raise
    with response:
        data: bytes = response.read(65536)
    return data


def verify(
    envelope: dict[str, Any],
    allowed_topics: frozenset[str],
    fetch: CertificateFetcher = _fetch_https,
) -> None:
    """Check an SNS envelope's topic and RSA signature.

    :raises SignatureError: when the topic is not allowed, a field is missing,
        the certificate URL is not Amazon's, or the signature does not match.
    """
    kind = text(envelope.get("Type"))
    fields = _SIGNED_FIELDS.get(kind)
    if fields is None:
        raise SignatureError("field 'Type' is missing or not an SNS message type")
    if text(envelope.get("TopicArn")) not in allowed_topics:
        raise SignatureError("field 'TopicArn' is not in SENDGUARD_SES_TOPIC_ARNS")
    url = text(envelope.get("SigningCertURL"))
    not_sns_url = SignatureError("field 'SigningCertURL' is not an https URL of an SNS host")
    try:
        parts = urlsplit(url)
    except ValueError:
        # urlsplit raises on a malformed bracketed host such as "https://[".
        raise not_sns_url from None
    if parts.scheme != "https" or not is_sns_host(parts.hostname or ""):
        raise not_sns_url
    try:
        signature = base64.b64decode(text(envelope.get("Signature")), validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError("field 'Signature' is not base64") from None

    lines = []
    for name in fields:
        value = envelope.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SignatureError(f"field '{name}' is missing")
        lines.append(f"{name}\n{value}\n")
    algorithm: hashes.HashAlgorithm = (
        hashes.SHA256() if text(envelope.get("SignatureVersion")) == "2" else hashes.SHA1()  # noqa: S303
    )
    try:
        certificate = x509.load_pem_x509_certificate(fetch(url))
    except (ValueError, OSError):
        raise SignatureError("the certificate at 'SigningCertURL' could not be loaded") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the SNS certificate does not hold an RSA key")
    try:
        # surrogatepass: a lone surrogate from a JSON escape gives bytes that
        # fail the signature check instead of raising UnicodeEncodeError.
        signed = "".join(lines).encode("utf-8", errors="surrogatepass")
        key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SignatureError("field 'Signature' does not match the message") from None


def unwrap(envelope: dict[str, Any]) -> dict[str, Any]:
    """Return the SES message inside an SNS notification, or the payload itself.

    :raises WebhookFormatError: when the SNS ``Message`` is not a JSON object.
    """
    if "Message" in envelope and "Type" in envelope:
        try:
            message = json.loads(text(envelope.get("Message")))
        except (ValueError, RecursionError):
            raise WebhookFormatError("field 'Message' is not JSON") from None
        if not isinstance(message, dict):
            raise WebhookFormatError("field 'Message' must be a JSON object")
        return message
    return envelope


def parse(message: dict[str, Any]) -> list[WebhookEvent]:
    """Return one event per recipient of an SES bounce, complaint or delivery."""
    kind = text(message.get("notificationType")) or text(message.get("eventType"))
    mail = message.get("mail") if isinstance(message.get("mail"), dict) else {}
    assert isinstance(mail, dict)
    message_id = text(mail.get("messageId"))
    campaign = _campaign(mail)
    events: list[WebhookEvent] = []

    if kind == "Bounce":
        bounce = _object(message, "bounce")
        bounce_type = text(bounce.get("bounceType"))
        permanent = {"Permanent": True, "Transient": False}.get(bounce_type)
        fallback = _SUBTYPE_REASONS.get(text(bounce.get("bounceSubType")), "onhold")
        when = parse_time(bounce.get("timestamp"))
        for item in _list(bounce, "bouncedRecipients"):
            diagnostic = text(item.get("diagnosticCode")).partition(";")
            verdict = failure_verdict(
                text(item.get("emailAddress")),
                permanent=permanent,
                diagnostic=diagnostic[2] if diagnostic[1] else diagnostic[0],
                status=text(item.get("status")),
                fallback_reason=fallback,
                message_id=message_id,
                campaign=campaign,
            )
            events.append(_event(bounce.get("feedbackId"), verdict, when))
    elif kind == "Complaint":
        complaint = _object(message, "complaint")
        feedback = text(complaint.get("complaintFeedbackType")) or "abuse"
        when = parse_time(complaint.get("timestamp"))
        for item in _list(complaint, "complainedRecipients"):
            verdict = simple_verdict(
                text(item.get("emailAddress")),
                BounceClass.COMPLAINT,
                "feedback",
                feedback_type=feedback,
                message_id=message_id,
                campaign=campaign,
            )
            events.append(_event(complaint.get("feedbackId"), verdict, when))
    elif kind == "Delivery":
        delivery = _object(message, "delivery")
        when = parse_time(delivery.get("timestamp"))
        recipients = delivery.get("recipients")
        for address in recipients if isinstance(recipients, list) else []:
            if isinstance(address, str):
                verdict = simple_verdict(
                    address,
                    BounceClass.DELIVERED,
                    "delivered",
                    message_id=message_id,
                    campaign=campaign,
                )
                events.append(_event(f"{message_id}:delivery", verdict, when))
    return [event for event in events if event.verdict.recipient]


def _event(feedback_id: object, verdict: Any, when: Any) -> WebhookEvent:
    origin = f"ses:{text(feedback_id)}:{verdict.recipient.lower()}"
    return WebhookEvent(origin, verdict, when)


def _object(message: dict[str, Any], name: str) -> dict[str, Any]:
    value = message.get(name)
    if not isinstance(value, dict):
        raise WebhookFormatError(f"field '{name}' is missing or not an object")
    return value


def _list(container: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = container.get(name)
    if not isinstance(value, list):
        raise WebhookFormatError(f"field '{name}' is missing or not an array")
    return [item for item in value if isinstance(item, dict)]


def _campaign(mail: dict[str, Any]) -> str:
    tags = mail.get("tags")
    if isinstance(tags, dict):
        values = tags.get("sendguard_campaign")
        if isinstance(values, list) and values and isinstance(values[0], str):
            return values[0]
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and text(header.get("name")).lower() == "x-sendguard-campaign":
            return text(header.get("value"))
    return ""
