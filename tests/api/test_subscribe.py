"""Sign-up and double opt-in through the real app and database."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from compliance.core.keystore import decrypt_field
from consent import ledger
from consent.models import ConsentRecord, Contact, Subscription
from tests.api.conftest import Tenant, deliver, deliver_raw, link_in, signup

ADDRESS = "Alice.Martin@Example.org"


def count(client: TestClient, model: type) -> int:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_subscribe_stores_contact_and_proof(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, ADDRESS),
        headers={"User-Agent": "pytest-browser"},
    )

    assert response.status_code == 202
    assert response.json() == {"status": "pending_confirmation"}
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        contact = session.exec(select(Contact)).one()
        record = session.exec(select(ConsentRecord)).one()
        key = client.app.state.services.keystore.get_key(contact.id)  # type: ignore[attr-defined]
        assert contact.status == "pending"
        assert contact.email_ciphertext is not None
        assert ADDRESS.encode() not in contact.email_ciphertext
        assert decrypt_field(key, contact.id, "email", contact.email_ciphertext) == ADDRESS
        assert record.action == "given"
        assert record.wording_version == "2026-11"
        assert len(record.wording_sha256 or "") == 64
        assert record.privacy_policy_url == "https://example.org/privacy"
        assert record.form_url == "https://example.org/signup"
        personal = json.loads(
            decrypt_field(key, contact.id, "consent", record.personal_ciphertext or b"")
        )
        assert personal["user_agent"] == "pytest-browser"
        assert ledger.first_broken_link(session, tenant.sender_id) is None


def test_confirmation_email_and_post_confirm(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    messages = deliver(client)

    assert len(messages) == 1
    assert messages[0]["To"] == ADDRESS
    assert "Confirm your subscription" in str(messages[0]["Subject"])
    path = link_in(messages[0], "/c/")

    # A GET (what a link scanner does) shows the page and confirms nothing.
    page = client.get(path)
    assert page.status_code == 200
    assert "Confirm my subscription" in page.text
    assert count(client, Subscription) == 1
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(Contact)).one().status == "pending"

    confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert "Subscription confirmed" in confirmed.text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(Contact)).one().status == "confirmed"
        actions = [
            row.action for row in session.exec(select(ConsentRecord).order_by(ConsentRecord.id))
        ]
        assert actions == ["given", "confirmed"]
        assert session.exec(select(Subscription)).one().status == "confirmed"

    replay = client.post(path)
    assert replay.status_code == 200
    assert "already confirmed" in replay.text
    assert count(client, ConsentRecord) == 2

    welcome = deliver(client)
    assert len(welcome) == 1
    assert welcome[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(welcome[0]["List-Unsubscribe"]).startswith("<https://sendguard.test/u/")


def test_subscribe_answers_same_for_known_address(client: TestClient, tenant: Tenant) -> None:
    first = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    second = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS.lower()))

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert count(client, Contact) == 1
    # The second request falls inside the resend cool-down: one email only.
    assert len(deliver(client)) == 1


def test_subscribe_honeypot_stores_nothing(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe", json=signup(tenant.form_id, ADDRESS, website="http://spam.example")
    )

    assert response.status_code == 202
    assert count(client, Contact) == 0
    assert deliver(client) == []


def test_subscribe_unknown_form_is_404(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/subscribe", json=signup("form_doesnotexist", ADDRESS))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "form_doesnotexist" in response.json()["detail"]
    assert count(client, Contact) == 0


def test_confirmation_page_in_french(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS, locale="fr"))
    message = deliver(client)[0]
    assert "Confirmez votre inscription" in str(message["Subject"])

    page = client.get(link_in(message, "/c/"))
    assert 'lang="fr"' in page.text
    assert "Confirmer mon inscription" in page.text

    switched = client.get(link_in(message, "/c/") + "?lang=en")
    assert 'lang="en"' in switched.text
    assert "Confirm my subscription" in switched.text


def reset_cooldown(client: TestClient) -> None:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        for contact in session.exec(select(Contact)):
            contact.confirmation_sent_at = None
            session.add(contact)
        session.commit()


def test_old_confirmation_link_cannot_resubscribe(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    first_link = link_in(deliver(client)[0], "/c/")
    client.post(first_link)
    unsubscribe_link = link_in(deliver(client)[0], "/u/")
    client.post(unsubscribe_link, content=b"List-Unsubscribe=One-Click")
    reset_cooldown(client)
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    second_link = link_in(deliver(client)[0], "/c/")

    replay = client.post(first_link, headers={"Accept-Language": "en"})

    assert replay.status_code == 410
    assert "can no longer be used" in replay.text
    screened = client.post(
        "/v1/screen", json={"recipients": [ADDRESS]}, headers=tenant.auth("sender")
    )
    assert screened.json()["removed"] == [{"position": 0, "reason": "unsubscribe"}]

    confirmed = client.post(second_link)
    assert confirmed.status_code == 200
    screened = client.post(
        "/v1/screen", json={"recipients": [ADDRESS]}, headers=tenant.auth("sender")
    )
    assert screened.json()["kept"] == [ADDRESS]


def test_newer_confirmation_email_replaces_link(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    older = link_in(deliver(client)[0], "/c/")
    reset_cooldown(client)
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    newer = link_in(deliver(client)[0], "/c/")

    assert client.post(older).status_code == 410
    assert client.post(newer).status_code == 200


def test_welcome_header_on_one_line(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    client.post(link_in(deliver(client)[0], "/c/"))

    raw = deliver_raw(client).raw[0]

    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    header = next(line for line in lines if line.startswith(b"List-Unsubscribe:"))
    assert header.startswith(b"List-Unsubscribe: <https://sendguard.test/u/")
    assert header.endswith(b">")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
