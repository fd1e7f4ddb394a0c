"""Unsubscribe (``/u``) and preference center (``/p``) pages in Chromium, in French and English.

Loading a page changes nothing; pressing its button unsubscribes from
everything at once, which screening shows right after the response.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.journey import (
    KEPT,
    LOCALES,
    catalog,
    confirmed_subscriber,
    screening_outcome,
)
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

SUBSCRIBER = "paul.martin@example.net"
UNSUBSCRIBE_ALL = "Unsubscribe from all emails"


@pytest.mark.parametrize("locale", LOCALES)
def test_unsubscribe_page_button(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)

    page = browser_context.new_page()
    response = page.goto(links.unsubscribe)
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == locale
    expect(page.get_by_role("heading", level=1)).to_have_text(catalog(locale, "Unsubscribe"))
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=catalog(locale, UNSUBSCRIBE_ALL), exact=True).click()
    assert posted.value.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "You are unsubscribed")
    )
    expect(page.get_by_role("status")).to_have_text(
        catalog(
            locale,
            "Your request took effect immediately: you will receive no more emails from us.",
        )
    )
    assert page.locator("html").get_attribute("lang") == locale
    assert screening_outcome(service, sender, SUBSCRIBER) == "unsubscribe"

    # The link keeps working afterwards and shows that the person is unsubscribed.
    reopened = browser_context.new_page()
    again = reopened.goto(links.unsubscribe)
    assert again is not None
    assert again.status == 200
    expect(reopened.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "You are unsubscribed")
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_preference_center_unsubscribe(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)

    page = browser_context.new_page()
    response = page.goto(links.preferences)
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == locale
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "Manage my preferences")
    )
    # The sign-up used the form's default topic, shown ticked.
    default_topic = {"fr": "Lettre d'information", "en": "Newsletter"}[locale]
    expect(page.get_by_role("checkbox", name=default_topic)).to_be_checked()
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

    page.get_by_role("button", name=catalog(locale, UNSUBSCRIBE_ALL), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        catalog(
            locale,
            "Your request took effect immediately: you will receive no more emails from us.",
        )
    )
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        catalog(locale, "You are unsubscribed from all emails")
    )
    # Post/Redirect/Get: the result is the preference page itself.
    assert page.url.startswith(links.preferences + "?")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "Manage my preferences")
    )
    assert page.locator("html").get_attribute("lang") == locale
    assert screening_outcome(service, sender, SUBSCRIBER) == "unsubscribe"

    # Reloading the result page repeats no POST and shows the same result.
    page.reload()
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        catalog(locale, "You are unsubscribed from all emails")
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_language_switch_on_pages(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)
    other = "en" if locale == "fr" else "fr"
    switch_name = {"fr": "Français", "en": "English"}[other]

    page = browser_context.new_page()
    page.goto(links.preferences)
    page.get_by_role("link", name=switch_name, exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalog(other, "Manage my preferences")
    )
    # Switching the language changes nothing for the subscriber.
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT
