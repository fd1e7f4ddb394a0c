"""Graceful stop of the outbox worker: the claimed rows it did not send go back to the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from compliance.core.db import make_engine
from compliance.core.keystore import KeyStore
from compliance.core.mail import FolderTransport, new_message, recipient, sender_address
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow
from compliance.core.outbox import OutboxWorker, enqueue
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender

QUEUED = 3


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    main = make_engine(settings.resolved_database_url)
    yield main
    main.dispose()


@pytest.fixture
def keystore(settings: Settings) -> Iterator[KeyStore]:
    keys_engine = make_engine(settings.resolved_keystore_url)
    store = KeyStore(keys_engine, b"5" * 32)
    store.create_schema()
    yield store
    keys_engine.dispose()


class StopAfterFirstSend:
    """A folder transport that requests the worker stop once its first message is written."""

    def __init__(self, folder: Path) -> None:
        self.inner = FolderTransport(folder)
        self.worker: OutboxWorker | None = None
        self.sent_ids: list[str] = []

    def send(self, raw: bytes, message_id: str) -> None:
        self.inner.send(raw, message_id)
        self.sent_ids.append(message_id)
        assert self.worker is not None
        self.worker.request_stop()

    def forget(self, message_ids: list[str]) -> None:
        self.inner.forget(message_ids)

    def describe(self) -> str:
        return "stop-after-first"


def queue_messages(engine: Engine, keystore: KeyStore, count: int) -> list[str]:
    with Session(engine) as session:
        sender = create_sender(session, "Release test")
        ids = []
        for number in range(count):
            contact_id = f"contact-release-{number}"
            key = keystore.create_key(contact_id)
            target = recipient(f"reader{number}@example.net")
            message = new_message(target)
            message["From"] = sender_address("Société Exemple", "news@example.org")
            message["To"] = target.header
            message["Subject"] = "Bonjour"
            message.set_content("Corps du message.")
            row = enqueue(
                session,
                sender_id=sender.id,
                contact_id=contact_id,
                data_key=key,
                kind="test",
                idempotency_key=f"release-{number}",
                message=message,
            )
            ids.append(row.id)
        session.commit()
    return ids


def load_rows(engine: Engine) -> dict[str, OutboxMessage]:
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return {row.id: row for row in rows}


def test_stop_releases_unsent_rows(engine: Engine, keystore: KeyStore, tmp_path: Path) -> None:
    queue_messages(engine, keystore, QUEUED)
    transport = StopAfterFirstSend(tmp_path / "outbox")
    worker = OutboxWorker(engine, keystore, transport, poll_seconds=0.1, max_attempts=3)
    transport.worker = worker
    before = utcnow()

    claimed = worker.process_batch()

    rows = load_rows(engine)
    sent = [row for row in rows.values() if row.status == OutboxStatus.SENT]
    released = [row for row in rows.values() if row.status == OutboxStatus.PENDING]
    assert claimed == QUEUED
    assert [row.id for row in sent] == transport.sent_ids
    assert len(released) == QUEUED - 1
    for row in released:
        # The release does not count an attempt, and the row is due at once
        # instead of at the end of the claim's lease.
        assert row.attempts == 0
        assert row.next_attempt_at <= utcnow()
        assert row.next_attempt_at >= before


def test_released_rows_sent_by_next_worker(
    engine: Engine, keystore: KeyStore, tmp_path: Path
) -> None:
    ids = queue_messages(engine, keystore, QUEUED)
    stopping = StopAfterFirstSend(tmp_path / "first")
    first = OutboxWorker(engine, keystore, stopping, poll_seconds=0.1, max_attempts=3)
    stopping.worker = first
    first.process_batch()

    second_transport = FolderTransport(tmp_path / "second")
    second = OutboxWorker(engine, keystore, second_transport, poll_seconds=0.1, max_attempts=3)
    second.process_batch()

    rows = load_rows(engine)
    assert all(rows[row_id].status == OutboxStatus.SENT for row_id in ids)
    assert all(rows[row_id].attempts == 1 for row_id in ids)
    assert len(list((tmp_path / "second").glob("*.eml"))) == QUEUED - 1
    assert len(list((tmp_path / "first").glob("*.eml"))) == 1
