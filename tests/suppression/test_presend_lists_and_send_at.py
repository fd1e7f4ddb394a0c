"""POST /v1/checks: members of stored lists, the lawful basis at send_at, recipient countries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.presend.list_members import MemberAddresses
from consent.models import Contact
from suppression.models import SuppressionReason
from suppression.service import suppress
from tests.api.conftest import Tenant, make_tenant

HTML = (
    "<html><body><p>Our December books.</p>"
    "<p>Librairie Exemple SAS<br>12 rue de la Paix<br>75002 Paris</p>"
    '<p><a href="https://example.org/u">Unsubscribe</a></p></body></html>'
)
HEADERS = {"Subject": "December books", "From": "Librairie <news@example.org>"}
CUSTOMER = "cliente@example.net"
SUPPRESSED = "parti@example.net"
STRANGER = "inconnu@example.net"
CANADIAN = "lecteur@example.ca"


def check(client: TestClient, tenant: Tenant, **fields: Any) -> Any:
    body = {"from_domain": "example.org", "html": HTML, "headers": HEADERS, "skip_dns": True}
    response = client.post("/v1/checks", json={**body, **fields}, headers=tenant.auth("sender"))
    assert response.status_code == 200, response.text
    return response.json()


def findings_by_check(report: Any, area: str | None = None) -> dict[str, Any]:
    indexes = report["areas"][area] if area else range(len(report["findings"]))
    found = [report["findings"][index] for index in indexes]
    return {finding["check"]: finding for finding in found}


def record(client: TestClient, tenant: Tenant, email: str, **fields: Any) -> None:
    body = {
        "email": email,
        "topics": ["newsletter"],
        "consent_text": "Offers by email; unsubscribe at any time.",
        "consent_text_version": "shop-1",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "3",
        "double_opt_in": False,
        **fields,
    }
    response = client.post("/v1/consents", json=body, headers=tenant.auth("sender"))
    assert response.status_code == 201, response.text


def soft_opt_in(client: TestClient, tenant: Tenant, email: str) -> None:
    record(
        client,
        tenant,
        email,
        lawful_basis="soft_opt_in",
        source="purchase",
        country="FR",
        opt_out_offered=True,
        relationship_at=(datetime.now(UTC) - timedelta(days=30)).isoformat(),
    )


def casl_inquiry(client: TestClient, tenant: Tenant, email: str, days_ago: int) -> None:
    record(
        client,
        tenant,
        email,
        lawful_basis="casl_implied_inquiry",
        source="inquiry",
        regime="casl",
        country="CA",
        relationship_at=(datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
    )


def opt_out(client: TestClient, tenant: Tenant, address: str) -> None:
    app: Any = client.app
    with Session(app.state.engine) as session:
        suppress(
            session,
            tenant.sender_id,
            app.state.services.indexer.current(address),
            reason=SuppressionReason.UNSUBSCRIBE,
            source="test",
            actor="test",
        )
        session.commit()


def new_list(client: TestClient, tenant: Tenant, members: list[str]) -> str:
    created = client.post("/v1/lists", json={"name": "News"}, headers=tenant.auth("sender"))
    assert created.status_code == 201, created.text
    list_id = str(created.json()["id"])
    added = client.post(
        f"/v1/lists/{list_id}/members", json={"add": members}, headers=tenant.auth("sender")
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == len(members)
    return list_id


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# The lawful basis at the planned send time.


def test_implied_consent_expiring_before_send_blocks(client: TestClient, tenant: Tenant) -> None:
    # An inquiry 170 days ago: the 6-month implied consent ends in about 12 days.
    casl_inquiry(client, tenant, CANADIAN, days_ago=170)

    report = check(client, tenant, recipients=[CANADIAN], send_at=in_days(30))

    findings = findings_by_check(report, "recipients")
    casl = findings["recipients.no_consent_casl"]
    assert casl["rule"] == "CA-01"
    assert casl["severity"] == "block"
    assert casl["facts"] == {"count": 1, "codes": "casl_implied_expired: 1"}
    assert findings["recipients.screened"]["facts"] == {"total": 1, "kept": 0, "removed": 1}


def test_implied_consent_valid_at_earlier_send(client: TestClient, tenant: Tenant) -> None:
    casl_inquiry(client, tenant, CANADIAN, days_ago=170)

    report = check(client, tenant, recipients=[CANADIAN], send_at=in_days(2))

    findings = findings_by_check(report, "recipients")
    assert "recipients.no_consent_casl" not in findings
    assert findings["recipients.screened"]["facts"] == {"total": 1, "kept": 1, "removed": 0}
    # Less than 30 days before expiry: kept, with a warning to ask again.
    assert findings["recipients.basis_warning"]["facts"]["codes"] == "casl_expires_soon: 1"


def test_pause_judged_at_send_at(client: TestClient, tenant: Tenant) -> None:
    soft_opt_in(client, tenant, CUSTOMER)
    app: Any = client.app
    with Session(app.state.engine) as session:
        digest = app.state.services.indexer.current(CUSTOMER).digest
        contact = session.exec(select(Contact).where(Contact.email_index == digest)).one()
        contact.paused_until = datetime.now(UTC) + timedelta(days=10)
        session.add(contact)
        session.commit()

    during = check(client, tenant, recipients=[CUSTOMER], send_at=in_days(5))
    after = check(client, tenant, recipients=[CUSTOMER], send_at=in_days(20))

    assert findings_by_check(during, "recipients")["recipients.no_basis"]["facts"]["codes"] == (
        "paused: 1"
    )
    assert "recipients.no_basis" not in findings_by_check(after, "recipients")


# Recipient countries and the CASL contact-information rule.


def test_canadian_recipient_applies_casl_rule(client: TestClient, tenant: Tenant) -> None:
    casl_inquiry(client, tenant, CANADIAN, days_ago=10)
    soft_opt_in(client, tenant, CUSTOMER)

    canadian = check(client, tenant, recipients=[CANADIAN, CUSTOMER])
    french = check(client, tenant, recipients=[CUSTOMER])

    missing = findings_by_check(canadian)["contact_info.missing"]
    assert missing["rule"] == "CA-06"
    assert missing["severity"] == "block"
    assert canadian["decision"] == "block"
    assert "contact_info.missing" not in findings_by_check(french)


def test_recipient_countries_option(client: TestClient, tenant: Tenant) -> None:
    unknown = check(client, tenant)
    canadian = check(client, tenant, recipient_countries=["ca"])
    with_phone = check(
        client,
        tenant,
        html=HTML.replace("</body>", "<p>Tel. +1 613 555 0142</p></body>"),
        recipient_countries=["CA"],
    )

    assert findings_by_check(unknown)["contact_info.missing"]["severity"] == "info"
    assert findings_by_check(canadian)["contact_info.missing"]["severity"] == "block"
    found = findings_by_check(with_phone)["contact_info.found"]
    assert found["facts"] == {"methods.html": "phone"}
    assert "613" not in str(with_phone)


@pytest.mark.parametrize("country", ["Canada", "XX", "zz"])
def test_invalid_recipient_country_rejected(
    client: TestClient, tenant: Tenant, country: str
) -> None:
    response = client.post(
        "/v1/checks",
        json={"from_domain": "example.org", "html": HTML, "recipient_countries": [country]},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert "two-letter ISO 3166-1 code" in response.text


# Members of stored lists.


def test_list_members_screened(client: TestClient, tenant: Tenant) -> None:
    soft_opt_in(client, tenant, CUSTOMER)
    list_id = new_list(client, tenant, [CUSTOMER, SUPPRESSED, STRANGER])
    opt_out(client, tenant, SUPPRESSED)

    response = client.post(
        "/v1/checks",
        json={
            "from_domain": "example.org",
            "html": HTML,
            "headers": HEADERS,
            "skip_dns": True,
            "list_ids": [list_id],
        },
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 200, response.text
    findings = findings_by_check(response.json(), "recipients")
    assert findings["recipients.screened"]["facts"] == {
        "total": 3,
        "kept": 1,
        "removed": 2,
        "lists": 1,
        "unreadable": 0,
    }
    suppressed = findings["recipients.suppressed"]
    assert suppressed["facts"] == {"count": 1, "reasons": "unsubscribe: 1"}
    # Positions in the member stream mean nothing to the caller.
    assert suppressed["location"] == ""
    assert findings["recipients.opt_out_recent"]["facts"]["count"] == 1
    # Adding an address to a list creates its contact, without any consent record.
    assert findings["recipients.no_basis"]["facts"] == {"count": 1, "codes": "no_basis: 1"}
    assert "example.net" not in response.text
    for address in (CUSTOMER, SUPPRESSED, STRANGER):
        assert address.split("@")[0] + "@" not in response.text


def test_campaign_lists_screened_without_recipients(client: TestClient, tenant: Tenant) -> None:
    soft_opt_in(client, tenant, CUSTOMER)
    list_id = new_list(client, tenant, [CUSTOMER, STRANGER])
    created = client.post(
        "/v1/campaigns",
        json={"name": "December", "list_ids": [list_id]},
        headers=tenant.auth("sender"),
    )
    assert created.status_code == 201, created.text

    report = check(client, tenant, campaign_id=created.json()["id"])

    screened = findings_by_check(report, "recipients")["recipients.screened"]
    assert screened["facts"]["total"] == 2
    assert screened["facts"]["kept"] == 1


def test_empty_recipients_rejected(client: TestClient, tenant: Tenant) -> None:
    # An empty list took the place of the lists' members and screened no address.
    list_id = new_list(client, tenant, [CUSTOMER, STRANGER])

    response = client.post(
        "/v1/checks",
        json={
            "from_domain": "example.org",
            "html": "<p>Bonjour</p>",
            "skip_dns": True,
            "recipients": [],
            "list_ids": [list_id],
        },
        headers={**tenant.auth("sender"), "Accept-Language": "fr"},
    )

    assert response.status_code == 422
    assert response.json()["field"] == "recipients"
    assert response.json()["detail"].startswith("Le champ recipients est vide")


def test_member_on_two_lists_screened_once(client: TestClient, tenant: Tenant) -> None:
    soft_opt_in(client, tenant, CUSTOMER)
    first = new_list(client, tenant, [CUSTOMER, STRANGER])
    second = new_list(client, tenant, [CUSTOMER])

    report = check(client, tenant, list_ids=[first, second])

    findings = findings_by_check(report, "recipients")
    assert findings["recipients.screened"]["facts"]["total"] == 2
    assert findings["recipients.screened"]["facts"]["lists"] == 2
    assert "recipients.duplicate" not in findings


def test_unsubscribed_member_not_screened(client: TestClient, tenant: Tenant) -> None:
    list_id = new_list(client, tenant, [CUSTOMER, STRANGER])
    removed = client.post(
        f"/v1/lists/{list_id}/members", json={"remove": [STRANGER]}, headers=tenant.auth("sender")
    )
    assert removed.status_code == 200, removed.text

    report = check(client, tenant, list_ids=[list_id])

    assert findings_by_check(report, "recipients")["recipients.screened"]["facts"]["total"] == 1


def test_other_sender_list_is_404(client: TestClient, tenant: Tenant) -> None:
    list_id = new_list(client, tenant, [CUSTOMER, STRANGER])
    other = make_tenant(client.app, "Autre SARL")  # type: ignore[arg-type]

    response = client.post(
        "/v1/checks",
        json={"from_domain": "example.org", "html": HTML, "skip_dns": True, "list_ids": [list_id]},
        headers={**other.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert list_id in body["detail"]
    assert "example.net" not in response.text
    assert "findings" not in body


def test_member_stream_reads_in_pages(client: TestClient, tenant: Tenant) -> None:
    addresses = [f"lecteur{number}@example.net" for number in range(7)]
    first = new_list(client, tenant, addresses[:5])
    second = new_list(client, tenant, addresses[3:])
    app: Any = client.app

    with Session(app.state.engine) as session:
        members = MemberAddresses(
            session, app.state.services.keystore, tenant.sender_id, [first, second], page_size=2
        )
        streamed = list(members)

    assert sorted(streamed) == sorted(addresses)
    assert members.unreadable == 0
