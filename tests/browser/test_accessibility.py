"""Accessibility basics of the subscriber pages, checked in Chromium without any network.

WCAG 2.1: every form control has an accessible name (1.3.1, 4.1.2), the
page has a single level-one heading, and every button can be reached with
Tab and pressed with Enter (2.1.1 Keyboard).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.journey import (
    KEPT,
    LOCALES,
    catalog,
    confirmed_subscriber,
    link_in,
    screening_outcome,
    subscribe,
)
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

SUBSCRIBER = "lea.bernard@example.net"
FORM_CONTROLS = "input:not([type=hidden]), select, textarea, button"
# More than the links and controls of any subscriber page.
MAX_TAB_PRESSES = 30


def assert_accessibility_basics(page: Page) -> None:
    expect(page.locator("h1")).to_have_count(1)
    controls = page.locator(FORM_CONTROLS)
    assert controls.count() > 0, f"no form control on {page.url.split('/')[3]} page"
    for index in range(controls.count()):
        # Playwright computes the accessible name as assistive technology
        # does (labels, aria-label, aria-labelledby, button text).
        expect(controls.nth(index)).to_have_accessible_name(re.compile(r"\S"))


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the keyboard focus."""
    for _ in range(MAX_TAB_PRESSES):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab did not reach the control within {MAX_TAB_PRESSES} presses")


@pytest.mark.parametrize("locale", LOCALES)
def test_confirmation_page_by_keyboard(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    subscribe(service, sender, SUBSCRIBER, locale)
    confirm_url = link_in(smtp.wait_for(1)[0], service.base_url, "c")

    page = browser_context.new_page()
    page.goto(confirm_url)
    assert_accessibility_basics(page)

    button = page.get_by_role("button", name=catalog(locale, "Confirm my subscription"))
    tab_to(page, button)
    assert screening_outcome(service, sender, SUBSCRIBER) == "no_basis"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalog(locale, "Subscription confirmed")
    )
    expect(page.locator("h1")).to_have_count(1)
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT


@pytest.mark.parametrize("kind", ["unsubscribe", "preferences"])
def test_unsubscribe_pages_by_keyboard(
    kind: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, "fr")

    page = browser_context.new_page()
    page.goto(links.unsubscribe if kind == "unsubscribe" else links.preferences)
    assert_accessibility_basics(page)

    tab_to(page, page.get_by_role("button", name=catalog("fr", "Unsubscribe from all emails")))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.locator("h1")).to_have_count(1)
    assert screening_outcome(service, sender, SUBSCRIBER) == "unsubscribe"
