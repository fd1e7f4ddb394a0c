"""Ingestion through the real app and the real CLI: suppression, soft-bounce policy, campaigns."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mailbox
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, col, select

from compliance.core.blind_index import BlindIndexer
from compliance.core.keys import load_keyring
from compliance.core.settings import Settings
from suppression.models import BounceEvent, Campaign, SuppressionEntry
from tests.api.conftest import Tenant
from tests.support.cli import run_cli


def dsn(recipient: str, status: str, diagnostic: str, message_id: str, campaign: str = "") -> bytes:
    campaign_header = f"X-Sendguard-Campaign: {campaign}\r\n" if campaign else ""
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: news@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
        f"\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: news@example.com\r\nTo: {recipient}\r\nMessage-ID: {message_id}\r\n"
        f"{campaign_header}Subject: Our news\r\n\r\n--B--\r\n"
    ).encode()


AUTO_REPLY = (
    b"From: Away Person <away@example.net>\r\nTo: news@example.com\r\n"
    b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n"
)


def _post(client: TestClient, tenant: Tenant, raw: bytes) -> dict[str, object]:
    response = client.post(
        "/v1/events/raw",
        content=raw,
        headers={**tenant.auth("sender"), "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _entries(client: TestClient, settings: Settings, sender_id: str, address: str) -> list[str]:
    digest = BlindIndexer(load_keyring(settings)).current(address).digest
    app = client.app
    with Session(app.state.engine) as session:  # type: ignore[attr-defined]
        return list(
            session.exec(
                select(SuppressionEntry.reason).where(
                    SuppressionEntry.sender_id == sender_id,
                    SuppressionEntry.blind_index == digest,
                    col(SuppressionEntry.lifted_at).is_(None),
                )
            )
        )


def _campaign(client: TestClient, sender_id: str) -> str:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        campaign = Campaign(sender_id=sender_id, name="December news")
        session.add(campaign)
        session.commit()
        return campaign.id


def _counts(client: TestClient, campaign_id: str) -> tuple[int, int, int]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.hard_bounce_count, campaign.soft_bounce_count, campaign.complaint_count


def test_hard_bounce_suppresses_and_counts(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    campaign_id = _campaign(client, tenant.sender_id)
    raw = dsn(
        "gone@example.net", "5.1.1", "550 5.1.1 User unknown", "<m1@example.com>", campaign_id
    )

    first = _post(client, tenant, raw)
    second = _post(client, tenant, raw)

    assert first["events"][0]["outcome"] == "suppressed"  # type: ignore[index]
    assert second["events"][0]["outcome"] == "duplicate"  # type: ignore[index]
    assert _entries(client, settings, tenant.sender_id, "gone@example.net") == ["hard_bounce"]
    assert _counts(client, campaign_id) == (1, 0, 0)


def test_soft_bounces_confirmed_at_third_send(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    outcomes = []
    for number in range(3):
        raw = dsn("full@example.net", "4.2.2", "452 4.2.2 Mailbox full", f"<s{number}@example.com>")
        outcomes.append(_post(client, tenant, raw)["events"][0]["outcome"])  # type: ignore[index]

    assert outcomes == ["counted", "counted", "confirmed_failure"]
    assert _entries(client, settings, tenant.sender_id, "full@example.net") == ["hard_bounce"]


def test_delivery_resets_soft_count(client: TestClient, tenant: Tenant, settings: Settings) -> None:
    address = "busy@example.net"
    for number in range(2):
        _post(client, tenant, dsn(address, "4.2.2", "452 Mailbox full", f"<a{number}@example.com>"))
    delivered = dsn(address, "2.0.0", "250 2.0.0 Ok", "<d@example.com>").replace(
        b"Action: failed", b"Action: delivered"
    )
    assert _post(client, tenant, delivered)["events"][0]["outcome"] == "recorded"  # type: ignore[index]

    later = _post(client, tenant, dsn(address, "4.2.2", "452 Mailbox full", "<a9@example.com>"))

    assert later["events"][0]["outcome"] == "counted"  # type: ignore[index]
    assert _entries(client, settings, tenant.sender_id, address) == []


def test_auto_reply_never_suppresses(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    body = _post(client, tenant, AUTO_REPLY)

    assert body["events"][0]["bounce_class"] == "autoreply"  # type: ignore[index]
    assert _entries(client, settings, tenant.sender_id, "away@example.net") == []


def test_raw_needs_sender_key(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/events/raw", content=AUTO_REPLY, headers=tenant.auth("dpo"))

    assert response.status_code == 403


def test_mailgun_webhook_through_app(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    settings.mailgun_webhook_signing_key = SecretStr("mailgun-test-key")
    timestamp, token = "1733313600", "tok-123"
    digest = hmac.new(b"mailgun-test-key", (timestamp + token).encode(), hashlib.sha256)
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": digest.hexdigest()},
        "event-data": {"event": "complained", "recipient": "angry@example.net", "id": "e1"},
    }
    url = f"/v1/events/mailgun/{tenant.sender_id}"

    accepted = client.post(url, json=payload)
    payload["signature"]["signature"] = "0" * 64  # type: ignore[index]
    refused = client.post(url, json=payload)

    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 401
    assert "angry" not in refused.text
    assert _entries(client, settings, tenant.sender_id, "angry@example.net") == ["complaint"]


def test_postmark_disabled_without_password(client: TestClient, tenant: Tenant) -> None:
    auth = "Basic " + base64.b64encode(b"u:p").decode()
    response = client.post(
        f"/v1/events/postmark/{tenant.sender_id}", content=b"{}", headers={"Authorization": auth}
    )

    assert response.status_code == 403


def test_cli_ingest_maildir_and_classify(
    tmp_path: Path, client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    box = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    box.add(dsn("cli-gone@example.net", "5.1.1", "550 5.1.1 User unknown", "<c1@example.com>"))
    box.add(AUTO_REPLY)
    box.close()

    ingested = run_cli(
        settings,
        "bounces",
        "ingest",
        str(tmp_path / "bounces"),
        "--sender",
        tenant.sender_id,
        "--json",
    )
    again = run_cli(
        settings,
        "bounces",
        "ingest",
        str(tmp_path / "bounces"),
        "--sender",
        tenant.sender_id,
        "--json",
    )
    classified = run_cli(settings, "bounces", "classify", str(tmp_path / "bounces"), "--json")

    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["outcomes"] == {"recorded": 1, "suppressed": 1}
    assert json.loads(again.stdout)["outcomes"] == {"duplicate": 2}
    rows = [json.loads(line) for line in classified.stdout.splitlines()]
    assert {row["class"] for row in rows} == {"hard", "autoreply"}
    assert {"path", "recipient", "class", "reason", "status", "replycode"} <= set(rows[0])
    assert _entries(client, settings, tenant.sender_id, "cli-gone@example.net") == ["hard_bounce"]
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert len(session.exec(select(BounceEvent)).all()) == 2


def test_cli_ingest_unknown_sender(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "one.eml").write_bytes(AUTO_REPLY)

    result = run_cli(settings, "bounces", "ingest", str(tmp_path / "one.eml"), "--sender", "nope")

    assert result.returncode == 2


def test_cli_classify_missing_path(settings: Settings) -> None:
    result = run_cli(settings, "bounces", "classify", "/nonexistent/bounce.eml")

    assert result.returncode == 3


def test_raw_reports_truncation(client: TestClient, tenant: Tenant) -> None:
    from tests.bounces.test_bounds import HEAD, REPORTING, TAIL, _block

    # 5,000 recipients: about 750 KB, under the API's 1 MB body limit but
    # past the 256 KiB the classifier reads of a delivery-status part.
    fields = REPORTING + "".join(_block(index) for index in range(5_000))
    raw = (HEAD + "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + fields + TAIL).encode()

    body = _post(client, tenant, raw)

    events = body["events"]
    assert isinstance(events, list)
    assert body["truncated"] is True
    assert 0 < len(events) < 5_000
    assert _post(client, tenant, AUTO_REPLY)["truncated"] is False
