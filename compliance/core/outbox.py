"""The transactional outbox: every email is a row committed with its cause.

A route that must send mail calls :func:`enqueue` inside its transaction;
the worker sends committed rows later. So a subscription and its
confirmation email are both stored or both absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import structlog
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from compliance.core.db import is_postgresql, transaction
from compliance.core.dkim_signing import DkimSigner
from compliance.core.keystore import KeyStore, decrypt_bytes, encrypt_bytes
from compliance.core.mail import SMTP_TIMEOUT_SECONDS, MailTransport, TransportError
from compliance.core.metrics import OUTBOX_SENT, record_job_failure, record_outbox_failure
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow

log = structlog.get_logger(__name__)

BATCH_SIZE = 20
# Retries back off exponentially from 30 s, capped at one hour.
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
# How long a claimed row stays out of other claims while it is being sent:
# longer than a batch can take (BATCH_SIZE sends, each bounded by the SMTP timeout).
CLAIM_LEASE = timedelta(seconds=BATCH_SIZE * SMTP_TIMEOUT_SECONDS * 2)


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
    row = prepare(
        sender_id=sender_id,
        contact_id=contact_id,
        data_key=data_key,
        kind=kind,
        idempotency_key=idempotency_key,
        message=message,
    )
    session.add(row)
    session.flush()
    return row


def prepare(
    *,
    sender_id: str,
    contact_id: str,
    data_key: bytes,
    kind: str,
    idempotency_key: str,
    message: EmailMessage,
) -> OutboxMessage:
    """Build an outbox row without a session: the caller adds it to its transaction.

    Serialising and encrypting the message is CPU work; doing it before the
    write transaction keeps SQLite's write lock short (docs/benchmarks-consent.md).
    The caller may set ``idempotency_key`` later, before adding the row.
    """
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
    """Send due outbox rows; runs as a task of ``sendguard serve`` or ``sendguard worker``."""

    def __init__(
        self,
        engine: Engine,
        keystore: KeyStore,
        transport: MailTransport,
        poll_seconds: float,
        max_attempts: int,
        on_permanent_failure: FailureHook | None = None,
        dkim: DkimSigner | None = None,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self._engine = engine
        self._keystore = keystore
        self._transport = transport
        self._poll_seconds = poll_seconds
        self._max_attempts = max_attempts
        self._on_permanent_failure = on_permanent_failure
        self._dkim = dkim
        self._lease = lease
        self._wake = asyncio.Event()
        # Set from the event loop, read by the sending thread between two messages.
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Make the batch in flight stop after its current message and release the rest."""
        self._stopping.set()

    async def run(self) -> None:
        """Send batches until cancelled.

        On cancellation the batch in flight stops after its current message,
        releases the rows it claimed but did not send, and only then does this
        return, so that the caller never disposes of the engine under a send.
        """
        log.info("outbox.worker_started", transport=self._transport.describe())
        self._stopping.clear()
        while True:
            work = asyncio.ensure_future(asyncio.to_thread(self.process_batch))
            try:
                try:
                    sent = await asyncio.shield(work)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.error("outbox.batch_failed", error_type=type(error).__name__)
                    record_job_failure("outbox_batch")
                    sent = 0
                if sent < BATCH_SIZE:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            except asyncio.CancelledError:
                self.request_stop()
                with contextlib.suppress(Exception):
                    await work
                log.info("outbox.worker_stopped")
                raise

    def process_batch(self) -> int:
        """Send up to one batch of due messages; return how many were handled.

        Three steps, so that no database transaction stays open while mail
        is sent (on SQLite an open write transaction blocks every sign-up):
        claim the batch and commit, send with no transaction open, then
        record the outcomes in one short transaction. A claim pushes the
        row's next attempt one lease ahead, so no other worker picks it
        up meanwhile. If the process dies after sending and before
        recording, the row is sent again once the lease expires: at least
        once, and the fixed Message-ID lets receivers drop the copy. Each
        outcome is recorded right after its send, so a worker killed
        mid-batch repeats at most the one message it was sending.

        When the worker is stopping, the rows not yet sent are released
        for another worker to claim at once.
        """
        rows = self._claim()
        for position, row in enumerate(rows):
            if self._stopping.is_set():
                self._release(rows[position:])
                break

            try:
                outcome = self._send_one(row)
            except Exception as error:
                # This row stays claimed and is retried when its lease ends.
                log.error("outbox.send_failed", outbox_id=row.id, error_type=type(error).__name__)
                record_job_failure("outbox_send")
                continue

            # After the commit, so that the hook's own transaction reads the dead row.
            for failure in self._record([(row, outcome)]):
                self._report(failure)
        return len(rows)

    def _claim(self) -> list[OutboxMessage]:
        now = utcnow()
        # transaction() queues this write behind sign-ups on SQLite's
        # in-process writer lock, instead of in SQLite's sleeping busy handler.
        with transaction(self._engine) as session:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(col(OutboxMessage.next_attempt_at))
                .limit(BATCH_SIZE)
            )
            if is_postgresql(self._engine):
                # Several workers may drain one database: each row goes to one.
                query = query.with_for_update(skip_locked=True)
            rows = list(session.exec(query).all())
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + self._lease
                session.add(row)
        # The rows are detached now: the send step changes them without a session.
        return rows

    def _release(self, rows: list[OutboxMessage]) -> None:
        """Give back claimed rows that were not sent, due at once and with the attempt uncounted.

        Only rows this worker still holds change: a row whose lease ended
        and that another worker claimed since has a higher attempt count.
        """
        now = utcnow()
        with transaction(self._engine) as session:
            for row in rows:
                session.connection().execute(
                    update(OutboxMessage)
                    .where(
                        col(OutboxMessage.id) == row.id,
                        col(OutboxMessage.status) == OutboxStatus.PENDING,
                        col(OutboxMessage.attempts) == row.attempts,
                    )
                    .values(attempts=row.attempts - 1, next_attempt_at=now)
                )
        log.info("outbox.claims_released", count=len(rows))

    def _record(
        self, results: list[tuple[OutboxMessage, PermanentFailure | None]]
    ) -> list[PermanentFailure]:
        """Store each sent row's outcome; return the failures of rows that still exist."""
        failures: list[PermanentFailure] = []
        deleted_ids: list[str] = []
        if not results:
            return failures
        with transaction(self._engine) as session:
            for row, failure in results:
                changed = session.connection().execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == row.id)
                    .values(
                        status=row.status,
                        attempts=row.attempts,
                        next_attempt_at=row.next_attempt_at,
                        last_error=row.last_error,
                        sent_at=row.sent_at,
                        payload=row.payload,
                    )
                )
                if changed.rowcount == 0:
                    deleted_ids.append(row.id)
                elif failure is not None:
                    failures.append(failure)
        if deleted_ids:
            # The contact was erased while its message was being sent: the
            # erasure already deleted the row, so delete the copy this
            # send may have written after it (a development outbox folder).
            self._transport.forget(deleted_ids)
        return failures

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
        # The claim has already counted this attempt (row.attempts).
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
            record_outbox_failure("permanent" if error.permanent else "temporary")
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
        OUTBOX_SENT.inc()
        log.info("outbox.sent", outbox_id=row.id, kind=row.kind, sender_id=row.sender_id)
        return None
