"""Unsubscribing works in a browser with JavaScript turned off, from ``/u`` and from ``/p``.

CAN-SPAM (16 CFR 316.5) allows no step beyond the page, and some mail
clients open links in a viewer without scripts, so the pages must work
as plain HTML forms.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.journey import (
    KEPT,
    LOCALES,
    catalog,
    confirmed_subscriber,
    screening_outcome,
)
from tests.browser.preference_steps import (
    button,
    expect_h1,
    expect_status,
    guarded_context,
    preference_events,
)
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

SUBSCRIBER = "julien.petit@example.net"
LEAVE_REASON = "Why are you leaving? (optional, counted anonymously)"
TOOK_EFFECT = "Your request took effect immediately: you will receive no more emails from us."


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["unsubscribe", "preferences"])
def test_unsubscribe_without_javascript(
    kind: str,
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    chromium: Browser,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)
    url = links.unsubscribe if kind == "unsubscribe" else links.preferences

    with guarded_context(chromium, java_script_enabled=False) as context:
        page = context.new_page()
        response = page.goto(url)
        assert response is not None
        assert response.status == 200
        # No script at all on the page: nothing can depend on one.
        expect(page.locator("script")).to_have_count(0)
        expect(page.locator("[onclick], [onsubmit], [onchange]")).to_have_count(0)
        assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

        page.get_by_label(catalog(locale, LEAVE_REASON), exact=True).select_option("not_relevant")
        button(page, locale, "Unsubscribe from all emails").click()
        if kind == "unsubscribe":
            expect_h1(page, locale, "You are unsubscribed")
        else:
            expect_h1(page, locale, "Manage my preferences")
        expect_status(page, locale, TOOK_EFFECT)

    assert screening_outcome(service, sender, SUBSCRIBER) == "unsubscribe"
    events = preference_events(service, sender)
    assert [event["kind"] for event in events] == ["leave_reason", "unsubscribe"]
    assert events[0]["value"] == "not_relevant"
    assert events[1]["method"] == "page"
