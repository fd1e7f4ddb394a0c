"""Adding suppression entries by hand and the audited admin override."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.models import AuditEvent
from suppression.models import SuppressionEntry
from tests.api.conftest import Tenant
from tests.api.test_unsubscribe_and_screen import screen


def test_manual_entry_suppresses(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/suppressions",
        json={"email": "stop@example.org", "reason": "complaint"},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 201
    assert response.json()["reason"] == "complaint"
    assert "stop@example.org" not in response.text
    assert screen(client, tenant, ["stop@example.org"])["removed"] == [
        {"position": 0, "reason": "complaint"}
    ]


def test_manual_entry_is_idempotent(client: TestClient, tenant: Tenant) -> None:
    body = {"email": "stop@example.org", "reason": "manual"}
    first = client.post("/v1/suppressions", json=body, headers=tenant.auth("sender"))
    second = client.post("/v1/suppressions", json=body, headers=tenant.auth("sender"))

    assert first.json()["id"] == second.json()["id"]


def test_hashed_entry_by_blind_index(client: TestClient, tenant: Tenant) -> None:
    digest = client.app.state.services.indexer.current("hash@example.org").digest  # type: ignore[attr-defined]

    response = client.post(
        "/v1/suppressions",
        json={"blind_index": digest, "key_version": 1, "reason": "unsubscribe"},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 201
    assert screen(client, tenant, ["hash@example.org"])["removed_count"] == 1


def test_bad_identifiers_rejected(client: TestClient, tenant: Tenant) -> None:
    headers = {**tenant.auth("sender"), "Accept-Language": "en"}
    both = client.post(
        "/v1/suppressions",
        json={"email": "a@example.org", "blind_index": "0" * 64, "key_version": 1},
        headers=headers,
    )
    short = client.post(
        "/v1/suppressions", json={"blind_index": "abc", "key_version": 1}, headers=headers
    )
    version = client.post(
        "/v1/suppressions", json={"blind_index": "0" * 64, "key_version": 9}, headers=headers
    )
    erased = client.post(
        "/v1/suppressions", json={"email": "a@example.org", "reason": "erased"}, headers=headers
    )

    assert both.status_code == 422
    assert "exactly one" in both.json()["detail"]
    assert short.status_code == 422
    assert version.status_code == 422
    assert version.json()["field"] == "key_version"
    assert erased.status_code == 422
    assert erased.json()["errors"][0]["field"] == "reason"


def test_override_needs_admin(client: TestClient, tenant: Tenant) -> None:
    client.post(
        "/v1/suppressions",
        json={"email": "plainte@example.org", "reason": "complaint"},
        headers=tenant.auth("sender"),
    )
    body = {
        "email": "plainte@example.org",
        "reason": "complaint",
        "justification": "Complaint filed by mistake, confirmed by phone.",
    }

    forbidden = client.post("/v1/suppressions/override", json=body, headers=tenant.auth("sender"))
    granted = client.post("/v1/suppressions/override", json=body, headers=tenant.auth("admin"))

    assert forbidden.status_code == 403
    assert granted.status_code == 200
    assert granted.json() == {"lifted": 1}
    assert screen(client, tenant, ["plainte@example.org"])["kept_count"] == 1
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        entry = session.exec(select(SuppressionEntry)).one()
        assert entry.lifted_at is not None
        assert entry.lift_justification is not None and "by mistake" in entry.lift_justification
        actions = [event.action for event in session.exec(select(AuditEvent))]
        assert "suppression.override.complaint" in actions


def test_override_without_entry_is_404(client: TestClient, tenant: Tenant) -> None:
    body = {
        "email": "rien@example.org",
        "reason": "complaint",
        "justification": "Nothing to lift here at all.",
    }

    response = client.post("/v1/suppressions/override", json=body, headers=tenant.auth("admin"))

    assert response.status_code == 404


def test_override_cannot_lift_erasure(client: TestClient, tenant: Tenant) -> None:
    body = {
        "email": "efface@example.org",
        "reason": "erased",
        "justification": "Trying to undo an erasure.",
    }

    response = client.post("/v1/suppressions/override", json=body, headers=tenant.auth("admin"))

    assert response.status_code == 422
