"""Retention of the outbox: finished emails go after the period, pending ones never."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from compliance.app import Runtime, open_runtime
from compliance.core import outbox_retention
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender
from dsr.retention import apply_retention, retention_report

DAY = timedelta(days=1)
PERIOD_DAYS = 30


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    opened = open_runtime(settings)
    yield opened
    opened.dispose()


@pytest.fixture
def sender_id(runtime: Runtime) -> str:
    with Session(runtime.engine, expire_on_commit=False) as session:
        sender = create_sender(session, "Exemple SAS", "12 rue de la Paix, 75002 Paris")
        session.commit()
    return sender.id


def add_message(
    runtime: Runtime,
    sender_id: str,
    status: OutboxStatus,
    created_at: datetime,
    sent_at: datetime | None = None,
) -> str:
    with Session(runtime.engine, expire_on_commit=False) as session:
        message = OutboxMessage(
            sender_id=sender_id,
            kind="confirmation",
            idempotency_key=f"test:{uuid.uuid4()}",
            payload=b"encrypted",
            status=status,
            created_at=created_at,
            sent_at=sent_at,
        )
        session.add(message)
        session.commit()
    return message.id


def remaining(runtime: Runtime) -> set[str]:
    with Session(runtime.engine) as session:
        return set(session.exec(select(OutboxMessage.id)).all())


def test_finished_messages_deleted_after_the_period(runtime: Runtime, sender_id: str) -> None:
    now = utcnow()
    old = now - (PERIOD_DAYS + 1) * DAY
    sent_long_ago = add_message(runtime, sender_id, OutboxStatus.SENT, old, old + DAY / 24)
    dead_long_ago = add_message(runtime, sender_id, OutboxStatus.DEAD, old)
    # Still pending after a month of retries: a relay that never replied.
    still_pending = add_message(runtime, sender_id, OutboxStatus.PENDING, old)
    # Queued long ago but sent recently: the period counts from the send.
    sent_lately = add_message(runtime, sender_id, OutboxStatus.SENT, old, now - 2 * DAY)

    with Session(runtime.engine) as session:
        report = retention_report(session, runtime.services.settings, now)
    rules = {rule.name: rule for rule in report.rules}
    rule = rules["outbox_messages"]
    assert (rule.due_now, rule.due_in_window) == (2, 1)
    assert rule.setting == "RETENTION_OUTBOX_DAYS"
    assert rule.period == PERIOD_DAYS * DAY

    result = apply_retention(runtime.engine, runtime.services, now)

    assert result.outbox_messages_deleted == 2
    assert remaining(runtime) == {still_pending, sent_lately}
    assert not {sent_long_ago, dead_long_ago} & remaining(runtime)
    # A second run finds nothing left to do.
    assert apply_retention(runtime.engine, runtime.services, now).outbox_messages_deleted == 0


def test_deletion_spans_batches(
    runtime: Runtime, sender_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_retention, "BATCH_SIZE", 3)
    old = utcnow() - (PERIOD_DAYS + 5) * DAY
    for offset in range(8):
        add_message(runtime, sender_id, OutboxStatus.SENT, old + offset * DAY / 24, old)
    kept = add_message(runtime, sender_id, OutboxStatus.PENDING, old)

    result = apply_retention(runtime.engine, runtime.services)

    assert result.outbox_messages_deleted == 8
    assert remaining(runtime) == {kept}


def test_period_is_a_setting(settings: Settings) -> None:
    shorter = open_runtime(settings.model_copy(update={"retention_outbox_days": 7}))
    try:
        with Session(shorter.engine, expire_on_commit=False) as session:
            sender = create_sender(session, "Exemple SAS", "12 rue de la Paix, 75002 Paris")
            session.commit()
        now = utcnow()
        ten_days_ago = now - 10 * DAY
        add_message(shorter, sender.id, OutboxStatus.SENT, ten_days_ago, ten_days_ago)
        add_message(shorter, sender.id, OutboxStatus.SENT, now - 6 * DAY, now - 6 * DAY)

        result = apply_retention(shorter.engine, shorter.services, now)

        assert result.outbox_messages_deleted == 1
        assert len(remaining(shorter)) == 1
    finally:
        shorter.dispose()
