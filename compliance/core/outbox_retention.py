"""Delete the outbox rows of finished emails: sent, or dead after their last try.

A sent row contains an encrypted copy of the email for no further use: the
consent ledger, the audit log and the DSR records are the proof of what
was sent. Kept forever, these rows would also become the largest table
(docs/scaling.md). Dead rows stay as long, so that an operator can still
see why they failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func
from sqlmodel import Session, col, select

from compliance.core.models import OutboxMessage, OutboxStatus

BATCH_SIZE = 500
FINISHED = (OutboxStatus.SENT.value, OutboxStatus.DEAD.value)


def finished_at() -> ColumnElement[datetime]:
    # A dead row has no sent_at, so it counts from its creation. Its retries
    # end a few hours later, so the difference is small.
    return func.coalesce(col(OutboxMessage.sent_at), col(OutboxMessage.created_at))


def _finished() -> ColumnElement[bool]:
    return col(OutboxMessage.status).in_(FINISHED)


def count_finished(
    session: Session, before: datetime, since: datetime | None, sender_id: str | None
) -> int:
    """Count finished rows that finished before ``before`` (and at or after ``since``)."""
    query = select(func.count()).select_from(OutboxMessage).where(_finished())
    query = query.where(finished_at() < before)
    if since is not None:
        query = query.where(finished_at() >= since)
    if sender_id is not None:
        query = query.where(OutboxMessage.sender_id == sender_id)
    return session.exec(query).one()


def oldest_finished_since(
    session: Session, since: datetime, sender_id: str | None
) -> datetime | None:
    """Return when the oldest row finished at or after ``since`` finished, or None."""
    query = select(func.min(finished_at())).where(_finished(), finished_at() >= since)
    if sender_id is not None:
        query = query.where(OutboxMessage.sender_id == sender_id)
    oldest: datetime | None = session.exec(query).one()
    return oldest


@dataclass(frozen=True)
class DeletedMessages:
    """One batch of deleted outbox rows."""

    deleted: int
    # The highest id deleted, to pass as ``after_id``; None after the last batch.
    last_id: str | None


def delete_finished_before(
    session: Session, before: datetime, after_id: str | None = None
) -> DeletedMessages:
    """Delete up to BATCH_SIZE rows that finished before ``before``, after ``after_id``.

    Pending rows are never touched. The caller commits and calls again with
    the returned ``last_id`` until it is None. Rows another worker has
    locked are skipped (SKIP LOCKED on PostgreSQL): that worker deletes them.
    """
    query = select(OutboxMessage.id).where(_finished(), finished_at() < before)
    if after_id is not None:
        query = query.where(col(OutboxMessage.id) > after_id)
    ids = list(
        session.exec(
            query.order_by(col(OutboxMessage.id))
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not ids:
        return DeletedMessages(0, None)

    session.connection().execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
    return DeletedMessages(len(ids), ids[-1] if len(ids) == BATCH_SIZE else None)
