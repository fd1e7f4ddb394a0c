"""Keyboard use of every preference-center page in Chromium (WCAG 2.1: 2.1.1, 2.4.7).

On each page the test checks the basics (``lang``, one h1, labelled
controls) and reaches the page's main button with Tab only. It checks that
the focus outline is drawn, then presses Enter, and the page must carry
out the button's action.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.journey import KEPT, LOCALES, catalog, screening_outcome
from tests.browser.preference_steps import (
    AGENDA,
    OFFERS,
    assert_page_basics,
    button,
    contact_id_of,
    create_list,
    declare_topics,
    email_with_link,
    expect_h1,
    expect_status,
    guarded_context,
    screen,
    subscribe_to_topics,
    tab_to,
    unsubscribe_url,
)
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

ADDRESS = "nina.moreau@example.net"
NEW_ADDRESS = "nina.m@example.org"


def open_page(page: Page, url: str, locale: str, heading: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    expect_h1(page, locale, heading)
    assert_page_basics(page, locale)


def press_main_button(page: Page, locale: str, msgid: str) -> None:
    tab_to(page, button(page, locale, msgid))
    page.keyboard.press("Enter")


@pytest.mark.parametrize("locale", LOCALES)
def test_pages_by_keyboard(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    chromium: Browser,
) -> None:
    declare_topics(service, sender)
    with guarded_context(chromium, locale={"fr": "fr-FR", "en": "en-US"}[locale]) as context:
        page = context.new_page()

        # /c: the double opt-in confirmation.
        subscribe_to_topics(service, sender, ADDRESS, locale, [AGENDA.key])
        confirm_url, sent = email_with_link(smtp, service.base_url, ADDRESS, "c", after=0)
        open_page(page, confirm_url, locale, "Confirm your subscription")
        press_main_button(page, locale, "Confirm my subscription")
        expect_h1(page, locale, "Subscription confirmed")
        _, sent = email_with_link(smtp, service.base_url, ADDRESS, "p", after=sent)

        # /m: type the address and send the form with the keyboard alone.
        open_page(page, f"{service.base_url}/m/{sender.form_id}", locale, "Manage my subscription")
        tab_to(page, page.get_by_label(catalog(locale, "Email address"), exact=True))
        page.keyboard.type(ADDRESS)
        press_main_button(page, locale, "Send me the link")
        expect(page.get_by_role("status")).to_be_visible()
        preferences_url, sent = email_with_link(smtp, service.base_url, ADDRESS, "p", after=sent)

        # /p: tick a topic with Space, then save with Enter.
        open_page(page, preferences_url, locale, "Manage my preferences")
        tab_to(page, page.get_by_role("checkbox", name=OFFERS.name(locale), exact=True))
        page.keyboard.press("Space")
        press_main_button(page, locale, "Save my topics")
        expect_status(page, locale, "Your topics are saved.")
        expect(page.get_by_role("checkbox", name=OFFERS.name(locale), exact=True)).to_be_checked()

        # /a: the new address's confirmation page.
        page.get_by_label(catalog(locale, "New email address"), exact=True).fill(NEW_ADDRESS)
        button(page, locale, "Change my address").click()
        address_url, sent = email_with_link(smtp, service.base_url, NEW_ADDRESS, "a", after=sent)
        open_page(page, address_url, locale, "Confirm your new address")
        press_main_button(page, locale, "Confirm this address")
        expect_h1(page, locale, "Your address is updated")
        expect(page.locator("h1")).to_have_count(1)
        assert screening_outcome(service, sender, NEW_ADDRESS) == KEPT

        # /s for a download: Enter on the JSON button starts the download.
        page.goto(preferences_url)
        button(page, locale, "Email me a link to download my data").click()
        download_url, sent = email_with_link(smtp, service.base_url, NEW_ADDRESS, "s", after=sent)
        open_page(page, download_url, locale, "Download my data")
        with page.expect_download() as download:
            press_main_button(page, locale, "Download as JSON")
        assert download.value.suggested_filename == "my-data.json"

        # /u with a list scope.
        news = create_list(service, sender, "Nouveautés", NEW_ADDRESS)
        contact_id = contact_id_of(service, sender, NEW_ADDRESS)
        list_url = unsubscribe_url(service, sender, contact_id, f"list:{news}")
        open_page(page, list_url, locale, "Unsubscribe")
        press_main_button(page, locale, "Unsubscribe")
        expect_h1(page, locale, "You are unsubscribed")
        expect(page.locator("h1")).to_have_count(1)
        removed = screen(service, sender, NEW_ADDRESS, [news])["removed"]
        assert [item["reason"] for item in removed] == ["unsubscribe"]

        # /s for an erasure, last because it ends everything.
        page.goto(preferences_url)
        button(page, locale, "Email me a link to erase my data").click()
        erase_url, sent = email_with_link(smtp, service.base_url, NEW_ADDRESS, "s", after=sent)
        open_page(page, erase_url, locale, "Erase my data")
        press_main_button(page, locale, "Erase my data now")
        expect_h1(page, locale, "Your data is erased")
        expect(page.locator("h1")).to_have_count(1)
        assert screening_outcome(service, sender, NEW_ADDRESS) == "erased"
