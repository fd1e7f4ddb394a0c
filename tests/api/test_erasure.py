"""DPO erasure: every store cleared, key shredded, the address kept suppressed by blind index."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.audit import verify_chain
from compliance.core.models import OutboxMessage
from consent import ledger
from consent.models import ConsentRecord, Contact, Subscription
from dsr.models import DataSubjectRequest
from suppression.models import SuppressionEntry
from tests.api.conftest import Tenant, deliver, link_in, signup
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber, screen

ADDRESS = "dana@example.org"


def erasure(email: str = ADDRESS) -> dict[str, Any]:
    return {
        "type": "erasure",
        "email": email,
        "attestation": {
            "verified_by": "DPO office",
            "method": "id_document",
            "verified_at": "2026-01-10T09:00:00Z",
        },
    }


def test_erasure_clears_every_store(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        contact_id = session.exec(select(Contact)).one().id
    keystore = client.app.state.services.keystore  # type: ignore[attr-defined]
    assert keystore.get_key(contact_id) is not None

    response = client.post("/v1/dsr", json=erasure(), headers=tenant.auth("dpo"))

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["status"] == "completed"
    assert receipt["outcome"]["contacts_erased"] == [contact_id]
    assert receipt["outcome"]["data_keys_destroyed"] == 1
    assert receipt["outcome"]["suppression_reason"] == "erased"
    assert receipt["certificate_available"] is True
    assert len(receipt["receipt_sha256"]) == 64
    assert ADDRESS not in response.text
    assert keystore.get_key(contact_id) is None
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        contact = session.exec(select(Contact)).one()
        assert contact.status == "erased"
        assert contact.email_ciphertext is None
        assert contact.email_index is None
        assert session.exec(select(Subscription)).all() == []
        assert (
            session.exec(select(OutboxMessage).where(OutboxMessage.contact_id == contact_id)).all()
            == []
        )
        reasons = {
            entry.reason
            for entry in session.exec(select(SuppressionEntry))
            if entry.lifted_at is None
        }
        assert "erased" in reasons
        assert len(session.exec(select(ConsentRecord)).all()) == 2
        assert ledger.first_broken_link(session, tenant.sender_id) is None
        assert verify_chain(session, tenant.sender_id) is None
        request = session.exec(select(DataSubjectRequest)).one()
        assert request.verified_by == "DPO office"
        assert (request.due_at - request.received_at).days in (28, 29, 30, 31)
    assert screen(client, tenant, [ADDRESS])["removed"] == [{"position": 0, "reason": "erased"}]


def test_erased_links_show_gone(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant, ADDRESS)
    client.post("/v1/dsr", json=erasure(), headers=tenant.auth("dpo"))

    response = client.get(links["preferences"], headers={"Accept-Language": "en"})

    assert response.status_code == 410
    assert "erased" in response.text


def test_resubscribe_after_erasure_needs_confirmation(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    client.post("/v1/dsr", json=erasure(), headers=tenant.auth("dpo"))
    completion = deliver(client)
    assert [message["Subject"] for message in completion] == [
        "Your request to Exemple SAS is complete"
    ]

    again = client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))

    assert again.status_code == 202
    assert screen(client, tenant, [ADDRESS])["removed"] == [{"position": 0, "reason": "erased"}]
    messages = deliver(client)
    assert len(messages) == 1
    client.post(link_in(messages[0], "/c/"))
    assert screen(client, tenant, [ADDRESS])["kept"] == [ADDRESS]


def test_erasure_of_unknown_address_still_suppresses(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/dsr", json=erasure("nobody@example.org"), headers=tenant.auth("dpo")
    )

    assert response.status_code == 201
    assert response.json()["outcome"]["contacts_erased"] == []
    assert screen(client, tenant, ["nobody@example.org"])["counts"] == {"erased": 1}


def test_erasure_needs_dpo_role(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/dsr", json=erasure(), headers=tenant.auth("sender"))

    assert response.status_code == 403
    assert "dpo" in response.json()["detail"]


def test_erasure_rejects_future_attestation(client: TestClient, tenant: Tenant) -> None:
    body = erasure()
    body["attestation"]["verified_at"] = "2999-01-01T00:00:00Z"

    response = client.post(
        "/v1/dsr", json=body, headers={**tenant.auth("dpo"), "Accept-Language": "en"}
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "attestation.verified_at"
    assert "in the future" in error["message"]
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(DataSubjectRequest)).all() == []


def test_erasure_rejects_naive_timestamp(client: TestClient, tenant: Tenant) -> None:
    body = erasure()
    body["attestation"]["verified_at"] = "2026-01-10T09:00:00"

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attestation.verified_at"
