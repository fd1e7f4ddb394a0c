"""ESP webhook parsing and signature checks, with keys and certificates made by the tests."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from suppression.bounces import BounceClass
from suppression.bounces.webhooks import SignatureError, mailgun, postmark, sendgrid, ses
from tests.bounces.corpus import CORPUS

WEBHOOKS = CORPUS / "webhooks"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def sns_envelope(
    message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2"
) -> dict[str, Any]:
    envelope = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(message),
        "Timestamp": "2026-12-04T12:00:00.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
    }
    signed = "".join(
        f"{name}\n{envelope[name]}\n"
        for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
    signature = key.sign(signed.encode(), padding.PKCS1v15(), algorithm)
    envelope["Signature"] = base64.b64encode(signature).decode()
    return envelope


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ses_sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((WEBHOOKS / "ses" / name).read_text())
    return loaded


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signature_accepted(rsa_key: rsa.RSAPrivateKey, version: str) -> None:
    envelope = sns_envelope(_ses_sample("notification-examples-01-bounce.json"), rsa_key, version)
    pem = _certificate(rsa_key)

    ses.verify(envelope, frozenset({TOPIC}), lambda url: pem)
    events = ses.parse(ses.unwrap(envelope))

    assert [event.verdict.recipient for event in events] == ["jane@example.com"]
    assert events[0].verdict.bounce_class is BounceClass.HARD
    assert events[0].verdict.reason == "userunknown"


def test_sns_tampered_message_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    envelope = sns_envelope(_ses_sample("notification-examples-01-bounce.json"), rsa_key)
    envelope["Message"] = envelope["Message"].replace("jane@", "other@")
    pem = _certificate(rsa_key)

    with pytest.raises(SignatureError):
        ses.verify(envelope, frozenset({TOPIC}), lambda url: pem)


def test_sns_foreign_certificate_url_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    envelope = sns_envelope(_ses_sample("notification-examples-01-bounce.json"), rsa_key)
    envelope["SigningCertURL"] = "https://attacker.example/cert.pem"

    with pytest.raises(SignatureError, match="SigningCertURL"):
        ses.verify(envelope, frozenset({TOPIC}), lambda url: b"")


def test_sns_unknown_topic_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    envelope = sns_envelope(_ses_sample("notification-examples-01-bounce.json"), rsa_key)

    with pytest.raises(SignatureError, match="TopicArn"):
        ses.verify(envelope, frozenset({"arn:aws:sns:eu-west-1:1:other"}), lambda url: b"")


def test_ses_samples_classified() -> None:
    rows = [
        json.loads(line) for line in (WEBHOOKS / "ses" / "index.jsonl").read_text().splitlines()
    ]
    for row in rows:
        events = ses.parse(ses.unwrap(_ses_sample(row["path"])))
        if row["type"] == "Bounce":
            expected = BounceClass.HARD if row["bounceType"] == "Permanent" else BounceClass.SOFT
            assert [event.verdict.bounce_class for event in events] == [expected] * len(
                row["recipients"]
            ), row["path"]
        elif row["type"] == "Complaint":
            assert {event.verdict.bounce_class for event in events} == {BounceClass.COMPLAINT}
        elif row["type"] == "Delivery":
            assert {event.verdict.bounce_class for event in events} == {BounceClass.DELIVERED}
        else:
            assert events == [], row["path"]


def test_sisimai_json_samples_agree() -> None:
    folder = WEBHOOKS / "sisimai-json"
    for line in (folder / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["engine"] != "AmazonSES" or row["class"] == "n/a":
            continue
        events = ses.parse(ses.unwrap(json.loads((folder / row["path"]).read_text())))
        assert events[0].verdict.bounce_class.value == row["class"], row["path"]


def test_sendgrid_signature_checked() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    body = (WEBHOOKS / "sendgrid" / "sample_data.json").read_bytes()
    timestamp = "1733313600"
    signature = base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256())))

    sendgrid.verify(public, body, signature.decode(), timestamp)
    with pytest.raises(SignatureError):
        sendgrid.verify(public, body + b" ", signature.decode(), timestamp)
    with pytest.raises(SignatureError):
        sendgrid.verify(public, body, "", timestamp)


def test_sendgrid_sample_events() -> None:
    events = sendgrid.parse((WEBHOOKS / "sendgrid" / "sample_data.json").read_bytes())
    classes = {event.verdict.bounce_class for event in events}

    assert BounceClass.COMPLAINT in classes
    assert BounceClass.UNSUBSCRIBE in classes
    assert BounceClass.DELIVERED in classes
    assert all(event.origin.startswith("sendgrid:") for event in events)


def mailgun_payload(key: str, event: dict[str, Any]) -> dict[str, Any]:
    timestamp, token = "1733313600", "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4"
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": digest},
        "event-data": event,
    }


def test_mailgun_signature_and_failure() -> None:
    payload = mailgun_payload(
        "mailgun-key",
        {
            "event": "failed",
            "severity": "permanent",
            "recipient": "gone@example.net",
            "id": "evt-1",
            "delivery-status": {"code": 550, "message": "5.1.1 User unknown"},
        },
    )

    mailgun.verify("mailgun-key", payload)
    events = mailgun.parse(payload)

    assert events[0].verdict.bounce_class is BounceClass.HARD
    assert events[0].verdict.reason == "userunknown"
    assert events[0].verdict.reply_code == "550"
    with pytest.raises(SignatureError):
        mailgun.verify("another-key", payload)


def test_postmark_basic_auth_and_types() -> None:
    header = "Basic " + base64.b64encode(b"sendguard:pm-secret").decode()
    postmark.verify("pm-secret", header)
    with pytest.raises(SignatureError):
        postmark.verify("pm-secret", "Basic " + base64.b64encode(b"sendguard:wrong").decode())
    body = json.dumps(
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "Email": "gone@example.net",
            "ID": 42,
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        }
    ).encode()

    events = postmark.parse(body)

    assert events[0].verdict.bounce_class is BounceClass.HARD
    assert events[0].verdict.reason == "userunknown"
