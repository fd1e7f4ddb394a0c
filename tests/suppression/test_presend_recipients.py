"""Recipients in POST /v1/checks, and the report stored per campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from suppression.models import (
    CampaignList,
    CampaignReport,
    SuppressionReason,
    SuppressionScope,
)
from suppression.service import suppress
from tests.api.conftest import Tenant, make_tenant

HTML = (
    "<html><body><p>Our December books.</p>"
    '<p><a href="https://example.org/u">Unsubscribe</a></p></body></html>'
)
HEADERS = {"Subject": "December books", "From": "Librairie <news@example.org>"}
OLD_OPT_OUT = "ancien.lecteur@example.net"
NEW_OPT_OUT = "lecteur.recent@example.net"
UNKNOWN = "inconnu@example.net"


def opt_out(client: TestClient, tenant: Tenant, address: str, at: datetime) -> None:
    app: Any = client.app
    index = app.state.services.indexer.current(address)
    with Session(app.state.engine) as session:
        entry = suppress(
            session,
            tenant.sender_id,
            index,
            reason=SuppressionReason.UNSUBSCRIBE,
            source="test",
            actor="test",
        )
        entry.created_at = at
        session.add(entry)
        session.commit()


def check(client: TestClient, tenant: Tenant, **fields: Any) -> Any:
    body = {"from_domain": "example.org", "html": HTML, "headers": HEADERS, "skip_dns": True}
    response = client.post("/v1/checks", json={**body, **fields}, headers=tenant.auth("sender"))
    assert response.status_code == 200, response.text
    return response.json()


def recipient_findings(report: Any) -> dict[str, Any]:
    found = [report["findings"][index] for index in report["areas"]["recipients"]]
    return {finding["check"]: finding for finding in found}


def create_campaign(client: TestClient, tenant: Tenant) -> str:
    created_list = client.post("/v1/lists", json={"name": "News"}, headers=tenant.auth("sender"))
    assert created_list.status_code == 201, created_list.text
    created = client.post(
        "/v1/campaigns",
        json={"name": "December", "list_ids": [created_list.json()["id"]]},
        headers=tenant.auth("sender"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_old_opt_out_blocks(client: TestClient, tenant: Tenant) -> None:
    opt_out(client, tenant, OLD_OPT_OUT, datetime(2026, 11, 2, 15, tzinfo=UTC))

    report = check(client, tenant, recipients=[OLD_OPT_OUT], send_at="2026-11-18T09:00:00Z")

    findings = recipient_findings(report)
    assert findings["recipients.opt_out_overdue"]["severity"] == "block"
    assert findings["recipients.opt_out_overdue"]["rule"] == "US-06"
    assert findings["recipients.opt_out_overdue"]["location"] == "#0"
    assert report["decision"] == "block"


def test_opt_out_on_tenth_day_warns(client: TestClient, tenant: Tenant) -> None:
    # The 10th business day after 2 November 2026 is the 17th, because the
    # 11th is Veterans Day.
    opt_out(client, tenant, NEW_OPT_OUT, datetime(2026, 11, 2, 15, tzinfo=UTC))

    report = check(client, tenant, recipients=[NEW_OPT_OUT], send_at="2026-11-17T23:00:00Z")

    findings = recipient_findings(report)
    assert "recipients.opt_out_overdue" not in findings
    assert findings["recipients.opt_out_recent"]["severity"] == "warn"
    assert findings["recipients.suppressed"]["severity"] == "info"
    assert findings["recipients.suppressed"]["facts"]["reasons"] == "unsubscribe: 1"


def test_no_basis_blocks_with_codes(client: TestClient, tenant: Tenant) -> None:
    report = check(client, tenant, recipients=[UNKNOWN, "not an address", UNKNOWN])

    findings = recipient_findings(report)
    no_basis = findings["recipients.no_basis"]
    assert no_basis["rule"] == "EU-02"
    assert no_basis["severity"] == "block"
    assert no_basis["facts"] == {"count": 1, "codes": "no_contact: 1"}
    assert findings["recipients.invalid_syntax"]["location"] == "#1"
    assert findings["recipients.duplicate"]["location"] == "#2"
    assert findings["recipients.screened"]["facts"] == {"total": 3, "kept": 0, "removed": 3}


def test_findings_contain_no_address(client: TestClient, tenant: Tenant) -> None:
    opt_out(client, tenant, OLD_OPT_OUT, datetime(2026, 1, 5, tzinfo=UTC))
    response = client.post(
        "/v1/checks",
        json={
            "from_domain": "example.org",
            "html": HTML,
            "headers": HEADERS,
            "skip_dns": True,
            "recipients": [OLD_OPT_OUT, UNKNOWN, "info@example.net"],
        },
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 200
    assert "example.net" not in response.text
    assert "ancien.lecteur" not in response.text


def test_french_message(client: TestClient, tenant: Tenant) -> None:
    report = check(client, tenant, recipients=[UNKNOWN])

    message = recipient_findings(report)["recipients.no_basis"]["message"]["fr"]
    assert message.startswith("1 destinataires n'ont pas de base légale")


def test_without_recipients_no_recipient_findings(client: TestClient, tenant: Tenant) -> None:
    report = check(client, tenant)

    assert report["areas"]["recipients"] == []


def test_too_many_recipients_rejected(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/checks",
        json={"from_domain": "example.org", "html": HTML, "recipients": ["a@b.fr"] * 100_001},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 422


def test_report_stored_and_read_back(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)
    check(client, tenant, campaign_id=campaign_id)
    latest = check(client, tenant, campaign_id=campaign_id, recipients=[UNKNOWN])

    response = client.get(f"/v1/campaigns/{campaign_id}/report", headers=tenant.auth("sender"))

    assert response.status_code == 200
    body = response.json()
    assert body["campaign_id"] == campaign_id
    assert body["verdict"] == "block"
    # The reputation projection is computed per call and is not stored.
    assert "reputation" in latest
    assert body["report"] == {key: value for key, value in latest.items() if key != "reputation"}
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(CampaignReport)).all()
    assert len(rows) == 2
    assert all("example.net" not in str(row.report) for row in rows)


def test_stored_report_as_html(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)
    check(client, tenant, campaign_id=campaign_id, recipients=[UNKNOWN])

    response = client.get(
        f"/v1/campaigns/{campaign_id}/report",
        headers={**tenant.auth("sender"), "Accept": "text/html", "Accept-Language": "en"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h2>Recipients</h2>" in response.text
    assert "have no lawful basis for marketing email" in response.text


def test_other_sender_campaign_is_404(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)
    check(client, tenant, campaign_id=campaign_id)
    other = make_tenant(client.app, "Autre SARL")  # type: ignore[arg-type]

    read = client.get(f"/v1/campaigns/{campaign_id}/report", headers=other.auth("sender"))
    store = client.post(
        "/v1/checks",
        json={"from_domain": "example.org", "html": HTML, "campaign_id": campaign_id},
        headers=other.auth("sender"),
    )

    assert read.status_code == 404
    assert store.status_code == 404


def test_campaign_without_report_is_404(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)

    response = client.get(
        f"/v1/campaigns/{campaign_id}/report",
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 404
    assert "has no stored report" in response.json()["detail"]


def test_report_needs_sender_role(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)

    response = client.get(f"/v1/campaigns/{campaign_id}/report", headers=tenant.auth("dpo"))

    assert response.status_code == 403


def test_campaign_list_opt_out_applies(client: TestClient, tenant: Tenant) -> None:
    campaign_id = create_campaign(client, tenant)
    app: Any = client.app
    with Session(app.state.engine) as session:
        list_id = session.exec(select(CampaignList.list_id)).one()
        suppress(
            session,
            tenant.sender_id,
            app.state.services.indexer.current(NEW_OPT_OUT),
            reason=SuppressionReason.UNSUBSCRIBE,
            source="test",
            actor="test",
            scope=SuppressionScope.LIST,
            scope_ref=list_id,
        )
        session.commit()

    with_campaign = check(client, tenant, campaign_id=campaign_id, recipients=[NEW_OPT_OUT])
    without = check(client, tenant, recipients=[NEW_OPT_OUT])

    assert "recipients.opt_out_recent" in recipient_findings(with_campaign)
    assert "recipients.suppressed" in recipient_findings(with_campaign)
    assert "recipients.suppressed" not in recipient_findings(without)
