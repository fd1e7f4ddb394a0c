"""Every parser of outside input, wrapped as a check that takes the raw bytes.

A check returns when the parser gave a clean result: a value that meets the
invariants written below, or the parser's own documented error. Any other
exception (IndexError, KeyError, TypeError, UnicodeError, RecursionError…)
escapes and fails the test. The fuzz tests and the crasher replay share
these checks, so a kept input is judged exactly as it was when found.

Text parsers receive the bytes decoded as UTF-8, with invalid bytes
replaced, because their callers hand them ``str``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import settings

from compliance.checks.dmarc_record import DmarcPolicy, DmarcSyntaxError, parse_dmarc_record
from compliance.checks.dns_lookup import ZoneFileError
from compliance.checks.findings import Finding
from compliance.checks.postal_address import check_postal_address
from compliance.checks.resolver import DnsStatus
from compliance.checks.spf_record import (
    Mechanism,
    Modifier,
    SpfSyntaxError,
    parse_spf_record,
)
from compliance.checks.zone_source import ZoneSource
from suppression.bounces import BounceClass, Verdict, classify
from suppression.bounces.webhooks import (
    SignatureError,
    WebhookEvent,
    WebhookFormatError,
    mailgun,
    postmark,
    sendgrid,
    ses,
)
from suppression.bounces.webhooks.sns_subscription import (
    ConfirmError,
    SubscribeUrlError,
    check_subscribe_url,
    subscription_arn,
)
from suppression.formats import FORMATS, ImportRecord, ReadOptions, RejectedLine, detect_format
from suppression.formats.timestamps import TimestampError, from_any

# Registered in tests/fuzz/conftest.py, which pytest imports before this module.
FUZZ_SETTINGS = settings.get_profile("sendguard-fuzz")

Check = Callable[[bytes], None]


def as_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


# Bounce, complaint and reply messages.


def check_bounce_message(data: bytes) -> None:
    """``classify`` never raises and returns at least one well-formed verdict."""
    verdicts = classify(data)

    assert verdicts, "classify returned no verdict"
    for verdict in verdicts:
        assert isinstance(verdict, Verdict)
        assert verdict.bounce_class in set(BounceClass)
        # An unreadable message gives an empty recipient too, with class unknown.
        if not verdict.recipient:
            assert verdict.bounce_class in (BounceClass.NOT_BOUNCE, BounceClass.UNKNOWN)
        assert len(verdict.diagnostic) <= 1000
        json.dumps(verdict.as_json())


# ESP webhooks.


def _check_events(events: list[WebhookEvent]) -> None:
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, WebhookEvent)
        assert isinstance(event.origin, str)
        assert event.verdict.recipient, "a webhook event without a recipient"
        assert event.verdict.bounce_class in set(BounceClass)
        if event.occurred_at is not None:
            assert event.occurred_at.tzinfo is not None


def check_webhook_ses(data: bytes) -> None:
    """SES through SNS: load, unwrap and parse, as the endpoint does after the signature."""
    try:
        envelope = ses.load(data)
        message = ses.unwrap(envelope)
        events = ses.parse(message)
    except WebhookFormatError as error:
        assert str(error)
        return
    _check_events(events)


SES_TOPIC = "arn:aws:sns:us-east-1:123456789012:bounces"
SES_SIGNING_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-fuzz.pem"


@cache
def ses_signing_key() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A throwaway RSA key and its self-signed certificate, standing in for Amazon's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def sign_sns_envelope(envelope: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Return ``envelope`` signed over ``fields`` (SNS signature version 2) with the local key."""
    key, _certificate = ses_signing_key()
    signed = "".join(f"{name}\n{envelope[name]}\n" for name in fields if name in envelope)
    signature = key.sign(signed.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return {
        **envelope,
        "SignatureVersion": "2",
        "SigningCertURL": SES_SIGNING_CERT_URL,
        "Signature": base64.b64encode(signature).decode("ascii"),
    }


def check_webhook_ses_signature(data: bytes) -> None:
    """The SNS signature check, with the certificate served from memory instead of fetched."""
    try:
        envelope = ses.load(data)
    except WebhookFormatError:
        return
    _key, certificate = ses_signing_key()
    try:
        ses.verify(envelope, frozenset({SES_TOPIC}), fetch=lambda _url: certificate)
    except SignatureError as error:
        assert str(error)


def check_webhook_sns_subscribe(data: bytes) -> None:
    """An SNS SubscriptionConfirmation: the URL checks run before any request is sent."""
    try:
        envelope = ses.load(data)
    except WebhookFormatError:
        return
    try:
        url = check_subscribe_url(envelope)
    except SubscribeUrlError as error:
        assert error.fault is not None
        return
    assert url.startswith("https://")


def check_sns_confirm_response(data: bytes) -> None:
    """The XML body that SNS returns to a ConfirmSubscription request."""
    topic = "arn:aws:sns:us-east-1:123456789012:bounces"
    try:
        arn = subscription_arn(data, topic)
    except ConfirmError as error:
        assert str(error)
        return
    assert arn.startswith(topic + ":")


def check_webhook_sendgrid(data: bytes) -> None:
    try:
        events = sendgrid.parse(data)
    except WebhookFormatError as error:
        assert str(error)
        return
    _check_events(events)


def check_webhook_mailgun(data: bytes) -> None:
    """Mailgun: load, verify against a fixed key (a forged signature fails), then parse."""
    try:
        payload = mailgun.load(data)
    except WebhookFormatError:
        return
    try:
        mailgun.verify("fuzz-signing-key", payload)
    except SignatureError as error:
        assert str(error)
    try:
        events = mailgun.parse(payload)
    except WebhookFormatError as error:
        assert str(error)
        return
    _check_events(events)


def check_webhook_postmark(data: bytes) -> None:
    try:
        events = postmark.parse(data)
    except WebhookFormatError as error:
        assert str(error)
        return
    _check_events(events)


def check_postmark_authorization(data: bytes) -> None:
    """The Authorization header of a Postmark request: only the right password passes."""
    try:
        postmark.verify("fuzz-password", as_text(data))
    except SignatureError as error:
        assert str(error)


# DNS records and zone files.


def check_spf_record(data: bytes) -> None:
    """A parsed record's terms are its space-separated words, at their columns."""
    text = as_text(data)
    try:
        record = parse_spf_record(text)
    except SpfSyntaxError as error:
        assert error.position >= 1
        assert str(error)
        return

    assert record.text == text
    assert [term.text for term in record.terms] == text.split()[1:]
    last_position = 0
    for term in record.terms:
        assert isinstance(term, Mechanism | Modifier)
        assert term.position > last_position
        assert text[term.position - 1 :].startswith(term.text)
        last_position = term.position
        if isinstance(term, Mechanism):
            assert term.ip4_prefix is None or 0 <= term.ip4_prefix <= 32
            assert term.ip6_prefix is None or 0 <= term.ip6_prefix <= 128
    assert record.dns_lookup_count >= 0


def check_dmarc_record(data: bytes) -> None:
    text = as_text(data)
    try:
        record = parse_dmarc_record(text)
    except DmarcSyntaxError as error:
        assert str(error)
        return

    assert record.policy in set(DmarcPolicy)
    assert record.policy_for(subdomain=True) in set(DmarcPolicy)
    assert "p" in record.tags
    assert len(set(record.invalid_tags)) == len(record.invalid_tags)


_ZONE_QUERY_TYPES = ("TXT", "A", "AAAA", "MX", "CNAME", "NS", "PTR")


def check_zone_file(data: bytes) -> None:
    """Parse a zone, then query every owner name in it for the record types the checks use."""
    text = as_text(data)
    try:
        source = ZoneSource.from_text(text, origin="example.org")
    except ZoneFileError as error:
        assert str(error)
        return

    async def query_all() -> None:
        names = [name.to_text() for name in source._zone.nodes]
        for name in [*names[:20], "example.org", "missing.example.org", "example.net"]:
            for rdtype in _ZONE_QUERY_TYPES:
                answer = await source.query(name, rdtype)
                assert answer.status in set(DnsStatus)

    asyncio.run(query_all())


# Postal addresses in message footers.


def check_footer_address(data: bytes) -> None:
    """The footer text as the text part, then as the HTML part."""
    text = as_text(data)
    for html, plain in ((None, text), (text, None)):
        findings = check_postal_address(html, plain)
        assert isinstance(findings, tuple)
        assert all(isinstance(finding, Finding) for finding in findings)


# Suppression file imports.


def check_detect_format(data: bytes) -> None:
    for filename in (None, "export.csv", "suppressions.json"):
        name = detect_format(filename, data)
        assert name is None or name in FORMATS


def check_timestamp(data: bytes) -> None:
    text = as_text(data)
    try:
        parsed = from_any(text)
    except TimestampError as error:
        assert str(error)
        return
    assert parsed.utcoffset() is not None


def make_import_check(format_name: str) -> Check:
    reader = FORMATS[format_name].reader
    assert reader is not None

    def check(data: bytes) -> None:
        """Every input gives records and rejected lines, at line numbers that never go back."""
        last_line = 0
        for result in reader(io.BytesIO(data), ReadOptions()):
            assert isinstance(result, ImportRecord | RejectedLine)
            assert result.line >= 1
            assert result.line >= last_line, f"line {result.line} after line {last_line}"
            last_line = result.line
            if isinstance(result, RejectedLine):
                assert result.fault.code
                assert result.fault.message

    return check


IMPORT_FORMATS = tuple(name for name, spec in FORMATS.items() if spec.reader is not None)

TARGETS: dict[str, Check] = {
    "bounce_message": check_bounce_message,
    "webhook_ses": check_webhook_ses,
    "webhook_ses_signature": check_webhook_ses_signature,
    "webhook_sns_subscribe": check_webhook_sns_subscribe,
    "sns_confirm_response": check_sns_confirm_response,
    "webhook_sendgrid": check_webhook_sendgrid,
    "webhook_mailgun": check_webhook_mailgun,
    "webhook_postmark": check_webhook_postmark,
    "postmark_authorization": check_postmark_authorization,
    "spf_record": check_spf_record,
    "dmarc_record": check_dmarc_record,
    "zone_file": check_zone_file,
    "postal_address": check_footer_address,
    "detect_format": check_detect_format,
    "timestamp": check_timestamp,
    **{f"import_{name}": make_import_check(name) for name in IMPORT_FORMATS},
}
