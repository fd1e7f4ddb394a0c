"""Screening options: role addresses, inactivity, consent basis, list-scoped entries."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from suppression.models import SuppressionEntry
from tests.api.conftest import Tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber


def screen(client: TestClient, tenant: Tenant, recipients: list[str], **options: Any) -> Any:
    response = client.post(
        "/v1/screen", json={"recipients": recipients, **options}, headers=tenant.auth("sender")
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_role_address_flagged_not_removed(client: TestClient, tenant: Tenant) -> None:
    result = screen(client, tenant, ["contact@example.org", "jeanne@example.org"])

    assert result["kept"] == ["contact@example.org", "jeanne@example.org"]
    assert result["flagged"] == [{"position": 0, "reason": "role_address"}]
    assert result["counts"]["flagged_role_address"] == 1


def test_role_address_excluded_on_request(client: TestClient, tenant: Tenant) -> None:
    result = screen(
        client,
        tenant,
        ["Postmaster+x@example.org", "jeanne@example.org"],
        exclude_role_addresses=True,
    )

    assert result["kept"] == ["jeanne@example.org"]
    assert result["removed"] == [{"position": 0, "reason": "role_address"}]


def test_consent_required_removes_unconfirmed(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, "jeanne@example.org")

    result = screen(
        client, tenant, ["jeanne@example.org", "inconnu@example.org"], require_consent=True
    )

    assert result["kept"] == ["jeanne@example.org"]
    assert result["removed"] == [{"position": 1, "reason": "no_basis", "detail": "no_contact"}]


def test_list_scoped_entry_needs_list(client: TestClient, tenant: Tenant) -> None:
    indexer = client.app.state.services.indexer  # type: ignore[attr-defined]
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.add(
            SuppressionEntry(
                sender_id=tenant.sender_id,
                blind_index=indexer.current("jeanne@example.org").digest,
                key_version=1,
                scope="list",
                scope_ref="list-42",
                reason="unsubscribe",
                source="test",
            )
        )
        session.commit()

    assert screen(client, tenant, ["jeanne@example.org"])["kept_count"] == 1
    assert (
        screen(client, tenant, ["jeanne@example.org"], list_ids=["list-42"])["removed_count"] == 1
    )


def send_campaigns(
    client: TestClient, tenant: Tenant, count: int, opener: str | None, recipients: list[str]
) -> None:
    list_id = client.post("/v1/lists", json={"name": "All"}, headers=tenant.auth("sender")).json()[
        "id"
    ]
    for number in range(count):
        campaign = client.post(
            "/v1/campaigns",
            json={"name": f"C{number}", "list_ids": [list_id]},
            headers=tenant.auth("sender"),
        ).json()
        events = [{"email": address, "type": "delivered"} for address in recipients]
        if opener is not None and number == count - 1:
            events.append({"email": opener, "type": "open"})
        recorded = client.post(
            f"/v1/campaigns/{campaign['id']}/events",
            json={"events": events},
            headers=tenant.auth("sender"),
        )
        assert recorded.status_code == 200, recorded.text
        sent = client.post(
            f"/v1/campaigns/{campaign['id']}/sent", json={}, headers=tenant.auth("sender")
        )
        assert sent.status_code == 200


def test_inactive_after_thirty_campaigns(client: TestClient, tenant: Tenant) -> None:
    send_campaigns(
        client,
        tenant,
        30,
        opener="actif@example.org",
        recipients=["actif@example.org", "dormant@example.org"],
    )

    flagged = screen(client, tenant, ["actif@example.org", "dormant@example.org"])
    excluded = screen(
        client, tenant, ["actif@example.org", "dormant@example.org"], exclude_inactive=True
    )

    assert flagged["flagged"] == [{"position": 1, "reason": "inactive"}]
    assert excluded["kept"] == ["actif@example.org"]
    assert excluded["removed"] == [{"position": 1, "reason": "inactive"}]


def test_not_inactive_before_thirty_campaigns(client: TestClient, tenant: Tenant) -> None:
    send_campaigns(client, tenant, 29, opener=None, recipients=["dormant@example.org"])

    result = screen(client, tenant, ["dormant@example.org"], exclude_inactive=True)

    assert result["kept"] == ["dormant@example.org"]


def test_screen_rejects_over_limit(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/screen",
        json={"recipients": ["a@example.org"] * 100_001},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code in (413, 422)
