"""The outbox over a real SMTP server on loopback, with retries when the relay is down."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from compliance.core.db import make_engine
from compliance.core.keystore import KeyStore
from compliance.core.mail import FolderTransport, SmtpTransport
from compliance.core.models import OutboxMessage, OutboxStatus
from compliance.core.outbox import OutboxWorker, enqueue
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender
from tests.support.smtp_server import LoopbackSmtpServer, free_port


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    main = make_engine(settings.resolved_database_url)
    yield main
    main.dispose()


@pytest.fixture
def keystore(settings: Settings) -> Iterator[KeyStore]:
    keys_engine = make_engine(settings.resolved_keystore_url)
    store = KeyStore(keys_engine, b"7" * 32)
    store.create_schema()
    yield store
    keys_engine.dispose()


def queue_one(engine: Engine, keystore: KeyStore) -> str:
    with Session(engine) as session:
        sender = create_sender(session, "Outbox test")
        key = keystore.create_key("contact-outbox")
        message = EmailMessage()
        message["From"] = "news@example.org"
        message["To"] = "reader@example.net"
        message["Subject"] = "Bonjour"
        message.set_content("Corps du message")
        row = enqueue(
            session,
            sender_id=sender.id,
            contact_id="contact-outbox",
            data_key=key,
            kind="test",
            idempotency_key="t1",
            message=message,
        )
        session.commit()
        return row.id


def test_outbox_delivers_over_smtp(settings: Settings, engine: Engine, keystore: KeyStore) -> None:
    row_id = queue_one(engine, keystore)

    with LoopbackSmtpServer() as smtp:
        worker = OutboxWorker(
            engine, keystore, SmtpTransport(smtp.url), poll_seconds=0.1, max_attempts=3
        )
        assert worker.process_batch() == 1
        received = smtp.wait_for(1)

    assert received[0]["Subject"] == "Bonjour"
    assert received[0]["Message-ID"] == f"<{row_id}@sendguard>"
    with Session(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 1
    # A sent row is not picked up again.
    assert (
        OutboxWorker(
            engine, keystore, FolderTransport(Path(settings.data_dir)), 0.1, 3
        ).process_batch()
        == 0
    )


def test_outbox_retries_when_relay_down(engine: Engine, keystore: KeyStore) -> None:
    row_id = queue_one(engine, keystore)
    dead_relay = SmtpTransport(f"smtp://127.0.0.1:{free_port()}")

    OutboxWorker(engine, keystore, dead_relay, poll_seconds=0.1, max_attempts=3).process_batch()

    with Session(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        assert row.status == OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.last_error is not None and "ConnectionRefusedError" in row.last_error
        assert "reader@example.net" not in row.last_error
        assert row.next_attempt_at > row.created_at


def test_outbox_drops_erased_contact(engine: Engine, keystore: KeyStore) -> None:
    row_id = queue_one(engine, keystore)
    keystore.destroy_key("contact-outbox")

    with LoopbackSmtpServer() as smtp:
        OutboxWorker(
            engine, keystore, SmtpTransport(smtp.url), poll_seconds=0.1, max_attempts=3
        ).process_batch()
        assert smtp.messages == []

    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        assert [row.id for row in rows] == [row_id]
        assert rows[0].status == OutboxStatus.DEAD
        assert rows[0].payload == b""
