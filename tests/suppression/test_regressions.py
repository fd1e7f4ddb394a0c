"""Opt-out losses seen in other products, each replayed against Sendguard."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.blind_index import BlindIndex
from consent.models import Contact
from suppression.models import SuppressionReason
from suppression.service import suppress
from tests.api.conftest import Tenant, deliver, link_in, signup
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber, screen


def add_entry(client: TestClient, tenant: Tenant, address: str, reason: SuppressionReason) -> None:
    indexer = client.app.state.services.indexer  # type: ignore[attr-defined]
    current: BlindIndex = indexer.current(address)
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        suppress(session, tenant.sender_id, current, reason=reason, source="test", actor="test")
        session.commit()


def test_resubscribe_does_not_clear_complaint(client: TestClient, tenant: Tenant) -> None:
    """A re-subscribe upsert cleared the unsubscribe and re-enabled a complained address."""
    links = confirmed_subscriber(client, tenant, "plainte@example.org")
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    add_entry(client, tenant, "plainte@example.org", SuppressionReason.COMPLAINT)

    again = client.post("/v1/subscribe", json=signup(tenant.form_id, "plainte@example.org"))

    assert again.status_code == 202
    assert deliver(client) == []
    assert screen(client, tenant, ["plainte@example.org"])["removed"] == [
        {"position": 0, "reason": "complaint"}
    ]


def test_resubscribe_keeps_hard_bounce(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant, "retour@example.org")
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    add_entry(client, tenant, "retour@example.org", SuppressionReason.HARD_BOUNCE)

    client.post("/v1/subscribe", json=signup(tenant.form_id, "retour@example.org"))

    # A hard bounce is sticky too: no confirmation email is even sent.
    assert deliver(client) == []
    assert screen(client, tenant, ["retour@example.org"])["removed_count"] == 1


def test_double_opt_in_lifts_only_its_reasons(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant, "revient@example.org")
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    add_entry(client, tenant, "revient@example.org", SuppressionReason.MANUAL)
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        # Move past the resend cool-down of the first confirmation email.
        for contact in session.exec(select(Contact)):
            contact.confirmation_sent_at = None
            session.add(contact)
        session.commit()

    client.post("/v1/subscribe", json=signup(tenant.form_id, "revient@example.org"))
    client.post(link_in(deliver(client)[0], "/c/"))

    assert screen(client, tenant, ["revient@example.org"])["removed"] == [
        {"position": 0, "reason": "manual"}
    ]


def test_unsubscribe_during_send_caught_by_recheck(client: TestClient, tenant: Tenant) -> None:
    """A second campaign mailed people who unsubscribed during the first."""
    links = confirmed_subscriber(client, tenant, "pendant@example.org")
    first = screen(client, tenant, ["pendant@example.org", "autre@example.org"])
    assert first["kept_count"] == 2

    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    response = client.post(
        "/v1/screen/recheck",
        json={"recipients": ["pendant@example.org", "autre@example.org"]},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 200
    assert response.json()["kept"] == ["autre@example.org"]
    assert response.json()["removed"] == [{"position": 0, "reason": "unsubscribe"}]


def test_list_delete_keeps_global_unsubscribes(client: TestClient, tenant: Tenant) -> None:
    """A list was deleted and the unsubscribes of its members were lost."""
    links = confirmed_subscriber(client, tenant, "parti@example.org")
    list_id = client.post("/v1/lists", json={"name": "Temp"}, headers=tenant.auth("sender")).json()[
        "id"
    ]
    client.post(
        f"/v1/lists/{list_id}/members",
        json={"add": ["parti@example.org"]},
        headers=tenant.auth("sender"),
    )
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")

    assert client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).status_code == 200

    assert screen(client, tenant, ["parti@example.org"])["removed"] == [
        {"position": 0, "reason": "unsubscribe"}
    ]


def test_partial_member_edit_keeps_others(client: TestClient, tenant: Tenant) -> None:
    """A limited user's edit silently dropped the memberships they could not see."""
    list_id = client.post(
        "/v1/lists", json={"name": "Shared"}, headers=tenant.auth("sender")
    ).json()["id"]
    everyone = [f"membre{number}@example.org" for number in range(5)]
    client.post(
        f"/v1/lists/{list_id}/members", json={"add": everyone}, headers=tenant.auth("sender")
    )

    change = client.post(
        f"/v1/lists/{list_id}/members",
        json={
            "add": ["membre0@example.org", "nouveau@example.org"],
            "remove": ["membre1@example.org"],
        },
        headers=tenant.auth("sender"),
    )

    assert change.json() == {
        "added": 1,
        "already_members": 1,
        "removed": 1,
        "not_members": 0,
        "rejected_erased": 0,
    }
    assert (
        client.get(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).json()["member_count"]
        == 5
    )


def test_readding_unsubscribed_member_stays_unsubscribed(
    client: TestClient, tenant: Tenant
) -> None:
    """Re-adding people to a list re-subscribed those who had left."""
    links = confirmed_subscriber(client, tenant, "quitte@example.org")
    list_id = client.post(
        "/v1/lists", json={"name": "Weekly"}, headers=tenant.auth("sender")
    ).json()["id"]
    client.post(
        f"/v1/lists/{list_id}/members",
        json={"add": ["quitte@example.org"]},
        headers=tenant.auth("sender"),
    )
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")

    change = client.post(
        f"/v1/lists/{list_id}/members",
        json={"add": ["quitte@example.org"]},
        headers=tenant.auth("sender"),
    )

    assert change.json()["added"] == 0
    assert (
        client.get(f"/v1/lists/{list_id}", headers=tenant.auth("sender")).json()["member_count"]
        == 0
    )
    assert screen(client, tenant, ["quitte@example.org"])["kept_count"] == 0
