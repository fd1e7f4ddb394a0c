"""The transactional outbox: every email is a row committed with its cause.

A route that must send mail calls :func:`enqueue` inside its transaction;
the worker sends committed rows later. So a subscription and its
confirmation email are both stored or both absent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import structlog
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from compliance.core.db import is_postgresql
from compliance.core.dkim_signing import DkimSigner
from compliance.core.keystore import KeyStore, decrypt_bytes, encrypt_bytes
from compliance.core.mail import MailTransport, TransportError
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow

log = structlog.get_logger(__name__)

BATCH_SIZE = 20
# Retries back off exponentially from 30 s, capped at one hour.
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600


def enqueue(
    session: Session,
    *,
    sender_id: str,
    contact_id: str,
    data_key: bytes,
    kind: str,
    idempotency_key: str,
    message: EmailMessage,
) -> OutboxMessage:
    """Queue ``message`` for sending, encrypted under the contact's data key."""
    row = OutboxMessage(
        sender_id=sender_id,
        contact_id=contact_id,
        kind=kind,
        idempotency_key=idempotency_key,
        payload=b"",
    )
    message["Message-ID"] = f"<{row.id}@sendguard>"
    # Serialised with the message's own policy: these bytes go on the wire unchanged.
    row.payload = encrypt_bytes(data_key, contact_id, f"outbox:{row.id}", message.as_bytes())
    session.add(row)
    session.flush()
    return row


def pending_count(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
    ).one()


def delete_for_contact(session: Session, contact_id: str) -> list[str]:
    """Delete every queued or sent message of a contact (erasure); return their ids."""
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.contact_id == contact_id)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return [row.id for row in rows]


@dataclass(frozen=True)
class PermanentFailure:
    """A message the relay refused for good (5xx): the address is likely a hard bounce."""

    outbox_id: str
    sender_id: str
    contact_id: str
    reason: str
    # The relay refused the address itself (a 5xx reply to RCPT TO).
    recipient_refused: bool


FailureHook = Callable[[PermanentFailure], None]


class OutboxWorker:
    """Send due outbox rows; runs as a task inside ``sendguard serve``."""

    def __init__(
        self,
        engine: Engine,
        keystore: KeyStore,
        transport: MailTransport,
        poll_seconds: float,
        max_attempts: int,
        on_permanent_failure: FailureHook | None = None,
        dkim: DkimSigner | None = None,
    ) -> None:
        self._engine = engine
        self._keystore = keystore
        self._transport = transport
        self._poll_seconds = poll_seconds
        self._max_attempts = max_attempts
        self._on_permanent_failure = on_permanent_failure
        self._dkim = dkim
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        log.info("outbox.worker_started", transport=self._transport.describe())
        try:
            while True:
                try:
                    sent = await asyncio.to_thread(self.process_batch)
                except Exception as error:
                    log.error("outbox.batch_failed", error_type=type(error).__name__)
                    sent = 0
                if sent < BATCH_SIZE:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
        except asyncio.CancelledError:
            log.info("outbox.worker_stopped")
            raise

    def process_batch(self) -> int:
        """Send up to one batch of due messages; return how many were handled."""
        with Session(self._engine, expire_on_commit=False) as session:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= utcnow(),
                )
                .order_by(col(OutboxMessage.next_attempt_at))
                .limit(BATCH_SIZE)
            )
            if is_postgresql(self._engine):
                # Several workers may drain one database: each row goes to one.
                query = query.with_for_update(skip_locked=True)
            rows = session.exec(query).all()
            failures = [failure for row in rows if (failure := self._send_one(row)) is not None]
            for row in rows:
                session.add(row)
            session.commit()

        # After the commit, so that the hook's own transaction reads the dead rows.
        for failure in failures:
            self._report(failure)
        return len(rows)

    def _report(self, failure: PermanentFailure) -> None:
        if self._on_permanent_failure is None:
            return
        try:
            self._on_permanent_failure(failure)
        except Exception as error:
            log.error(
                "outbox.failure_hook_failed",
                outbox_id=failure.outbox_id,
                error_type=type(error).__name__,
            )

    def _send_one(self, row: OutboxMessage) -> PermanentFailure | None:
        row.attempts += 1
        key = self._keystore.get_key(row.contact_id) if row.contact_id else None
        if key is None:
            # The contact was erased after the message was queued.
            row.status = OutboxStatus.DEAD
            row.last_error = "data key destroyed"
            row.payload = b""
            log.info("outbox.dropped_erased", outbox_id=row.id)
            return None

        raw = decrypt_bytes(key, row.contact_id or "", f"outbox:{row.id}", row.payload)
        if self._dkim is not None:
            raw = self._dkim.sign(raw)
        try:
            self._transport.send(raw, row.id)
        except TransportError as error:
            row.last_error = str(error)
            if error.permanent:
                row.status = OutboxStatus.DEAD
                log.warning(
                    "outbox.rejected", outbox_id=row.id, attempts=row.attempts, error=str(error)
                )
                return PermanentFailure(
                    row.id, row.sender_id, row.contact_id or "", str(error), error.recipient_refused
                )
            if row.attempts >= self._max_attempts:
                row.status = OutboxStatus.DEAD
                log.error("outbox.dead", outbox_id=row.id, attempts=row.attempts, error=str(error))
            else:
                delay = min(BASE_BACKOFF_SECONDS * 2 ** (row.attempts - 1), MAX_BACKOFF_SECONDS)
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning(
                    "outbox.retry",
                    outbox_id=row.id,
                    attempts=row.attempts,
                    delay_seconds=delay,
                    error=str(error),
                )
            return None

        row.status = OutboxStatus.SENT
        row.sent_at = utcnow()
        log.info("outbox.sent", outbox_id=row.id, kind=row.kind, sender_id=row.sender_id)
        return None
