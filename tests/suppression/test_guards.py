"""Guards around lists, suppression entries and files that a second trial run found missing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import Tenant, make_tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber
from tests.suppression.test_list_lock import create_list

ERASURE = {"verified_by": "DPO", "method": "other", "verified_at": "2026-01-01T00:00:00Z"}


def test_sent_at_before_creation_rejected(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    campaign = client.post(
        "/v1/campaigns", json={"name": "x", "list_ids": [list_id]}, headers=tenant.auth("sender")
    ).json()
    backdated = (datetime.now(UTC) - timedelta(days=14)).isoformat()

    response = client.post(
        f"/v1/campaigns/{campaign['id']}/sent",
        json={"sent_at": backdated},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 422
    assert response.json()["field"] == "sent_at"


def test_recheck_applies_list_scoped_optouts(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    client.post(
        "/v1/suppressions",
        json={
            "email": "listonly@example.org",
            "reason": "unsubscribe",
            "scope": "list",
            "scope_ref": list_id,
        },
        headers=tenant.auth("sender"),
    )

    response = client.post(
        "/v1/screen/recheck",
        json={"recipients": ["listonly@example.org"], "list_ids": [list_id]},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 200
    assert response.json()["kept"] == []


def test_erased_address_not_added_back(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, "erin@example.net")
    client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": "erin@example.net", "attestation": ERASURE},
        headers=tenant.auth("dpo"),
    )
    list_id = create_list(client, tenant)

    change = client.post(
        f"/v1/lists/{list_id}/members",
        json={"add": ["erin@example.net"]},
        headers=tenant.auth("sender"),
    )
    exported = client.get(
        "/v1/suppressions/export", params={"format": "generic_csv"}, headers=tenant.auth("sender")
    )

    assert change.json()["rejected_erased"] == 1
    assert change.json()["added"] == 0
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert "erin" not in exported.text
    assert all(row[0] == "" for row in rows[1:])


def test_import_refuses_erased_with_address(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/suppressions/import",
        content=b"email,reason\nsomeone@example.org,erased\n",
        params={"format": "generic_csv"},
        headers=tenant.auth("sender"),
    )

    assert response.json()["imported"] == 0
    assert response.json()["rejected"][0]["fault"] == "reserved_reason"


def test_scope_checks(client: TestClient, tenant: Tenant) -> None:
    list_id = create_list(client, tenant)
    other = make_tenant(client.app, "Autre SARL")  # type: ignore[arg-type]
    body = {"email": "a@example.org", "reason": "unsubscribe"}

    topic = client.post(
        "/v1/suppressions",
        json={**body, "scope": "topic", "scope_ref": "news"},
        headers=tenant.auth("sender"),
    )
    foreign = client.post(
        "/v1/suppressions",
        json={**body, "scope": "list", "scope_ref": list_id},
        headers=other.auth("sender"),
    )

    assert topic.status_code == 422
    assert topic.json()["field"] == "scope"
    assert foreign.status_code == 404


def test_format_name_not_echoed(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/suppressions/import",
        content=b"x",
        params={"format": "secret.person@example.com"},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 422
    assert "secret.person" not in response.text
