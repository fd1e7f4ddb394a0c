"""The magic link page ``/m/{form_id}`` in Chromium: no enumeration, and a working emailed link.

A known and an unknown address get the same page, so the form does not
reveal who is on the list. Only the known address receives an email, and
its ``/p`` link opens the preference center.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.journey import (
    LOCALES,
    assert_no_other_email,
    catalog,
    confirmed_subscriber,
)
from tests.browser.preference_steps import (
    assert_page_basics,
    button,
    email_with_link,
    expect_h1,
    expect_status,
    guarded_context,
)
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

KNOWN = "helene.roux@example.net"
UNKNOWN = "personne@example.org"
SENDER_NAME = "Librairie Exemple"
BROWSER_LOCALE = {"fr": "fr-FR", "en": "en-GB"}


def ask_for_link(page: Page, form_url: str, locale: str, address: str) -> tuple[int, str, str]:
    """Send the form for ``address``; return the POST status, the final path and the page body."""
    page.goto(form_url)
    expect_h1(page, locale, "Manage my subscription")
    assert_page_basics(page, locale)
    page.get_by_label(catalog(locale, "Email address"), exact=True).fill(address)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        button(page, locale, "Send me the link").click()
    expect_status(
        page,
        locale,
        "If this address is on the list of %(sender)s, an email with a link to your "
        "preferences is on its way. The link opens the page without any password.",
        sender=SENDER_NAME,
    )
    path = page.url.removeprefix(form_url.split("/m/")[0])
    return posted.value.status, path, page.locator("main").inner_html()


@pytest.mark.parametrize("locale", LOCALES)
def test_magic_link_same_for_unknown(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    chromium: Browser,
) -> None:
    # The subscriber's stored locale is the other one, so the email and the
    # preference page it opens prove they follow the stored locale.
    stored = "en" if locale == "fr" else "fr"
    confirmed_subscriber(service, sender, smtp, KNOWN, stored)
    form_url = f"{service.base_url}/m/{sender.form_id}"

    # The page has no subscriber yet, so its language comes from Accept-Language.
    with guarded_context(chromium, locale=BROWSER_LOCALE[locale]) as context:
        known = ask_for_link(context.new_page(), form_url, locale, KNOWN)
        unknown = ask_for_link(context.new_page(), form_url, locale, UNKNOWN)
        assert known[0] == unknown[0] == 303
        assert known[1] == unknown[1]
        assert known[2] == unknown[2]
        assert KNOWN not in known[2]

        link, received = email_with_link(smtp, service.base_url, KNOWN, "p", after=2)
        # No email went to the unknown address.
        assert_no_other_email(service, sender, smtp, sent=received)

        page = context.new_page()
        response = page.goto(link)
        assert response is not None
        assert response.status == 200
        expect(page.locator("html")).to_have_attribute("lang", stored)
        expect_h1(page, stored, "Manage my preferences")
        expect(
            page.get_by_role("button", name=catalog(stored, "Unsubscribe from all emails"))
        ).to_be_visible()
