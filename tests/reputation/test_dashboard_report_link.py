"""The dashboard's list of pre-send reports links to a page that shows each stored report."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from markupsafe import escape

from tests.api.conftest import Tenant
from tests.reputation.test_dashboard_pages import (
    login,
    owner,
    send_campaign,
    store_report,
    web,
)

__all__ = ["owner", "web"]


def test_report_link_opens_stored_report(web: TestClient, owner: Tenant) -> None:
    campaign_id = send_campaign(web, owner, "Rentrée", sent=1000)
    stored = store_report(web, owner, campaign_id)
    assert login(web, owner.sender_key, "en").status_code == 303

    page = web.get("/dashboard?lang=en")
    links = re.findall(r'<a href="(/dashboard/campaigns/[^"]+/report[^"]*)">', page.text)

    assert page.status_code == 200
    assert len(links) == 1
    assert campaign_id in links[0]
    report = web.get(html.unescape(links[0]))
    assert report.status_code == 200
    assert '<html lang="en">' in report.text
    # Every stored finding's English message is on the page.
    for finding in stored["findings"]:
        assert str(escape(finding["message"]["en"])) in report.text
