"""The whole preference center in Chromium, in French and English, from the welcome email's link.

One subscriber goes through every form of ``/p`` in turn. The forms are
topics, frequency, pause and resume, name, and new address (confirmed from
the email sent to it). Then come the data download (JSON and CSV from the
emailed link), the unsubscribe with a reason, subscribing again through
the emailed confirmation, and last the erasure. Every visible text is compared with
the catalog, and screening is checked after each change that affects
sending.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from compliance.core.i18n import translate
from tests.browser.journey import KEPT, LOCALES, catalog, link_in, screening_outcome
from tests.browser.preference_steps import (
    AGENDA,
    OFFERS,
    assert_page_basics,
    button,
    declare_topics,
    email_with_link,
    expect_h1,
    expect_status,
    guarded_context,
    no_dialog,
    preference_events,
    save_screenshots,
    screen,
    subscribe_to_topics,
)
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

ADDRESS = "camille.durand@example.net"
NEW_ADDRESS = "camille.d@example.org"
SCRIPT_NAME = "<script>alert('nom')</script> Camille"
OTHER_LANGUAGE = {"fr": ("en", "English"), "en": ("fr", "Français")}
# The browser requests the other language, so every page that follows the
# subscriber's stored locale proves that the stored locale comes first.
BROWSER_LOCALE = {"fr": "en-US", "en": "fr-FR"}
SCREENSHOT_LOCALE = {"fr": "fr-FR", "en": "en-GB"}


def masked(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[0]}{'*' * max(len(local) - 1, 3)}@{domain}"


def test_catalogs_differ_for_preference_texts() -> None:
    # Comparing the pages with catalog texts proves the language only if
    # French and English differ.
    for msgid in (
        "Manage my preferences",
        "Your topics are saved.",
        "Your data is erased",
        "Unsubscribe from all emails",
        "Subscribe again",
    ):
        assert translate("fr", msgid) != translate("en", msgid), msgid


def confirmed_with_topics(
    service: ServeProcess, sender: SenderAccount, smtp: LoopbackSmtpServer, locale: str
) -> str:
    """Subscribe to the agenda topic, confirm, and return the welcome email's /p link."""
    declare_topics(service, sender)
    subscribe_to_topics(service, sender, ADDRESS, locale, [AGENDA.key])
    confirmed = httpx.post(link_in(smtp.wait_for(1)[0], service.base_url, "c"), timeout=10)
    assert confirmed.status_code == 200, confirmed.text
    preferences, _ = email_with_link(smtp, service.base_url, ADDRESS, "p", after=1)
    assert screening_outcome(service, sender, ADDRESS) == KEPT
    return preferences


def change_topics(page: Page, locale: str) -> None:
    agenda = page.get_by_role("checkbox", name=AGENDA.name(locale), exact=True)
    offers = page.get_by_role("checkbox", name=OFFERS.name(locale), exact=True)
    expect(agenda).to_be_checked()
    expect(offers).not_to_be_checked()

    offers.check()
    agenda.uncheck()
    button(page, locale, "Save my topics").click()
    expect_status(page, locale, "Your topics are saved.")
    expect(agenda).not_to_be_checked()
    expect(offers).to_be_checked()

    # Saving the same choice again changes nothing, and the page says so.
    button(page, locale, "Save my topics").click()
    expect_status(page, locale, "Nothing has changed.")


def change_frequency(page: Page, locale: str) -> None:
    select = page.get_by_label(catalog(locale, "Frequency"), exact=True)
    expect(select).to_have_value("normal")
    select.select_option("monthly")
    button(page, locale, "Save the frequency").click()
    expect_status(page, locale, "Your frequency is saved.")
    expect(select).to_have_value("monthly")


def pause_and_resume(page: Page, locale: str, service: ServeProcess, sender: SenderAccount) -> None:
    until = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    page.get_by_label(catalog(locale, "Pause all emails until (date)"), exact=True).fill(until)
    button(page, locale, "Pause").click()
    expect_status(page, locale, "Your emails are paused.")
    expect(
        page.get_by_text(catalog(locale, "Your emails are paused until %(date)s.", date=until))
    ).to_be_visible()
    assert screen(service, sender, ADDRESS)["removed"] == [
        {"position": 0, "reason": "no_basis", "detail": "paused"}
    ]

    button(page, locale, "Resume my emails now").click()
    expect_status(page, locale, "Your emails are back on.")
    assert screening_outcome(service, sender, ADDRESS) == KEPT


def correct_name(page: Page, locale: str) -> None:
    field = page.get_by_label(catalog(locale, "Name"), exact=True)
    with no_dialog(page):
        field.fill(SCRIPT_NAME)
        button(page, locale, "Save my name").click()
        expect_status(page, locale, "Your name is saved.")
        # The name comes back as text in the field, not as markup in the page.
        expect(field).to_have_value(SCRIPT_NAME)
        assert SCRIPT_NAME not in page.content()
        expect(page.locator("main script")).to_have_count(0)
        page.reload()
        expect(field).to_have_value(SCRIPT_NAME)


def change_address(
    page: Page,
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
) -> None:
    sent = len(smtp.messages)
    page.get_by_label(catalog(locale, "New email address"), exact=True).fill(NEW_ADDRESS)
    button(page, locale, "Change my address").click()
    expect_status(
        page,
        locale,
        "We sent a confirmation link to the new address. Until it is confirmed, "
        "our emails keep going to the current one.",
    )
    expect(
        page.get_by_text(catalog(locale, "A new address is waiting for its confirmation."))
    ).to_be_visible()
    confirm_url, _ = email_with_link(smtp, service.base_url, NEW_ADDRESS, "a", after=sent)
    # Until the new address confirms, mail keeps going to the old one.
    assert screening_outcome(service, sender, ADDRESS) == KEPT

    confirm_page = page.context.new_page()
    confirm_page.goto(confirm_url)
    expect_h1(confirm_page, locale, "Confirm your new address")
    assert_page_basics(confirm_page, locale)
    button(confirm_page, locale, "Confirm this address").click()
    expect_h1(confirm_page, locale, "Your address is updated")
    expect_status(confirm_page, locale, "Our emails now go to this address.")
    confirm_page.close()

    assert screening_outcome(service, sender, NEW_ADDRESS) == KEPT
    assert screening_outcome(service, sender, ADDRESS) != KEPT
    page.reload()
    expect(
        page.get_by_text(
            catalog(
                locale, "This page acts on the address %(address)s.", address=masked(NEW_ADDRESS)
            )
        )
    ).to_be_visible()


def download_data(
    page: Page, locale: str, service: ServeProcess, smtp: LoopbackSmtpServer, tmp_path: Path
) -> None:
    sent = len(smtp.messages)
    button(page, locale, "Email me a link to download my data").click()
    expect_status(
        page,
        locale,
        "We sent a link to download your data to the address on file. It works for 30 minutes.",
    )
    unlock_url, _ = email_with_link(smtp, service.base_url, NEW_ADDRESS, "s", after=sent)

    download_page = page.context.new_page()
    download_page.goto(unlock_url)
    expect_h1(download_page, locale, "Download my data")
    assert_page_basics(download_page, locale)
    expect(
        download_page.get_by_text(
            catalog(
                locale, "This page acts on the address %(address)s.", address=masked(NEW_ADDRESS)
            )
        )
    ).to_be_visible()

    with download_page.expect_download() as as_json:
        button(download_page, locale, "Download as JSON").click()
    assert as_json.value.suggested_filename == "my-data.json"
    json_path = tmp_path / "my-data.json"
    as_json.value.save_as(json_path)
    export = json.loads(json_path.read_text(encoding="utf-8"))
    assert export["format"] == "sendguard.access-export"
    assert export["contact"]["email"] == NEW_ADDRESS
    assert export["contact"]["name"] == SCRIPT_NAME
    actions = [record["action"] for record in export["consent_history"]]
    assert actions[:2] == ["given", "confirmed"]
    assert "withdrawn" in actions

    with download_page.expect_download() as as_csv:
        button(download_page, locale, "Download as CSV").click()
    assert as_csv.value.suggested_filename == "my-data.csv"
    csv_path = tmp_path / "my-data.csv"
    as_csv.value.save_as(csv_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert rows[0] == ["section", "row", "field", "value"]
    assert ["contact", "1", "email", NEW_ADDRESS] in rows
    assert ["contact", "1", "name", SCRIPT_NAME] in rows
    download_page.close()


def unsubscribe_with_reason(
    page: Page, locale: str, service: ServeProcess, sender: SenderAccount
) -> None:
    reason = page.get_by_label(
        catalog(locale, "Why are you leaving? (optional, counted anonymously)"), exact=True
    )
    expect(reason.locator("option[value=too_frequent]")).to_have_text(
        catalog(locale, "Too many emails")
    )
    reason.select_option("too_frequent")
    button(page, locale, "Unsubscribe from all emails").click()
    expect_status(
        page,
        locale,
        "Your request took effect immediately: you will receive no more emails from us.",
    )
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        catalog(locale, "You are unsubscribed from all emails")
    )
    assert screening_outcome(service, sender, NEW_ADDRESS) == "unsubscribe"

    reasons = httpx.get(
        f"{service.base_url}/v1/leave-reasons", headers=sender.admin_headers, timeout=10
    )
    assert reasons.status_code == 200, reasons.text
    assert reasons.json()["counts"] == {
        "too_frequent": 1,
        "not_relevant": 0,
        "never_subscribed": 0,
        "other": 0,
    }


def subscribe_again(
    page: Page,
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
) -> None:
    sent = len(smtp.messages)
    button(page, locale, "Subscribe again").click()
    expect_status(
        page,
        locale,
        "We sent a confirmation email. Your subscription resumes when you confirm it.",
    )
    # Only the click in the emailed confirmation subscribes again.
    assert screening_outcome(service, sender, NEW_ADDRESS) != KEPT
    confirm_url, _ = email_with_link(smtp, service.base_url, NEW_ADDRESS, "c", after=sent)

    confirm_page = page.context.new_page()
    confirm_page.goto(confirm_url)
    assert_page_basics(confirm_page, locale)
    button(confirm_page, locale, "Confirm my subscription").click()
    expect_h1(confirm_page, locale, "Subscription confirmed")
    confirm_page.close()
    assert screening_outcome(service, sender, NEW_ADDRESS) == KEPT

    page.reload()
    expect(button(page, locale, "Unsubscribe from all emails")).to_be_visible()
    expect(page.get_by_role("checkbox", name=OFFERS.name(locale), exact=True)).to_be_checked()


def erase_data(
    page: Page,
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    preferences_url: str,
) -> None:
    sent = len(smtp.messages)
    button(page, locale, "Email me a link to erase my data").click()
    expect_status(
        page,
        locale,
        "We sent a link to confirm the erasure to the address on file. It works for 30 minutes.",
    )
    unlock_url, _ = email_with_link(smtp, service.base_url, NEW_ADDRESS, "s", after=sent)
    # Asking for the link erases nothing.
    assert screening_outcome(service, sender, NEW_ADDRESS) == KEPT

    erase_page = page.context.new_page()
    erase_page.goto(unlock_url)
    expect_h1(erase_page, locale, "Erase my data")
    assert_page_basics(erase_page, locale)
    button(erase_page, locale, "Erase my data now").click()
    expect_h1(erase_page, locale, "Your data is erased")
    expect_status(
        erase_page,
        locale,
        "Everything we held about you is erased. We keep only an irreversible fingerprint "
        "of your address, so that we never write to you again.",
    )
    assert screening_outcome(service, sender, NEW_ADDRESS) == "erased"

    # The preference link now leads to the page for erased data. The stored
    # locale is erased too, so the page follows the browser's Accept-Language.
    response = erase_page.goto(preferences_url)
    assert response is not None
    assert response.status == 410
    browser_locale = BROWSER_LOCALE[locale][:2]
    expect(erase_page.locator("html")).to_have_attribute("lang", browser_locale)
    expect_h1(erase_page, browser_locale, "This link no longer works")
    erase_page.close()


def switch_language(page: Page, locale: str) -> None:
    other, switch_name = OTHER_LANGUAGE[locale]
    page.get_by_role("link", name=switch_name, exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect_h1(page, other, "Manage my preferences")
    expect(button(page, other, "Save my topics")).to_be_visible()
    back = {"fr": "Français", "en": "English"}[locale]
    page.get_by_role("link", name=back, exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect_h1(page, locale, "Manage my preferences")


@pytest.mark.parametrize("locale", LOCALES)
def test_preference_center_journey(
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    chromium: Browser,
    tmp_path: Path,
) -> None:
    preferences_url = confirmed_with_topics(service, sender, smtp, locale)
    # The screenshot uses a browser whose Accept-Language matches the page.
    # NOTE: headless Chromium draws the date field's placeholder in its own
    # UI language (mm/dd/yyyy), whatever the context's locale.
    with guarded_context(chromium, locale=SCREENSHOT_LOCALE[locale]) as context:
        screenshot_page = context.new_page()
        screenshot_page.goto(preferences_url)
        expect_h1(screenshot_page, locale, "Manage my preferences")
        save_screenshots(screenshot_page, tmp_path, f"preference-center-{locale}")
    with guarded_context(chromium, locale=BROWSER_LOCALE[locale]) as context:
        run_journey(context.new_page(), locale, service, sender, smtp, tmp_path, preferences_url)


def run_journey(
    page: Page,
    locale: str,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    tmp_path: Path,
    preferences_url: str,
) -> None:
    response = page.goto(preferences_url)
    assert response is not None
    assert response.status == 200
    expect_h1(page, locale, "Manage my preferences")
    assert_page_basics(page, locale)
    expect(
        page.get_by_text(
            catalog(locale, "This page acts on the address %(address)s.", address=masked(ADDRESS))
        )
    ).to_be_visible()
    assert ADDRESS not in page.content()
    switch_language(page, locale)

    change_topics(page, locale)
    change_frequency(page, locale)
    pause_and_resume(page, locale, service, sender)
    correct_name(page, locale)
    change_address(page, locale, service, sender, smtp)
    download_data(page, locale, service, smtp, tmp_path)
    unsubscribe_with_reason(page, locale, service, sender)
    subscribe_again(page, locale, service, sender, smtp)

    kinds = [event["kind"] for event in preference_events(service, sender)]
    for kind in (
        "topic_on",
        "topic_off",
        "frequency",
        "pause",
        "resume",
        "name",
        "address_requested",
        "address_confirmed",
        "leave_reason",
        "unsubscribe",
    ):
        assert kind in kinds, f"no {kind} preference event"

    erase_data(page, locale, service, sender, smtp, preferences_url)
