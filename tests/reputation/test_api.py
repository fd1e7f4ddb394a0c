"""The reputation score fed by campaigns, reports, Gmail rates and DSRs, through the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from suppression.models import Campaign
from tests.api.conftest import Tenant, make_tenant
from tests.support.cli import run_cli


def send(client: TestClient, tenant: Tenant, name: str, days_ago: int, **counts: int) -> str:
    sender = tenant.auth("sender")
    mailing_list = client.post("/v1/lists", json={"name": f"list {name}"}, headers=sender)
    assert mailing_list.status_code == 201, mailing_list.text
    created = client.post(
        "/v1/campaigns",
        json={"name": name, "list_ids": [mailing_list.json()["id"]]},
        headers=sender,
    )
    assert created.status_code == 201, created.text
    sent_at = datetime.now(UTC) - timedelta(days=days_ago)
    # A send cannot predate its campaign: date the campaign back as well.
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        campaign = session.get(Campaign, created.json()["id"])
        assert campaign is not None
        campaign.created_at = sent_at - timedelta(minutes=1)
        session.add(campaign)
        session.commit()
    marked = client.post(
        f"/v1/campaigns/{created.json()['id']}/sent",
        json={"sent_at": sent_at.isoformat(), "counts": counts},
        headers=sender,
    )
    assert marked.status_code == 200, marked.text
    return str(created.json()["id"])


def reputation(client: TestClient, tenant: Tenant, lang: str = "en") -> Any:
    response = client.get(
        "/v1/reputation", headers={**tenant.auth("sender"), "Accept-Language": lang}
    )
    assert response.status_code == 200, response.text
    return response.json()


def factor(content: Any, key: str) -> Any:
    found = [item for item in content["factors"] if item["key"] == key]
    assert found, f"no factor {key}"
    return found[0]


def test_no_data_has_unknown_factors(client: TestClient, tenant: Tenant) -> None:
    content = reputation(client, tenant)

    assert 0 <= content["score"] <= 100
    assert 1 <= content["grade"] <= 8
    assert factor(content, "bounces")["status"] == "unknown"
    assert content["history"] == []


def test_complaints_lower_the_score(client: TestClient) -> None:
    clean = make_tenant(client.app, "Clean SAS")  # type: ignore[arg-type]
    noisy = make_tenant(client.app, "Noisy SAS")  # type: ignore[arg-type]
    for days in (3, 2, 1):
        send(client, clean, f"C{days}", days, sent=10_000, hard_bounces=10, opens=3000)
        send(
            client, noisy, f"N{days}", days, sent=10_000, hard_bounces=10, complaints=40, opens=3000
        )

    good = reputation(client, clean)
    bad = reputation(client, noisy)

    assert bad["score"] < good["score"]
    assert bad["grade"] <= 2
    assert "complaints" in bad["caps"]
    assert factor(bad, "complaints")["value"] == 0.4
    assert factor(bad, "complaints")["status"] == "bad"
    assert bad["fix_first"][0] == "complaints"
    assert len(bad["history"]) == 3
    assert [point["sent"] for point in bad["history"]] == [10_000] * 3


def test_window_is_latest_ten(client: TestClient, tenant: Tenant) -> None:
    send(client, tenant, "old-bad", 60, sent=1000, hard_bounces=100)
    for days in range(10, 0, -1):
        send(client, tenant, f"ok-{days}", days, sent=1000, hard_bounces=1, opens=300)

    content = reputation(client, tenant)

    assert len(content["window"]["campaigns"]) == 10
    assert factor(content, "bounces")["value"] == 0.1
    assert len(content["history"]) == 11
    assert content["history"][0]["bounce_rate"] == 10.0


def test_gmail_rate_counts_against_limit(client: TestClient, tenant: Tenant) -> None:
    send(client, tenant, "c", 1, sent=10_000, opens=3000)
    before = reputation(client, tenant)
    today = datetime.now(UTC).date()

    stored = client.post(
        "/v1/reputation/gmail",
        json={
            "csv": "Date,User reported spam rate\n"
            f"{today - timedelta(days=1)},0.35%\n{today},0.10%\n",
            "domain": "news.example.com",
        },
        headers=tenant.auth("sender"),
    )
    after = reputation(client, tenant)

    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 2
    assert stored.json()["worst_recent_percent"] == 0.35
    assert after["score"] < before["score"]
    assert after["grade"] <= 2


def test_gmail_csv_errors_name_the_line(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/reputation/gmail",
        json={"csv": "Date,Spam rate\n2026-12-01,abc\n", "domain": "news.example.com"},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )
    missing_domain = client.post(
        "/v1/reputation/gmail",
        json={"csv": "Date,Spam rate\n2026-12-01,0.1%\n"},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert "Line 2" in response.json()["detail"]
    assert missing_domain.status_code == 422
    assert missing_domain.json()["field"] == "domain"


def test_gmail_day_entered_twice_keeps_latest(client: TestClient, tenant: Tenant) -> None:
    day = {
        "day": str(datetime.now(UTC).date()),
        "domain": "News.Example.com",
        "spam_rate_percent": 0.4,
    }
    client.post("/v1/reputation/gmail", json={"days": [day]}, headers=tenant.auth("sender"))

    fixed = client.post(
        "/v1/reputation/gmail",
        json={"days": [{**day, "spam_rate_percent": 0.02}]},
        headers=tenant.auth("sender"),
    )

    assert fixed.json()["worst_recent_percent"] == 0.02


def test_overdue_dsr_lowers_timeliness(client: TestClient, tenant: Tenant) -> None:
    send(client, tenant, "c", 1, sent=1000, opens=300)
    before = factor(reputation(client, tenant), "dsr")
    client.post(
        "/v1/dsr",
        json={
            "type": "access",
            "email": "late@example.org",
            "received_at": (datetime.now(UTC) - timedelta(days=45)).isoformat(),
            "send_code": False,
        },
        headers=tenant.auth("dpo"),
    )

    after = factor(reputation(client, tenant), "dsr")

    assert after["status"] == "bad"
    assert before["status"] != "bad"


def test_check_reports_projected_score(client: TestClient, tenant: Tenant) -> None:
    send(client, tenant, "c", 1, sent=1000, opens=300)
    body = {
        "html": "<p>Hello</p>",
        "text": "Hello",
        "headers": {"From": "News <news@news.example.com>", "Subject": "December"},
        "from_domain": "news.example.com",
        "recipients": ["a@example.org", "b@example.org"],
    }

    response = client.post("/v1/checks", json=body, headers=tenant.auth("sender"))

    assert response.status_code == 200, response.text
    projection = response.json()["reputation"]
    assert 1 <= projection["current"]["grade"] <= 8
    assert 1 <= projection["projected"]["grade"] <= 8
    footer = factor(projection["projected"], "footers")
    assert footer["value"] == 0.0
    assert factor(projection["projected"], "consent")["value"] == 0.0


def test_reputation_cli_table(client: TestClient, tenant: Tenant, settings: Any) -> None:
    send(client, tenant, "c", 1, sent=1000, hard_bounces=30, opens=300)

    table = run_cli(settings, "reputation", "--sender", tenant.sender_id, "--lang", "en")
    as_json = run_cli(settings, "reputation", "--sender", tenant.sender_id, "--json")

    assert table.returncode == 0, table.stderr
    assert "grade" in table.stdout
    assert "bounces" in table.stdout
    assert "3.00 %" in table.stdout
    assert as_json.returncode == 0
    assert factor(__import__("json").loads(as_json.stdout), "bounces")["value"] == 3.0


def test_gmail_future_day_refused(client: TestClient, tenant: Tenant) -> None:
    future = str(datetime.now(UTC).date() + timedelta(days=30))
    day = {"day": future, "domain": "news.example.com", "spam_rate_percent": 1}

    typed = client.post("/v1/reputation/gmail", json={"days": [day]}, headers=tenant.auth("sender"))
    pasted = client.post(
        "/v1/reputation/gmail",
        json={"csv": f"Date,Spam rate\n{future},1%\n", "domain": "news.example.com"},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert typed.status_code == 422
    assert typed.json()["errors"][0]["field"] == "days.0.day"
    assert pasted.status_code == 422
    assert "Line 2" in pasted.json()["detail"]
    assert factor(reputation(client, tenant), "gmail_spam_rate")["value"] is None


def test_ingested_bounces_move_the_score(client: TestClient, tenant: Tenant) -> None:
    from tests.bounces.test_ingestion import dsn

    campaign_id = send(client, tenant, "December", 1, sent=100, opens=30)
    before = reputation(client, tenant)

    for number in range(3):
        raw = dsn(
            f"gone{number}@example.net",
            "5.1.1",
            "550 5.1.1 user unknown",
            f"<m{number}@example.com>",
            campaign=campaign_id,
        )
        ingested = client.post(
            "/v1/events/raw",
            content=raw,
            headers={**tenant.auth("sender"), "Content-Type": "message/rfc822"},
        )
        assert ingested.status_code == 200, ingested.text
    after = reputation(client, tenant)

    assert factor(before, "bounces")["value"] == 0.0
    assert factor(after, "bounces")["value"] == 3.0
    assert factor(after, "bounces")["status"] == "bad"
    assert after["score"] < before["score"]
    assert "bounces" in after["caps"]
