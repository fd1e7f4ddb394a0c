"""Double opt-in in Chromium: the link's page confirms only when its button is pressed.

Mail scanners fetch links before the person reads the email. So opening
``/c/{token}``, by a plain HTTP GET or by loading it in a browser, must not
confirm. Only the POST sent by the button confirms. Texts are compared with the
catalogs, so a page shown in the wrong language fails.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import (
    KEPT,
    LOCALES,
    assert_no_other_email,
    catalog,
    link_in,
    screening_outcome,
    subscribe,
)
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

SUBSCRIBER = "Claire.Dupont@example.net"


def heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text().strip()


def test_catalogs_differ_for_page_texts() -> None:
    # Comparing pages with catalog texts only proves the language if the
    # two catalogs give different texts.
    for msgid in (
        "Confirm my subscription",
        "Subscription confirmed",
        "Your subscription is already confirmed",
    ):
        assert catalog("fr", msgid) != catalog("en", msgid), msgid


@pytest.mark.parametrize("locale", LOCALES)
def test_opening_link_does_not_confirm(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    subscribe(service, sender, SUBSCRIBER, locale)
    confirm_url = link_in(smtp.wait_for(1)[0], service.base_url, "c")

    # A mail scanner's plain GET prefetch.
    scanned = httpx.get(confirm_url, timeout=10)
    assert scanned.status_code == 200
    assert screening_outcome(service, sender, SUBSCRIBER) == "no_basis"

    # A browser loads the page, and the button is not pressed.
    page = browser_context.new_page()
    response = page.goto(confirm_url)
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == locale
    assert heading(page) == catalog(locale, "Confirm your subscription")
    expect(
        page.get_by_role("button", name=catalog(locale, "Confirm my subscription"), exact=True)
    ).to_be_visible()
    page.reload()
    page.close()

    assert screening_outcome(service, sender, SUBSCRIBER) == "no_basis"
    # No welcome email: only the confirmation request was sent.
    assert_no_other_email(service, sender, smtp, sent=1)


@pytest.mark.parametrize("locale", LOCALES)
def test_button_confirms_once(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    subscribe(service, sender, SUBSCRIBER, locale)
    confirm_url = link_in(smtp.wait_for(1)[0], service.base_url, "c")
    button_name = catalog(locale, "Confirm my subscription")
    already = catalog(locale, "Your subscription is already confirmed")

    # Two tabs on the same link, as when the email is opened twice.
    first = browser_context.new_page()
    first.goto(confirm_url)
    second = browser_context.new_page()
    second.goto(confirm_url)

    with first.expect_response(lambda r: r.request.method == "POST") as posted:
        first.get_by_role("button", name=button_name, exact=True).click()
    assert posted.value.status == 200
    expect(first.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "Subscription confirmed")
    )
    assert first.locator("html").get_attribute("lang") == locale
    expect(first.get_by_role("status")).to_have_text(
        catalog(
            locale,
            "Thank you. Your subscription is confirmed and a welcome email is on its way.",
        )
    )
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT
    welcome = smtp.wait_for(2)[1]
    assert welcome["To"] == SUBSCRIBER

    # The stale tab's button posts again, and the page shows it is already confirmed.
    with second.expect_response(lambda r: r.request.method == "POST") as posted_again:
        second.get_by_role("button", name=button_name, exact=True).click()
    assert posted_again.value.status == 200
    expect(second.get_by_role("heading", level=1)).to_have_text(already)

    # Opening the link again shows the same, with no button to press.
    reopened = browser_context.new_page()
    response = reopened.goto(confirm_url)
    assert response is not None
    assert response.status == 200
    assert heading(reopened) == already
    expect(reopened.get_by_role("button", name=button_name, exact=True)).to_have_count(0)

    # Neither the second POST nor the reopened link sent a second welcome email.
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT
    assert_no_other_email(service, sender, smtp, sent=2)
