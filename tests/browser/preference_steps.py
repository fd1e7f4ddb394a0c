"""Steps of the preference-center browser tests: topics, lists, emails to one address, page checks.

Page checks follow WCAG 2.1 basics: a single level-one heading, an
accessible name on every form control (1.3.1, 4.1.2), keyboard use (2.1.1)
and a visible focus indicator (2.4.7).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.journey import catalog, link_in
from tests.support.browser import LoopbackContext
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC_IMAGES = REPO_ROOT / "docs" / "images"
# Size limit of the screenshots meant for the READMEs; a larger file points to a wrong viewport.
MAX_DOC_IMAGE_BYTES = 300_000
FORM_CONTROLS = "input:not([type=hidden]), select, textarea, button"
# More than the links and controls of any subscriber page.
MAX_TAB_PRESSES = 40
EMAIL_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class TopicSpec:
    key: str
    name_fr: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_fr if locale == "fr" else self.name_en


AGENDA = TopicSpec("agenda", "Agenda des rencontres", "Events calendar")
OFFERS = TopicSpec("offres", "Offres spéciales", "Special offers")


def declare_topics(service: ServeProcess, sender: SenderAccount) -> None:
    """Declare the two public topics of the tests through ``POST /v1/topics``."""
    for topic in (AGENDA, OFFERS):
        body = {
            "key": topic.key,
            "name_fr": topic.name_fr,
            "name_en": topic.name_en,
            "wording_fr": f"J'accepte de recevoir : {topic.name_fr}.",
            "wording_en": f"I agree to receive: {topic.name_en}.",
        }
        response = httpx.post(
            f"{service.base_url}/v1/topics", json=body, headers=sender.admin_headers, timeout=10
        )
        assert response.status_code == 201, response.text


def subscribe_to_topics(
    service: ServeProcess, sender: SenderAccount, address: str, locale: str, topics: list[str]
) -> None:
    body = {
        "form_id": sender.form_id,
        "email": address,
        "locale": locale,
        "topics": topics,
        "consent_text": "J'accepte de recevoir les nouvelles de la Librairie Exemple.",
        "consent_text_version": "v1",
        "privacy_policy_url": "https://librairie.example.com/confidentialite",
        "privacy_policy_version": "2026-06",
    }
    response = httpx.post(f"{service.base_url}/v1/subscribe", json=body, timeout=10)
    assert response.status_code == 202, response.text


def email_with_link(
    smtp: LoopbackSmtpServer, base_url: str, to: str, kind: str, after: int
) -> tuple[str, int]:
    """Wait for an email to ``to`` among those after the first ``after`` that has a ``/kind/`` link.

    Returns the link and the number of emails received so far, to pass as
    ``after`` for the next wait.
    """
    deadline = time.monotonic() + EMAIL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        messages = smtp.messages
        for message in messages[after:]:
            if message["To"] == to and _has_link(message, base_url, kind):
                return link_in(message, base_url, kind), len(messages)
        time.sleep(0.05)
    raise AssertionError(f"no email with a /{kind}/ link arrived within {EMAIL_TIMEOUT_SECONDS} s")


def _has_link(message: EmailMessage, base_url: str, kind: str) -> bool:
    part = message.get_body(preferencelist=("plain",))
    return part is not None and f"{base_url}/{kind}/" in part.get_content()


def contact_id_of(service: ServeProcess, sender: SenderAccount, address: str) -> str:
    response = httpx.post(
        f"{service.base_url}/v1/contacts/lookup",
        json={"email": address},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["contact_id"])


def create_list(service: ServeProcess, sender: SenderAccount, name: str, address: str) -> str:
    """Create a list holding ``address`` and return its id."""
    created = httpx.post(
        f"{service.base_url}/v1/lists",
        json={"name": name},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    list_id = str(created.json()["id"])
    added = httpx.post(
        f"{service.base_url}/v1/lists/{list_id}/members",
        json={"add": [address]},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert added.status_code == 200, added.text
    return list_id


def unsubscribe_url(
    service: ServeProcess, sender: SenderAccount, contact_id: str, scope: str
) -> str:
    """Return the https (here http on loopback) URI of ``List-Unsubscribe`` for ``scope``."""
    response = httpx.post(
        f"{service.base_url}/v1/contacts/{contact_id}/unsubscribe-headers",
        json={"scope": scope},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    headers = response.json()["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.match(r"<([^>]+)>", headers["List-Unsubscribe"])
    assert match is not None, headers["List-Unsubscribe"]
    return match.group(1)


def screen(
    service: ServeProcess, sender: SenderAccount, address: str, list_ids: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"recipients": [address], "require_consent": True}
    if list_ids:
        body["list_ids"] = list_ids
    response = httpx.post(
        f"{service.base_url}/v1/screen", json=body, headers=sender.admin_headers, timeout=10
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def preference_events(service: ServeProcess, sender: SenderAccount) -> list[dict[str, Any]]:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = httpx.get(
        f"{service.base_url}/v1/preference-events",
        params={"since": since},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def expect_status(page: Page, locale: str, msgid: str, **params: object) -> None:
    """Expect the page's result message to be the catalog text of ``msgid``."""
    expect(page.get_by_role("status")).to_have_text(catalog(locale, msgid, **params))


def expect_h1(page: Page, locale: str, msgid: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(catalog(locale, msgid))


def button(page: Page, locale: str, msgid: str) -> Locator:
    return page.get_by_role("button", name=catalog(locale, msgid), exact=True)


def assert_page_basics(page: Page, locale: str) -> None:
    """Check ``lang``, one h1 and an accessible name on every visible form control."""
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("h1")).to_have_count(1)
    controls = page.locator(FORM_CONTROLS)
    for index in range(controls.count()):
        # Playwright computes the accessible name as assistive technology
        # does (labels, aria-label, aria-labelledby, button text).
        expect(controls.nth(index)).to_have_accessible_name(re.compile(r"\S"))


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the keyboard focus, then check the focus is visible."""
    for _ in range(MAX_TAB_PRESSES):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            assert_focus_visible(target)
            return
    raise AssertionError(f"Tab did not reach the control within {MAX_TAB_PRESSES} presses")


def assert_focus_visible(target: Locator) -> None:
    """Check the focused control matches ``:focus-visible`` and draws an outline (WCAG 2.4.7)."""
    assert target.evaluate("element => element.matches(':focus-visible')")
    style = target.evaluate(
        "element => { const s = getComputedStyle(element);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert style[0] not in ("none", "hidden"), f"focused control has outline-style {style[0]}"
    assert style[1] > 0, "focused control has a zero-width outline"


def artifacts_dir(tmp_path: Path) -> Path:
    """Folder for screenshots: ``SENDGUARD_ARTIFACTS_DIR``, else the test's own tmp_path."""
    configured = os.environ.get("SENDGUARD_ARTIFACTS_DIR", "").strip()
    folder = Path(configured) if configured else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshots(page: Page, tmp_path: Path, name: str) -> list[Path]:
    """Save a full-page PNG as an artifact, and into docs/images when asked to.

    ``SENDGUARD_WRITE_DOC_SCREENSHOTS=1`` also writes ``docs/images/<name>.png``
    for the READMEs.
    """
    written = [artifacts_dir(tmp_path) / f"{name}.png"]
    if os.environ.get("SENDGUARD_WRITE_DOC_SCREENSHOTS", "").strip() == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        written.append(DOC_IMAGES / f"{name}.png")
    for path in written:
        page.screenshot(path=str(path), full_page=True)
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG file"
        assert len(data) < MAX_DOC_IMAGE_BYTES, f"{path} has {len(data)} bytes"
    return written


@contextmanager
def guarded_context(browser: Browser, **options: Any) -> Iterator[LoopbackContext]:
    """A context with extra options (locale, JavaScript off), still limited to loopback."""
    context = browser.new_context(service_workers="block", **options)
    guarded = LoopbackContext(context)
    context.route("**/*", guarded.route)
    try:
        yield guarded
        guarded.assert_loopback_only()
    finally:
        context.close()


@contextmanager
def no_dialog(page: Page) -> Iterator[list[str]]:
    """Record every dialog the page opens (``alert`` from injected script) and fail on any."""
    opened: list[str] = []

    def record(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    yield opened
    assert opened == [], f"a script ran in the page and opened dialogs: {opened}"
