"""Steps the browser tests share: sign up through the API, read the emails, screen an address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from compliance.core.i18n import translate
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

LOCALES = ("fr", "en")
KEPT = "kept"


def catalog(locale: str, msgid: str, **params: object) -> str:
    """Return the catalog's text for ``msgid``, so tests compare against translations.

    ``params`` fill the message's ``%(name)s`` placeholders.
    """
    return translate(locale, msgid, **params)


def subscribe(service: ServeProcess, sender: SenderAccount, address: str, locale: str) -> None:
    body = {
        "form_id": sender.form_id,
        "email": address,
        "locale": locale,
        "consent_text": "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple.",
        "consent_text_version": "v1",
        "privacy_policy_url": "https://librairie.example.com/confidentialite",
        "privacy_policy_version": "2026-06",
    }
    response = httpx.post(f"{service.base_url}/v1/subscribe", json=body, timeout=10)
    assert response.status_code == 202, response.text


def link_in(message: EmailMessage, base_url: str, kind: str) -> str:
    """Return the ``/{kind}/{token}`` link of the message's text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    match = re.search(rf"{re.escape(base_url)}/{kind}/[A-Za-z0-9._-]+", part.get_content())
    assert match is not None, f"no /{kind}/ link in the email"
    return match.group(0)


def screening_outcome(service: ServeProcess, sender: SenderAccount, address: str) -> str:
    """Screen ``address`` with ``require_consent``: ``kept`` or the removal reason.

    A pending sign-up is removed as ``no_basis``, a confirmed one is kept,
    and an unsubscribed one is removed as ``unsubscribe``.
    """
    response = httpx.post(
        f"{service.base_url}/v1/screen",
        json={"recipients": [address], "require_consent": True},
        headers=sender.admin_headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    if result["kept"] == [address]:
        return KEPT
    assert len(result["removed"]) == 1, result
    return str(result["removed"][0]["reason"])


@dataclass(frozen=True)
class WelcomeLinks:
    preferences: str
    unsubscribe: str


def confirmed_subscriber(
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    address: str,
    locale: str,
) -> WelcomeLinks:
    """Subscribe and confirm over plain HTTP, then return the welcome email's links."""
    subscribe(service, sender, address, locale)
    confirmation = smtp.wait_for(1)[-1]
    confirmed = httpx.post(link_in(confirmation, service.base_url, "c"), timeout=10)
    assert confirmed.status_code == 200, confirmed.text
    welcome = smtp.wait_for(2)[-1]
    assert screening_outcome(service, sender, address) == KEPT
    return WelcomeLinks(
        preferences=link_in(welcome, service.base_url, "p"),
        unsubscribe=link_in(welcome, service.base_url, "u"),
    )


SENTINEL = "sentinelle@example.org"


def assert_no_other_email(
    service: ServeProcess, sender: SenderAccount, smtp: LoopbackSmtpServer, sent: int
) -> None:
    """Assert that nothing was queued after the first ``sent`` emails.

    The outbox sends in queue order, so the confirmation email of a new
    sign-up arriving right after them proves that no other email was
    queued before it, without waiting for a fixed time.
    """
    subscribe(service, sender, SENTINEL, "fr")
    messages = smtp.wait_for(sent + 1)
    assert [message["To"] for message in messages[sent:]] == [SENTINEL]
