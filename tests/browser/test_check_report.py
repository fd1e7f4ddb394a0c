"""The pre-send report as a page in Chromium, in French and English, from a real template.

The report is made by ``sendguard serve`` from a newsletter template of the
corpus, with recipients, then shown in a browser context that may reach
loopback only: the page must load nothing and run no script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from compliance.checks.findings import Area
from compliance.checks.report_html import AREA_LABELS, DECISION_LABELS
from compliance.core.i18n import translate
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
TEMPLATE = CORPUS / "templates" / "leemunroe__email.html"
LOCALES = ["fr", "en"]
RECIPIENTS = ["lecteur@example.net", "not an address", "lecteur@example.net"]


def sender_key(service: ServeProcess, sender: SenderAccount) -> dict[str, str]:
    created = httpx.post(
        f"{service.base_url}/v1/keys", json={"role": "sender"}, headers=sender.admin_headers
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


def check_body(campaign_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from_domain": "news.example.com",
        "html": TEMPLATE.read_text(encoding="utf-8"),
        "headers": {"Subject": "Our December news", "From": "News <hello@news.example.com>"},
        "recipients": RECIPIENTS,
    }
    if campaign_id is not None:
        body["campaign_id"] = campaign_id
    return body


def post_check(
    service: ServeProcess, auth: dict[str, str], accept: str, locale: str, **extra: Any
) -> httpx.Response:
    response = httpx.post(
        f"{service.base_url}/v1/checks",
        json=check_body(**extra),
        headers={**auth, "Accept": accept, "Accept-Language": locale},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response


def assert_report_page(page: Page, locale: str, report: dict[str, Any]) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    verdict = translate(locale, DECISION_LABELS[report["decision"]])
    expect(page.locator("p.decision")).to_have_text(verdict)
    expect(page.locator("p.decision")).to_be_visible()

    # One section per area with findings, in the order of the report's areas.
    areas = [Area(name) for name, indexes in report["areas"].items() if indexes]
    assert Area.RECIPIENTS in areas
    expected = [translate(locale, AREA_LABELS[area]) for area in areas]
    expect(page.locator("section > h2")).to_have_text(expected)
    for area in areas:
        section = page.locator(
            "section", has=page.get_by_role("heading", name=expected[areas.index(area)])
        )
        messages = [report["findings"][index]["message"][locale] for index in report["areas"][area]]
        for message in messages:
            expect(section.get_by_text(message, exact=False).first).to_be_visible()

    expect(page.locator("script")).to_have_count(0)


@pytest.mark.parametrize("locale", LOCALES)
def test_check_report_page(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    browser_context: LoopbackContext,
) -> None:
    auth = sender_key(service, sender)
    report = post_check(service, auth, "application/json", locale).json()
    html = post_check(service, auth, "text/html", locale).text

    page = browser_context.new_page()
    page.set_content(html)

    assert_report_page(page, locale, report)
    assert "lecteur@example.net" not in html


@pytest.mark.parametrize("locale", LOCALES)
def test_stored_report_page(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    browser_context: LoopbackContext,
) -> None:
    auth = sender_key(service, sender)
    created_list = httpx.post(f"{service.base_url}/v1/lists", json={"name": "News"}, headers=auth)
    assert created_list.status_code == 201, created_list.text
    campaign = httpx.post(
        f"{service.base_url}/v1/campaigns",
        json={"name": "December", "list_ids": [created_list.json()["id"]]},
        headers=auth,
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    report = post_check(service, auth, "application/json", locale, campaign_id=campaign_id).json()

    browser_context.context.set_extra_http_headers(
        {**auth, "Accept": "text/html", "Accept-Language": locale}
    )
    page = browser_context.new_page()
    response = page.goto(f"{service.base_url}/v1/campaigns/{campaign_id}/report")

    assert response is not None
    assert response.status == 200
    assert_report_page(page, locale, report)
