"""The double opt-in lifecycle: expiry, resend, reminder, purge, unsubscribe and DKIM."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dkim
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import Session, select

from compliance.app import create_app
from compliance.core.dkim_signing import DkimSigner
from compliance.core.models import AuditEvent, utcnow
from compliance.core.outbox import OutboxWorker
from compliance.core.settings import Settings
from consent.maintenance import run_maintenance
from consent.models import ConsentRecord, Contact, ContactStatus, Subscription
from tests.api.conftest import RecordingTransport, Tenant, deliver, link_in, make_tenant, signup
from tests.support.dns_server import LoopbackDnsServer

ADDRESS = "jules@example.org"


def _app(client: TestClient) -> Any:
    return client.app


def _contact(client: TestClient) -> Contact:
    with Session(_app(client).state.engine) as session:
        return session.exec(select(Contact)).one()


def _maintain(client: TestClient, hours_later: float) -> Any:
    app = _app(client)
    return run_maintenance(
        app.state.engine, app.state.services, utcnow() + timedelta(hours=hours_later)
    )


def test_confirmation_link_lasts_seven_days_by_default(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    token = link_in(deliver(client)[0], "/c/").removeprefix("/c/")

    claims = jwt.get_unverified_claims(token)

    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert ADDRESS not in str(claims)


def test_confirmation_email_carries_unsubscribe_headers_and_one_click_works(
    client: TestClient, tenant: Tenant
) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    message = deliver(client)[0]

    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link_in(message, "/u/")
    assert message["List-Unsubscribe"] == f"<https://sendguard.test{unsubscribe}>"

    done = client.post(unsubscribe, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    assert _contact(client).status == ContactStatus.UNSUBSCRIBED
    # The confirmation link can no longer subscribe the address.
    assert client.post(link_in(message, "/c/")).status_code == 410


def test_repeat_signup_resends_after_the_cooldown_only(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"confirmation_resend_cooldown_minutes": 0}),
        run_worker=False,
        configure_logs=False,
    )
    with TestClient(app) as client:
        tenant = make_tenant(app)
        first = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
        second = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))

        assert (first.status_code, first.json()) == (second.status_code, second.json())
        # Regression seen elsewhere: a repeat sign-up of a pending address got no email.
        assert len(deliver(client)) == 2
        with Session(app.state.engine) as session:
            assert len(session.exec(select(Contact)).all()) == 1


def test_repeat_signup_within_the_cooldown_sends_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    assert len(deliver(client)) == 1


def test_reminder_shares_the_first_links_single_use(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    first_link = link_in(deliver(client)[0], "/c/")

    assert _maintain(client, 71).reminders_sent == 0
    assert _maintain(client, 73).reminders_sent == 1
    assert _maintain(client, 74).reminders_sent == 0
    [reminder] = deliver(client)
    assert str(reminder["Subject"]).startswith("Reminder: confirm")
    reminder_link = link_in(reminder, "/c/")
    assert reminder_link != first_link

    confirmed = client.post(reminder_link)
    assert "confirmed" in confirmed.text
    assert _contact(client).status == ContactStatus.CONFIRMED
    again = client.post(first_link)
    assert again.status_code == 200
    assert "already confirmed" in again.text


def test_no_reminder_when_disabled(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"confirmation_reminder_after_hours": 0}),
        run_worker=False,
        configure_logs=False,
    )
    with TestClient(app) as client:
        tenant = make_tenant(app)
        client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
        deliver(client)
        report = run_maintenance(
            app.state.engine, app.state.services, utcnow() + timedelta(hours=100)
        )
        assert report.reminders_sent == 0
        assert deliver(client) == []


def test_expired_signup_is_purged_and_audited(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    link = link_in(deliver(client)[0], "/c/")
    contact_id = _contact(client).id

    assert _maintain(client, 167).signups_purged == 0
    report = _maintain(client, 169)

    assert report.signups_purged == 1
    app = _app(client)
    contact = _contact(client)
    assert contact.status == ContactStatus.EXPIRED
    assert contact.email_ciphertext is None and contact.email_index is None
    assert app.state.services.keystore.get_key(contact_id) is None
    with Session(app.state.engine) as session:
        assert session.exec(select(Subscription)).all() == []
        actions = [event.action for event in session.exec(select(AuditEvent))]
    assert "consent.signup_purged" in actions
    assert client.get("/v1/consent/verify", headers=tenant.auth("dpo")).json()["intact"] is True
    # The link cannot bring the address back.
    assert client.post(link).status_code in (404, 410)
    assert _maintain(client, 200).signups_purged == 0


def test_expired_signup_of_a_list_member_is_kept(client: TestClient, tenant: Tenant) -> None:
    created = client.post("/v1/lists", json={"name": "Salon 2026"}, headers=tenant.auth("sender"))
    list_id = created.json()["id"]
    client.post(
        f"/v1/lists/{list_id}/members",
        json={"add": [ADDRESS]},
        headers=tenant.auth("sender"),
    )
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    deliver(client)

    report = _maintain(client, 169)

    assert (report.signups_purged, report.signups_expired_kept) == (0, 1)
    contact = _contact(client)
    assert contact.status == ContactStatus.IMPORTED
    assert contact.email_ciphertext is not None


@pytest.fixture
def dkim_key(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    yield path, base64.b64encode(public).decode("ascii")


def test_emails_are_dkim_signed_and_verify_over_loopback_dns(
    client: TestClient, tenant: Tenant, dkim_key: tuple[Path, str]
) -> None:
    path, public = dkim_key
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    app = _app(client)
    transport = RecordingTransport()
    signer = DkimSigner("mail.example.org", "sg2026", path.read_bytes())
    worker = OutboxWorker(
        app.state.engine, app.state.services.keystore, transport, 0.1, 3, dkim=signer
    )
    worker.process_batch()
    [raw] = transport.raw
    assert raw.startswith(b"DKIM-Signature:")

    record = f"v=DKIM1; k=rsa; p={public}"
    chunks = [record[i : i + 255].encode() for i in range(0, len(record), 255)]
    with LoopbackDnsServer(origin="example.org.") as server:
        server.add_zone("example.org.")
        server.add_txt("sg2026._domainkey.mail.example.org.", chunks)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [server.host]
        resolver.port = server.port

        def lookup(name: bytes, timeout: int = 5) -> bytes:
            answer = resolver.resolve(name.decode(), "TXT", lifetime=timeout)
            return b"".join(b"".join(rdata.strings) for rdata in answer)

        assert dkim.verify(raw, dnsfunc=lookup) is True
        # A changed byte in a signed header breaks the signature.
        tampered = raw.replace(b"Subject: ", b"Subject: X", 1)
        assert dkim.verify(tampered, dnsfunc=lookup) is False


def test_consent_and_its_email_commit_together(
    client: TestClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compliance.core.outbox as outbox

    def broken_queue(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full while queueing")

    monkeypatch.setattr(outbox, "encrypt_bytes", broken_queue)
    failed = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))

    assert failed.status_code == 500
    # Neither the consent record nor the contact survived without its email.
    with Session(_app(client).state.engine) as session:
        assert session.exec(select(Contact)).all() == []
        assert session.exec(select(ConsentRecord)).all() == []
    monkeypatch.undo()
    assert client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS)).status_code == 202
    assert len(deliver(client)) == 1
