"""The 7-day list-deletion lock, through the API and at the service level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from suppression import lists
from suppression.errors import ListLocked
from suppression.models import Campaign, SuppressionEntry
from tests.api.conftest import Tenant, make_tenant


def create_list(client: TestClient, tenant: Tenant, name: str = "Newsletter") -> str:
    response = client.post("/v1/lists", json={"name": name}, headers=tenant.auth("sender"))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def send_campaign(
    client: TestClient, tenant: Tenant, list_ids: list[str], sent_at: datetime | None = None
) -> str:
    created = client.post(
        "/v1/campaigns",
        json={"name": "December", "list_ids": list_ids},
        headers=tenant.auth("sender"),
    )
    assert created.status_code == 201, created.text
    if sent_at is not None:
        # A send cannot predate its campaign: date the campaign back as well.
        with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
            campaign = session.get(Campaign, created.json()["id"])
            assert campaign is not None
            campaign.created_at = sent_at - timedelta(minutes=1)
            session.add(campaign)
            session.commit()
    body: dict[str, Any] = {"sent_at": sent_at.isoformat()} if sent_at else {}
    sent = client.post(
        f"/v1/campaigns/{created.json()['id']}/sent", json=body, headers=tenant.auth("sender")
    )
    assert sent.status_code == 200, sent.text
    return str(created.json()["id"])


def test_unused_list_deletes(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)

    response = client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    assert response.status_code == 200
    assert client.get(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).status_code == 404


def test_list_locked_after_send(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    sent_at = datetime.now(UTC) - timedelta(days=2)
    campaign_id = send_campaign(client, tenant, [list_id], sent_at)

    response = client.delete(
        f"/v1/lists/{list_id}", headers={**tenant.auth("sender"), "Accept-Language": "en"}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "list_locked"
    locked_until = datetime.fromisoformat(body["locked_until"].replace("Z", "+00:00"))
    assert abs(locked_until - (sent_at + timedelta(days=7))) < timedelta(seconds=1)
    assert body["campaign_id"] == campaign_id
    assert "7 days" in body["detail"]
    assert (
        client.get(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).json()["locked_until"]
        is not None
    )


def test_lock_message_in_french(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    send_campaign(client, tenant, [list_id])

    response = client.delete(
        f"/v1/lists/{list_id}", headers={**tenant.auth("sender"), "Accept-Language": "fr"}
    )

    assert response.status_code == 409
    assert "ne peut pas être supprimée avant le" in response.json()["detail"]


def test_lock_ends_after_seven_days(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    send_campaign(client, tenant, [list_id], datetime.now(UTC) - timedelta(days=7, minutes=1))

    response = client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    assert response.status_code == 200


def test_lock_uses_latest_send(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    send_campaign(client, tenant, [list_id], datetime.now(UTC) - timedelta(days=10))
    recent = datetime.now(UTC) - timedelta(days=1)
    send_campaign(client, tenant, [list_id], recent)

    response = client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    assert response.status_code == 409
    locked_until = datetime.fromisoformat(response.json()["locked_until"].replace("Z", "+00:00"))
    assert abs(locked_until - (recent + timedelta(days=7))) < timedelta(seconds=1)


def test_lock_boundary_at_service_level(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    sent_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    send_campaign(client, tenant, [list_id], sent_at)

    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        with pytest.raises(ListLocked):
            lists.delete_list(
                session,
                tenant.sender_id,
                list_id,
                "test",
                now=sent_at + timedelta(days=7, seconds=-1),
            )
        session.rollback()
        deleted = lists.delete_list(
            session, tenant.sender_id, list_id, "test", now=sent_at + timedelta(days=7)
        )
        assert deleted.deleted_at is not None


def test_unsent_campaign_does_not_lock(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    client.post(
        "/v1/campaigns",
        json={"name": "Draft", "list_ids": [list_id]},
        headers=tenant.auth("sender"),
    )

    response = client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    assert response.status_code == 200


def test_sending_with_deleted_list_conflicts(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    created = client.post(
        "/v1/campaigns",
        json={"name": "Draft", "list_ids": [list_id]},
        headers=tenant.auth("sender"),
    )
    client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    response = client.post(
        f"/v1/campaigns/{created.json()['id']}/sent", json={}, headers=tenant.auth("sender")
    )

    assert response.status_code == 409
    assert response.json()["list_id"] == list_id


def test_campaign_sent_once(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    campaign_id = send_campaign(client, tenant, [list_id])

    again = client.post(f"/v1/campaigns/{campaign_id}/sent", json={}, headers=tenant.auth("sender"))

    assert again.status_code == 409


def test_other_sender_list_is_404(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    other = make_tenant(client.app, "Autre SARL")  # type: ignore[arg-type]

    assert client.get(f"/v1/lists/{list_id}", headers=other.auth("sender")).status_code == 404
    assert client.delete(f"/v1/lists/{list_id}", headers=other.auth("sender")).status_code == 404
    created = client.post(
        "/v1/campaigns", json={"name": "x", "list_ids": [list_id]}, headers=other.auth("sender")
    )
    assert created.status_code == 404


def test_deleting_list_keeps_list_optouts(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.add(
            SuppressionEntry(
                sender_id=tenant.sender_id,
                blind_index="a" * 64,
                key_version=1,
                scope="list",
                scope_ref=list_id,
                reason="unsubscribe",
                source="test",
            )
        )
        session.commit()

    assert client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).status_code == 200

    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        entries = session.exec(
            select(SuppressionEntry).where(SuppressionEntry.scope_ref == list_id)
        ).all()
        assert len(entries) == 1
        assert entries[0].lifted_at is None


def test_future_sent_at_rejected(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    created = client.post(
        "/v1/campaigns", json={"name": "x", "list_ids": [list_id]}, headers=tenant.auth("sender")
    )

    response = client.post(
        f"/v1/campaigns/{created.json()['id']}/sent",
        json={"sent_at": "2999-01-01T00:00:00Z"},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 422
    assert response.json()["field"] == "sent_at"


FOOTER = "Librairie Exemple, 12 rue des Lilas, 69003 Lyon"
COMPLIANT = f'<p>{FOOTER}</p><p><a href="https://x.example/u/t">Se désinscrire</a></p>'
HEADERS = {
    "List-Unsubscribe": "<https://x.example/u/t>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def test_presend_check_marks_campaign_sent(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    campaign = client.post(
        "/v1/campaigns", json={"name": "x", "list_ids": [list_id]}, headers=tenant.auth("sender")
    ).json()
    body = {
        "from_domain": "news.example.com",
        "html": COMPLIANT,
        "text": f"Se désinscrire : https://x.example/u/t\n{FOOTER}",
        "headers": HEADERS,
        "skip_dns": True,
        "campaign_id": campaign["id"],
        "mark_sent": True,
    }

    response = client.post("/v1/checks", json=body, headers=tenant.auth("sender"))

    assert response.status_code == 200, response.text
    assert response.json()["blocked"] is False
    assert response.json()["campaign_sent_at"] is not None
    assert client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).status_code == 409


def test_blocked_check_leaves_campaign_unsent(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    campaign = client.post(
        "/v1/campaigns", json={"name": "x", "list_ids": [list_id]}, headers=tenant.auth("sender")
    ).json()
    body = {
        "from_domain": "news.example.com",
        "html": "<p>Promo</p>",
        "skip_dns": True,
        "campaign_id": campaign["id"],
        "mark_sent": True,
    }

    response = client.post("/v1/checks", json=body, headers=tenant.auth("sender"))

    assert response.json()["blocked"] is True
    assert response.json()["campaign_sent_at"] is None
    assert (
        client.get(f"/v1/campaigns/{campaign['id']}", headers=tenant.auth("sender")).json()[
            "sent_at"
        ]
        is None
    )
