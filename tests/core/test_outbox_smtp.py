"""The outbox over a real SMTP server on loopback, with retries when the relay is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from compliance.core.db import make_engine
from compliance.core.keystore import KeyStore
from compliance.core.mail import (
    FolderTransport,
    SmtpTransport,
    new_message,
    recipient,
    sender_address,
)
from compliance.core.models import OutboxMessage, OutboxStatus
from compliance.core.outbox import OutboxWorker, PermanentFailure, enqueue
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


def queue_one(engine: Engine, keystore: KeyStore, to: str = "reader@example.net") -> str:
    with Session(engine) as session:
        sender = create_sender(session, "Outbox test")
        key = keystore.create_key("contact-outbox")
        target = recipient(to)
        message = new_message(target)
        message["From"] = sender_address("Société Exemple", "news@example.org")
        message["To"] = target.header
        message["Subject"] = "Bonjour"
        message["List-Unsubscribe"] = "<https://sendguard.example.com/u/" + "x" * 300 + ">"
        message.set_content("Corps du message, accentué.", cte="8bit")
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


def test_long_header_stays_on_one_line(engine: Engine, keystore: KeyStore) -> None:
    queue_one(engine, keystore)

    with LoopbackSmtpServer() as smtp:
        OutboxWorker(
            engine, keystore, SmtpTransport(smtp.url), poll_seconds=0.1, max_attempts=3
        ).process_batch()
        raw = smtp.wait_for(1) and smtp.raw[0]

    header = next(line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
    assert header == b"List-Unsubscribe: <https://sendguard.example.com/u/" + b"x" * 300 + b">"
    assert b"=?utf-8?" not in header


def test_idn_domain_sent_as_a_labels(engine: Engine, keystore: KeyStore) -> None:
    queue_one(engine, keystore, to="idn@exämple.net")

    with LoopbackSmtpServer() as smtp:
        OutboxWorker(
            engine, keystore, SmtpTransport(smtp.url), poll_seconds=0.1, max_attempts=3
        ).process_batch()
        smtp.wait_for(1)
        envelope = smtp._collector.envelopes[0]

    assert envelope[1] == ["idn@xn--exmple-cua.net"]


def test_utf8_local_part_uses_smtputf8(engine: Engine, keystore: KeyStore) -> None:
    queue_one(engine, keystore, to="José@example.net")

    with LoopbackSmtpServer() as smtp:
        OutboxWorker(
            engine, keystore, SmtpTransport(smtp.url), poll_seconds=0.1, max_attempts=3
        ).process_batch()
        received = smtp.wait_for(1)

    assert received[0]["To"] == "José@example.net"
    assert "José@example.net".encode() in smtp.raw[0]


def test_refused_recipient_is_permanent(engine: Engine, keystore: KeyStore) -> None:
    row_id = queue_one(engine, keystore)
    failures: list[PermanentFailure] = []

    with LoopbackSmtpServer(refuse_recipients=True) as smtp:
        worker = OutboxWorker(
            engine,
            keystore,
            SmtpTransport(smtp.url),
            poll_seconds=0.1,
            max_attempts=8,
            on_permanent_failure=failures.append,
        )
        worker.process_batch()

    with Session(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        assert row.status == OutboxStatus.DEAD
        assert row.attempts == 1
    assert len(failures) == 1
    assert failures[0].recipient_refused is True
    assert failures[0].contact_id == "contact-outbox"


def test_folder_transport_forgets_files(tmp_path: Path) -> None:
    transport = FolderTransport(tmp_path / "outbox")
    transport.send(b"Subject: x\r\n\r\nbody", "message-1")
    assert (tmp_path / "outbox" / "message-1.eml").exists()

    transport.forget(["message-1", "never-sent"])

    assert not (tmp_path / "outbox" / "message-1.eml").exists()
