"""Unsubscribe faults seen in other products, replayed in Chromium against ``sendguard serve``.

- A list's unsubscribe link must remove the contact from that list only.
- An unsubscribe link from before a re-subscription must not end the newer
  subscription.
- The page shows which address it acts on, masked, never in full, because
  the email may have been forwarded.
- Text from the URL, the sender or the subscriber is never written into
  the page as markup.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import (
    KEPT,
    LOCALES,
    catalog,
    confirmed_subscriber,
    screening_outcome,
)
from tests.browser.preference_steps import (
    assert_page_basics,
    button,
    contact_id_of,
    create_list,
    email_with_link,
    expect_h1,
    expect_status,
    no_dialog,
    screen,
    unsubscribe_url,
)
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

SUBSCRIBER = "Sophie.Lambert@example.net"
MASKED = "S*************@example.net"
# A list name chosen by the sender, with markup that would run if it were
# written into the page unescaped.
NEWS_LIST = "<img src=x onerror=alert('liste')> Nouveautés"
OFFERS_LIST = "Offres"
OLDER_EMAIL = "This link is from an older email"


def assert_not_in_page(page: Page, *texts: str) -> None:
    content = page.content()
    for text in texts:
        assert text not in content, "the page contains text it must not show"
        assert text.lower() not in content.lower(), "the page contains text it must not show"


@pytest.mark.parametrize("locale", LOCALES)
def test_list_link_removes_only_that_list(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)
    news = create_list(service, sender, NEWS_LIST, SUBSCRIBER)
    offers = create_list(service, sender, OFFERS_LIST, SUBSCRIBER)
    url = unsubscribe_url(
        service, sender, contact_id_of(service, sender, SUBSCRIBER), f"list:{news}"
    )

    page = browser_context.new_page()
    with no_dialog(page):
        page.goto(url)
        expect_h1(page, locale, "Unsubscribe")
        assert_page_basics(page, locale)
        expect(
            page.get_by_text(
                catalog(
                    locale,
                    "Press the button to stop receiving emails from the list %(list)s.",
                    list=NEWS_LIST,
                )
            )
        ).to_be_visible()
        expect(page.locator("main img")).to_have_count(0)
        expect(
            page.get_by_text(
                catalog(locale, "This link acts on the address %(address)s.", address=MASKED)
            )
        ).to_be_visible()
        assert_not_in_page(page, SUBSCRIBER)
        # Opening the page changes nothing.
        assert screen(service, sender, SUBSCRIBER, [news])["kept"] == [SUBSCRIBER]

        button(page, locale, "Unsubscribe").click()
        expect_h1(page, locale, "You are unsubscribed")
        expect_status(
            page,
            locale,
            "Your request took effect immediately: you will receive no more emails from this list.",
        )

    removed = screen(service, sender, SUBSCRIBER, [news])["removed"]
    assert [item["reason"] for item in removed] == ["unsubscribe"]
    assert screen(service, sender, SUBSCRIBER, [offers])["kept"] == [SUBSCRIBER]
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

    # The preference center shows the list change and nothing else.
    page.goto(links.preferences)
    items = page.locator("main ul li")
    expect(items).to_have_count(2)
    expect(items.filter(has_text=NEWS_LIST)).to_have_text(
        f"{NEWS_LIST} — {catalog(locale, 'unsubscribed')}"
    )
    expect(items.filter(has_text=OFFERS_LIST)).to_have_text(
        f"{OFFERS_LIST} — {catalog(locale, 'subscribed')}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_old_link_after_resubscribe(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)
    contact_id = contact_id_of(service, sender, SUBSCRIBER)
    campaign_link = unsubscribe_url(service, sender, contact_id, "all")

    # A tab left open on a campaign's unsubscribe page, from before the re-subscription.
    stale_tab = browser_context.new_page()
    stale_tab.goto(campaign_link)
    expect_h1(stale_tab, locale, "Unsubscribe")

    # The person unsubscribes with the welcome email's link...
    page = browser_context.new_page()
    page.goto(links.unsubscribe)
    button(page, locale, "Unsubscribe from all emails").click()
    expect_h1(page, locale, "You are unsubscribed")
    assert screening_outcome(service, sender, SUBSCRIBER) == "unsubscribe"

    # ...then subscribes again from the preference center and the emailed confirmation.
    sent = len(smtp.messages)
    page.goto(links.preferences)
    button(page, locale, "Subscribe again").click()
    expect_status(
        page,
        locale,
        "We sent a confirmation email. Your subscription resumes when you confirm it.",
    )
    confirm_url, _ = email_with_link(smtp, service.base_url, SUBSCRIBER, "c", after=sent)
    page.goto(confirm_url)
    button(page, locale, "Confirm my subscription").click()
    expect_h1(page, locale, "Subscription confirmed")
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

    # The old links now show the older-email page, with no button.
    for old in (links.unsubscribe, campaign_link):
        response = page.goto(old)
        assert response is not None
        assert response.status == 200
        expect_h1(page, locale, OLDER_EMAIL)
        assert_page_basics(page, locale)
        expect(page.get_by_role("button")).to_have_count(0)

    # The tab opened earlier still has its button; pressing it changes nothing.
    button(stale_tab, locale, "Unsubscribe from all emails").click()
    expect_h1(stale_tab, locale, OLDER_EMAIL)
    expect_status(
        stale_tab,
        locale,
        "You subscribed again after this email was sent, so this link no longer changes "
        "your subscription. Use the unsubscribe link of a more recent email.",
    )
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT

    # A mailbox provider's RFC 8058 POST on the old link: 200, and no effect.
    one_click = httpx.post(
        campaign_link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert one_click.status_code == 200
    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT


@pytest.mark.parametrize("locale", LOCALES)
def test_pages_show_masked_address_only(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, locale)

    page = browser_context.new_page()
    page.goto(links.unsubscribe)
    expect(
        page.get_by_text(
            catalog(locale, "This link acts on the address %(address)s.", address=MASKED)
        )
    ).to_be_visible()
    assert_not_in_page(page, SUBSCRIBER, "Sophie.Lambert")

    page.goto(links.preferences)
    expect(
        page.get_by_text(
            catalog(locale, "This page acts on the address %(address)s.", address=MASKED)
        )
    ).to_be_visible()
    assert_not_in_page(page, SUBSCRIBER, "Sophie.Lambert")


INJECTED = "<script>alert('url')</script>"


def test_url_text_never_reflected(
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    browser_context: LoopbackContext,
) -> None:
    links = confirmed_subscriber(service, sender, smtp, SUBSCRIBER, "fr")
    page = browser_context.new_page()
    query = f"?lang={INJECTED}&result={INJECTED}&reason={INJECTED}"

    with no_dialog(page):
        # Unknown parameters are ignored: the stored locale and no result message.
        for url in (links.unsubscribe + query, links.preferences + query):
            response = page.goto(url)
            assert response is not None
            assert response.status == 200
            expect(page.locator("html")).to_have_attribute("lang", "fr")
            expect(page.get_by_role("status")).to_have_count(0)
            assert_not_in_page(page, INJECTED, "alert(")

        # A made-up token: the error page, without the token's text.
        response = page.goto(f"{service.base_url}/u/{INJECTED}")
        assert response is not None
        assert response.status >= 400
        expect(page.locator("h1")).to_have_count(1)
        assert_not_in_page(page, INJECTED, "alert(")

        # The magic link form with an invalid address: the warning, not the address.
        page.goto(f"{service.base_url}/m/{sender.form_id}?lang=en")
        page.locator("form").evaluate("form => { form.noValidate = true; }")
        page.get_by_label(catalog("en", "Email address"), exact=True).fill(INJECTED)
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            button(page, "en", "Send me the link").click()
        assert posted.value.status == 422
        expect(page.get_by_role("alert")).to_have_text(
            catalog("en", "Email address: this is not a valid address; check it.")
        )
        assert_not_in_page(page, INJECTED, "alert(")

    assert screening_outcome(service, sender, SUBSCRIBER) == KEPT
