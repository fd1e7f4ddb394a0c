"""Fixtures for tests that call the app in process: a client, a sender with keys, mail delivery."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from compliance.app import create_app
from compliance.core.models import Role
from compliance.core.outbox import OutboxWorker
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender, issue_key


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, run_worker=False, configure_logs=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # https, like PUBLIC_URL: the pages' CSRF cookie is Secure there.
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@dataclass(frozen=True)
class Tenant:
    sender_id: str
    form_id: str
    admin_key: str
    sender_key: str
    dpo_key: str

    def auth(self, role: str) -> dict[str, str]:
        key = {"admin": self.admin_key, "sender": self.sender_key, "dpo": self.dpo_key}[role]
        return {"Authorization": f"Bearer {key}"}


def make_tenant(app: FastAPI, name: str = "Exemple SAS") -> Tenant:
    with Session(app.state.engine, expire_on_commit=False) as session:
        sender = create_sender(
            session, name, postal_address="12 rue de la Paix, 75002 Paris", default_locale="fr"
        )
        keys = {role: issue_key(session, sender.id, role, actor="test").secret for role in Role}
        session.commit()
    return Tenant(sender.id, sender.form_id, keys[Role.ADMIN], keys[Role.SENDER], keys[Role.DPO])


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


class RecordingTransport:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []

    def send(self, raw: bytes, message_id: str) -> None:
        self.raw.append(raw)
        self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))  # type: ignore[arg-type]

    def forget(self, message_ids: list[str]) -> None:
        pass

    def describe(self) -> str:
        return "recording transport"


def deliver(client: TestClient) -> list[EmailMessage]:
    """Run the outbox worker once and return the messages it sent."""
    return deliver_raw(client).messages


def deliver_raw(client: TestClient) -> RecordingTransport:
    """Run the outbox worker once; the transport keeps the wire bytes and parsed messages."""
    app: Any = client.app
    transport = RecordingTransport()
    worker = OutboxWorker(
        app.state.engine, app.state.services.keystore, transport, poll_seconds=0.1, max_attempts=3
    )
    worker.process_batch()
    return transport


def link_in(message: EmailMessage, prefix: str) -> str:
    """Return the first link of the text part that starts with ``prefix`` (for example '/c/')."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "message has no text part"
    match = re.search(
        rf"https://sendguard\.test({re.escape(prefix)}[A-Za-z0-9._-]+)", body.get_content()
    )
    assert match is not None, f"no {prefix} link in the message"
    return match.group(1)


def signup(form_id: str, email: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "form_id": form_id,
        "email": email,
        "topics": ["newsletter"],
        "locale": "en",
        "consent_text": "Yes, send me the monthly newsletter. I can unsubscribe at any time.",
        "consent_text_version": "2026-11",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "3",
        "form_url": "https://example.org/signup",
    }
    body.update(overrides)
    return body


def csrf_field(page_html: str) -> str:
    """Return the CSRF field of the first form of a page (the cookie is in the client)."""
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page_html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)
