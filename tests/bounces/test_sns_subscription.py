"""SNS subscription confirmation: URL checks, loopback transport, response parser, the app."""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from compliance.core.settings import Settings
from suppression.bounces.webhooks.sns_subscription import (
    ConfirmError,
    SubscribeUrlError,
    SubscribeUrlFault,
    check_subscribe_url,
    confirm,
    confirm_https,
    subscription_arn,
)
from tests.api.conftest import Tenant
from tests.bounces.test_webhooks import CERT_URL, TOPIC, _certificate

TOKEN = "2336412f37fb687f5d51e6e2425dacbba9e0fe3e1e2b4e7c5e5ef7a1a0b1c2d3"
SUBSCRIBE_URL = (
    "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={quote(TOPIC, safe='')}&Token={TOKEN}"
)
SUBSCRIPTION_ARN = f"{TOPIC}:4e1a8d2c-6b1f-4c3e-9a57-0d2f3b8e6c11"
CONFIRM_RESPONSE = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    f"<ConfirmSubscriptionResult><SubscriptionArn>{SUBSCRIPTION_ARN}</SubscriptionArn>"
    "</ConfirmSubscriptionResult>"
    "<ResponseMetadata><RequestId>7f3c1e2a-0000-4000-8000-000000000001</RequestId>"
    "</ResponseMetadata></ConfirmSubscriptionResponse>"
).encode()
# The fields SNS signs in a SubscriptionConfirmation or UnsubscribeConfirmation, in order.
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed_confirmation(
    key: rsa.RSAPrivateKey,
    *,
    kind: str = "SubscriptionConfirmation",
    subscribe_url: str = SUBSCRIBE_URL,
    topic: str = TOPIC,
) -> dict[str, Any]:
    """Build an SNS confirmation message signed with ``key`` (SignatureVersion 2)."""
    envelope = {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": TOKEN,
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-12-04T12:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": CERT_URL,
    }
    signed = "".join(f"{name}\n{envelope[name]}\n" for name in CONFIRMATION_FIELDS)
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    envelope["Signature"] = base64.b64encode(signature).decode()
    return envelope


def _url(**overrides: str) -> str:
    """Return SUBSCRIBE_URL with some of its parts replaced."""
    scheme = overrides.get("scheme", "https")
    host = overrides.get("host", "sns.eu-west-1.amazonaws.com")
    path = overrides.get("path", "/")
    query = overrides.get(
        "query",
        f"Action=ConfirmSubscription&TopicArn={quote(TOPIC, safe='')}&Token={TOKEN}",
    )
    return f"{scheme}://{host}{path}?{query}"


# --- URL checks -----------------------------------------------------------------------------

TOPIC_QUERY = f"TopicArn={quote(TOPIC, safe='')}"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:123456789012:other-topic"

URL_CASES: list[tuple[str, str, SubscribeUrlFault | None]] = [
    ("real SNS URL", SUBSCRIBE_URL, None),
    (
        "unquoted TopicArn",
        _url(query=f"Action=ConfirmSubscription&TopicArn={TOPIC}&Token={TOKEN}"),
        None,
    ),
    ("empty path", _url(path=""), None),
    ("explicit port 443", _url(host="sns.eu-west-1.amazonaws.com:443"), None),
    ("upper-case host", _url(host="SNS.EU-WEST-1.AMAZONAWS.COM"), None),
    ("empty", "", SubscribeUrlFault.MALFORMED),
    ("space inside", SUBSCRIBE_URL.replace("Action", "Act ion"), SubscribeUrlFault.MALFORMED),
    ("newline inside", SUBSCRIBE_URL.replace("?", "\n?"), SubscribeUrlFault.MALFORMED),
    ("non-ASCII", SUBSCRIBE_URL + "&é=1", SubscribeUrlFault.MALFORMED),
    ("bad port", _url(host="sns.eu-west-1.amazonaws.com:99999"), SubscribeUrlFault.MALFORMED),
    ("other port", _url(host="sns.eu-west-1.amazonaws.com:8443"), SubscribeUrlFault.MALFORMED),
    ("user info", _url(host="me@sns.eu-west-1.amazonaws.com"), SubscribeUrlFault.MALFORMED),
    ("other path", _url(path="/confirm"), SubscribeUrlFault.MALFORMED),
    ("fragment", SUBSCRIBE_URL + "#x", SubscribeUrlFault.MALFORMED),
    ("query not key=value", _url(query="Action"), SubscribeUrlFault.MALFORMED),
    ("http scheme", _url(scheme="http"), SubscribeUrlFault.NOT_HTTPS),
    ("scheme-relative", SUBSCRIBE_URL.removeprefix("https:"), SubscribeUrlFault.NOT_HTTPS),
    ("foreign host", _url(host="sns.eu-west-1.example.com"), SubscribeUrlFault.NOT_SNS_HOST),
    (
        "SNS name as subdomain",
        _url(host="sns.eu-west-1.amazonaws.com.example.net"),
        SubscribeUrlFault.NOT_SNS_HOST,
    ),
    ("trailing dot", _url(host="sns.eu-west-1.amazonaws.com."), SubscribeUrlFault.NOT_SNS_HOST),
    ("loopback", _url(host="127.0.0.1"), SubscribeUrlFault.NOT_SNS_HOST),
    ("bare amazonaws", _url(host="amazonaws.com"), SubscribeUrlFault.NOT_SNS_HOST),
    ("other region", _url(host="sns.us-east-1.amazonaws.com"), SubscribeUrlFault.WRONG_REGION),
    (
        "missing Action",
        _url(query=f"{TOPIC_QUERY}&Token={TOKEN}"),
        SubscribeUrlFault.WRONG_ACTION,
    ),
    (
        "other Action",
        _url(query=f"Action=Unsubscribe&{TOPIC_QUERY}&Token={TOKEN}"),
        SubscribeUrlFault.WRONG_ACTION,
    ),
    (
        "Action twice",
        _url(query=f"Action=ConfirmSubscription&Action=Subscribe&{TOPIC_QUERY}&Token={TOKEN}"),
        SubscribeUrlFault.WRONG_ACTION,
    ),
    (
        "missing TopicArn",
        _url(query=f"Action=ConfirmSubscription&Token={TOKEN}"),
        SubscribeUrlFault.WRONG_TOPIC,
    ),
    (
        "other TopicArn",
        _url(query=f"Action=ConfirmSubscription&TopicArn={OTHER_TOPIC}&Token={TOKEN}"),
        SubscribeUrlFault.WRONG_TOPIC,
    ),
    (
        "missing Token",
        _url(query=f"Action=ConfirmSubscription&{TOPIC_QUERY}"),
        SubscribeUrlFault.WRONG_TOKEN,
    ),
    (
        "other Token",
        _url(query=f"Action=ConfirmSubscription&{TOPIC_QUERY}&Token=ffff"),
        SubscribeUrlFault.WRONG_TOKEN,
    ),
]


@pytest.mark.parametrize(
    ("url", "fault"), [case[1:] for case in URL_CASES], ids=[case[0] for case in URL_CASES]
)
def test_subscribe_url_checks(url: str, fault: SubscribeUrlFault | None) -> None:
    envelope = {"SubscribeURL": url, "TopicArn": TOPIC, "Token": TOKEN}

    if fault is None:
        assert check_subscribe_url(envelope) == url
        return
    with pytest.raises(SubscribeUrlError) as caught:
        check_subscribe_url(envelope)

    assert caught.value.fault is fault
    assert TOKEN not in str(caught.value)


def test_subscribe_url_china_region() -> None:
    topic = "arn:aws-cn:sns:cn-north-1:123456789012:ses-bounces"
    url = (
        "https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription"
        f"&TopicArn={topic}&Token={TOKEN}"
    )

    assert check_subscribe_url({"SubscribeURL": url, "TopicArn": topic, "Token": TOKEN}) == url


def test_subscribe_url_malformed_topic_arn() -> None:
    envelope = {"SubscribeURL": SUBSCRIBE_URL, "TopicArn": "ses-bounces", "Token": TOKEN}

    with pytest.raises(SubscribeUrlError) as caught:
        check_subscribe_url(envelope)

    assert caught.value.fault is SubscribeUrlFault.WRONG_REGION


# --- response parsing -----------------------------------------------------------------------


def test_response_arn_read() -> None:
    assert subscription_arn(CONFIRM_RESPONSE, TOPIC) == SUBSCRIPTION_ARN


def test_response_arn_with_prefix_and_spaces() -> None:
    body = (
        '<sns:ConfirmSubscriptionResponse xmlns:sns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<sns:SubscriptionArn>\n  {SUBSCRIPTION_ARN}\n</sns:SubscriptionArn>"
        "</sns:ConfirmSubscriptionResponse>"
    ).encode()

    assert subscription_arn(body, TOPIC) == SUBSCRIPTION_ARN


BAD_RESPONSES = [
    ("empty", b""),
    ("not XML", b"Service Unavailable"),
    ("no ARN", b"<ConfirmSubscriptionResponse><Result/></ConfirmSubscriptionResponse>"),
    (
        "two ARNs",
        f"<r><SubscriptionArn>{SUBSCRIPTION_ARN}</SubscriptionArn>"
        f"<SubscriptionArn>{SUBSCRIPTION_ARN}</SubscriptionArn></r>".encode(),
    ),
    ("other topic", f"<r><SubscriptionArn>{OTHER_TOPIC}:abc</SubscriptionArn></r>".encode()),
    ("topic only", f"<r><SubscriptionArn>{TOPIC}</SubscriptionArn></r>".encode()),
    ("pending", b"<r><SubscriptionArn>pending confirmation</SubscriptionArn></r>"),
    (
        "control character in id",
        f"<r><SubscriptionArn>{TOPIC}:ab&#10;cd</SubscriptionArn></r>".encode(),
    ),
    (
        "internal entity",
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{SUBSCRIPTION_ARN}">]>'
        "<r><SubscriptionArn>&a;</SubscriptionArn></r>".encode(),
    ),
    (
        "external entity",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b"<r><SubscriptionArn>&x;</SubscriptionArn></r>",
    ),
    (
        "external DTD",
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd">'
        + f"<r><SubscriptionArn>{SUBSCRIPTION_ARN}</SubscriptionArn></r>".encode(),
    ),
    ("undeclared entity", b"<r><SubscriptionArn>&x;</SubscriptionArn></r>"),
]


@pytest.mark.parametrize(
    "body", [case[1] for case in BAD_RESPONSES], ids=[case[0] for case in BAD_RESPONSES]
)
def test_response_rejected(body: bytes) -> None:
    with pytest.raises(ConfirmError):
        subscription_arn(body, TOPIC)


# --- the urllib transport, against a loopback server ----------------------------------------


class _SnsStandIn(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/ok"):
            self._answer(200, CONFIRM_RESPONSE)
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/ok?redirected=1")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/large"):
            self._answer(200, b"x" * 100_000)
        elif self.path.startswith("/unsized"):
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"y" * 100_000)
        elif self.path.startswith("/trickle"):
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(0.02)
        else:
            self._answer(403, b"<ErrorResponse><Error><Code>AuthorizationError</Code></Error>")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SnsStandIn)
    requests: list[str] = []
    server.requests = requests  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
        server.server_close()


def test_transport_returns_body(stand_in: tuple[str, list[str]]) -> None:
    base, requests = stand_in

    assert confirm_https(f"{base}/ok?Action=ConfirmSubscription") == CONFIRM_RESPONSE
    assert requests == ["/ok?Action=ConfirmSubscription"]


def test_transport_redirect_not_followed(stand_in: tuple[str, list[str]]) -> None:
    base, requests = stand_in

    with pytest.raises(urllib.error.HTTPError) as caught:
        confirm_https(f"{base}/redirect")

    assert caught.value.code == 302
    assert requests == ["/redirect"]


def test_transport_declared_size_bounded(stand_in: tuple[str, list[str]]) -> None:
    base, _ = stand_in

    with pytest.raises(ConfirmError, match="larger"):
        confirm_https(f"{base}/large")


def test_transport_read_size_bounded(stand_in: tuple[str, list[str]]) -> None:
    base, _ = stand_in

    with pytest.raises(ConfirmError, match="larger"):
        confirm_https(f"{base}/unsized", max_bytes=1000)


def test_transport_total_time_bounded(stand_in: tuple[str, list[str]]) -> None:
    base, _ = stand_in
    started = time.monotonic()

    with pytest.raises(ConfirmError) as caught:
        confirm_https(f"{base}/trickle", timeout_seconds=0.5)

    assert caught.value.error_type == "TimeoutError"
    # The server needs 4 s to send its 200 bytes, and the deadline stops the read well before.
    assert time.monotonic() - started < 2.5


def test_confirm_reports_http_status(stand_in: tuple[str, list[str]]) -> None:
    base, _ = stand_in
    envelope = {"SubscribeURL": SUBSCRIBE_URL, "TopicArn": TOPIC, "Token": TOKEN}

    def forward_to_stand_in(url: str) -> bytes:
        return confirm_https(f"{base}/forbidden")

    with pytest.raises(ConfirmError) as caught:
        confirm(envelope, forward_to_stand_in)

    assert caught.value.error_type == "HTTPError"
    assert caught.value.http_status == 403


class RecordingConfirmer:
    """Fake SNS transport that records each URL, then returns ``body`` or raises ``error``."""

    def __init__(self, body: bytes = CONFIRM_RESPONSE, error: Exception | None = None) -> None:
        self.urls: list[str] = []
        self.body = body
        self.error = error

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.error is not None:
            raise self.error
        return self.body


def test_confirm_checks_before_request() -> None:
    confirmer = RecordingConfirmer()
    envelope = {"SubscribeURL": _url(scheme="http"), "TopicArn": TOPIC, "Token": TOKEN}

    with pytest.raises(SubscribeUrlError):
        confirm(envelope, confirmer)

    assert confirmer.urls == []


# --- through the app ------------------------------------------------------------------------


@pytest.fixture
def sns_app(
    client: TestClient, settings: Settings, rsa_key: rsa.RSAPrivateKey
) -> tuple[TestClient, RecordingConfirmer, list[str]]:
    """Enable the SES webhook with a test certificate and a recording confirmer."""
    settings.ses_topic_arns = TOPIC
    pem = _certificate(rsa_key)
    certificate_urls: list[str] = []

    def fetch_certificate(url: str) -> bytes:
        certificate_urls.append(url)
        return pem

    confirmer = RecordingConfirmer()
    state: Any = client.app.state  # type: ignore[attr-defined]
    state.sns_certificate_fetcher = fetch_certificate
    state.sns_subscription_confirmer = confirmer
    return client, confirmer, certificate_urls


def _post(client: TestClient, tenant: Tenant, envelope: dict[str, Any]) -> Any:
    return client.post(
        f"/v1/events/ses/{tenant.sender_id}",
        json=envelope,
        headers={"x-amz-sns-message-type": envelope.get("Type", ""), "Accept-Language": "en"},
    )


def test_app_confirms_subscription_once(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, certificate_urls = sns_app

    with capture_logs() as logs:
        response = _post(client, tenant, signed_confirmation(rsa_key))

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 0, "outcomes": {}}
    assert confirmer.urls == [SUBSCRIBE_URL]
    assert certificate_urls == [CERT_URL]
    confirmed = [entry for entry in logs if entry["event"] == "ses.subscription_confirmed"]
    assert len(confirmed) == 1
    assert confirmed[0]["subscription_arn"] == SUBSCRIPTION_ARN
    assert TOKEN not in repr(logs)


BAD_URLS = [
    ("wrong host", _url(host="sns.eu-west-1.amazonaws.com.example.net"), "Amazon SNS host"),
    ("http scheme", _url(scheme="http"), "https"),
    (
        "mismatched TopicArn",
        _url(query=f"Action=ConfirmSubscription&TopicArn={OTHER_TOPIC}&Token={TOKEN}"),
        "TopicArn",
    ),
    (
        "missing Action",
        _url(query=f"{TOPIC_QUERY}&Token={TOKEN}"),
        "Action=ConfirmSubscription",
    ),
]


@pytest.mark.parametrize(
    ("url", "named"), [case[1:] for case in BAD_URLS], ids=[case[0] for case in BAD_URLS]
)
def test_app_rejects_bad_subscribe_url(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
    url: str,
    named: str,
) -> None:
    client, confirmer, _ = sns_app

    with capture_logs() as logs:
        response = _post(client, tenant, signed_confirmation(rsa_key, subscribe_url=url))

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == "SubscribeURL"
    assert named in body["detail"]
    assert "SNS console" in body["detail"]
    assert TOKEN not in response.text
    assert TOKEN not in repr(logs)
    assert confirmer.urls == []


def test_app_rejection_in_french(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    envelope = signed_confirmation(rsa_key, subscribe_url=_url(scheme="http"))

    response = client.post(
        f"/v1/events/ses/{tenant.sender_id}", json=envelope, headers={"Accept-Language": "fr"}
    )

    assert response.status_code == 422
    assert "n'utilise pas https" in response.json()["detail"]
    assert confirmer.urls == []


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError("connection refused"),
        TimeoutError("timed out"),
        ConfirmError("the response is larger than max_bytes"),
    ],
    ids=["unreachable", "timeout", "oversized"],
)
def test_app_confirm_failure_is_502(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
    error: Exception,
) -> None:
    client, confirmer, _ = sns_app
    confirmer.error = error

    with capture_logs() as logs:
        response = _post(client, tenant, signed_confirmation(rsa_key))

    assert response.status_code == 502, response.text
    detail = response.json()["detail"]
    assert "not confirmed" in detail
    assert "by hand" in detail
    assert TOKEN not in response.text
    assert confirmer.urls == [SUBSCRIBE_URL]
    failed = [entry for entry in logs if entry["event"] == "ses.subscription_confirm_failed"]
    assert [entry["error_type"] for entry in failed] == [type(error).__name__]
    assert TOKEN not in repr(logs)


def test_app_unusable_response_is_502(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    confirmer.body = b"<html>maintenance</html>"

    response = _post(client, tenant, signed_confirmation(rsa_key))

    assert response.status_code == 502
    assert confirmer.urls == [SUBSCRIBE_URL]


def test_app_unsigned_confirmation_rejected(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    envelope = signed_confirmation(rsa_key)
    del envelope["Signature"]

    response = _post(client, tenant, envelope)

    assert response.status_code == 401
    assert confirmer.urls == []


def test_app_badly_signed_confirmation_rejected(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = signed_confirmation(other_key)
    tampered = signed_confirmation(rsa_key)
    tampered["SubscribeURL"] = _url(query=f"Action=ConfirmSubscription&{TOPIC_QUERY}&Token=0")

    forged_response = _post(client, tenant, forged)
    tampered_response = _post(client, tenant, tampered)

    assert forged_response.status_code == 401
    assert tampered_response.status_code == 401
    assert confirmer.urls == []


def test_app_unknown_topic_not_confirmed(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    other_url = _url(query=f"Action=ConfirmSubscription&TopicArn={OTHER_TOPIC}&Token={TOKEN}")
    envelope = signed_confirmation(rsa_key, topic=OTHER_TOPIC, subscribe_url=other_url)

    response = _post(client, tenant, envelope)

    assert response.status_code == 401
    assert confirmer.urls == []


def test_app_unknown_sender_not_confirmed(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    client, confirmer, _ = sns_app

    response = client.post("/v1/events/ses/snd_missing", json=signed_confirmation(rsa_key))

    assert response.status_code == 404
    assert confirmer.urls == []


def test_app_unsubscribe_confirmation_ignored(
    sns_app: tuple[TestClient, RecordingConfirmer, list[str]],
    tenant: Tenant,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client, confirmer, _ = sns_app
    envelope = signed_confirmation(rsa_key, kind="UnsubscribeConfirmation")

    with capture_logs() as logs:
        response = _post(client, tenant, envelope)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 0, "outcomes": {}}
    assert confirmer.urls == []
    events = [entry["event"] for entry in logs if entry["event"].startswith("ses.")]
    assert events == ["ses.unsubscribe_confirmation"]
