"""Retention of engagement data: the last click of a contact, and the deletion of old events.

Delivery events (delivered, open, click) and bounce events describe a person
by blind index. They are kept for a fixed period and then deleted in small
batches (docs/retention.md). Suppression entries are never touched here:
they are what keeps every opt-out working.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from suppression.models import BounceEvent, DeliveryEvent, EventKind

# Rows per transaction: small enough that a large purge never holds one
# long transaction or many row locks, large enough to keep round trips few.
BATCH_SIZE = 500


@dataclass(frozen=True)
class AgeCounts:
    """Rows of one table by the time they fall due for deletion."""

    # Rows older than the retention period now.
    due_now: int
    # Rows that become due after now and at most ``window`` later.
    due_in_window: int
    # When the oldest row that is not yet due becomes due; None when there is none.
    next_due_at: datetime | None


@dataclass(frozen=True)
class ClickTimes:
    """The latest click per contact id and per blind index (events without a contact id)."""

    by_contact: dict[str, datetime]
    by_index: dict[str, datetime]


def last_click_times(
    session: Session, sender_id: str, contact_ids: Sequence[str], digests: Sequence[str]
) -> ClickTimes:
    """Return the latest click of each contact, found by contact id or by blind index.

    A click is a contact that comes from the person (CNIL); opens are left
    out on purpose, because an open is not one. Events that carry no contact
    id are matched by blind index, as the erasure path matches them.
    """
    by_contact: dict[str, datetime] = {}
    by_index: dict[str, datetime] = {}

    for start in range(0, len(contact_ids), BATCH_SIZE):
        chunk = list(contact_ids[start : start + BATCH_SIZE])
        rows = session.exec(
            select(DeliveryEvent.contact_id, func.max(DeliveryEvent.occurred_at))
            .where(
                DeliveryEvent.sender_id == sender_id,
                DeliveryEvent.kind == EventKind.CLICK.value,
                col(DeliveryEvent.contact_id).in_(chunk),
            )
            .group_by(col(DeliveryEvent.contact_id))
        ).all()
        by_contact.update({contact_id: at for contact_id, at in rows if contact_id and at})

    for start in range(0, len(digests), BATCH_SIZE):
        chunk = list(digests[start : start + BATCH_SIZE])
        index_rows = session.exec(
            select(DeliveryEvent.blind_index, func.max(DeliveryEvent.occurred_at))
            .where(
                DeliveryEvent.sender_id == sender_id,
                DeliveryEvent.kind == EventKind.CLICK.value,
                col(DeliveryEvent.contact_id).is_(None),
                col(DeliveryEvent.blind_index).in_(chunk),
            )
            .group_by(col(DeliveryEvent.blind_index))
        ).all()
        by_index.update({digest: at for digest, at in index_rows if at})

    return ClickTimes(by_contact, by_index)


def _count_older(
    session: Session,
    table: type[DeliveryEvent] | type[BounceEvent],
    before: datetime,
    since: datetime | None,
    sender_id: str | None,
) -> int:
    query = select(func.count()).select_from(table).where(col(table.occurred_at) < before)
    if since is not None:
        query = query.where(col(table.occurred_at) >= since)
    if sender_id is not None:
        query = query.where(table.sender_id == sender_id)
    return session.exec(query).one()


def _age_counts(
    session: Session,
    table: type[DeliveryEvent] | type[BounceEvent],
    now: datetime,
    period_days: int,
    window_days: int,
    sender_id: str | None,
) -> AgeCounts:
    period = timedelta(days=period_days)
    cutoff = now - period
    window_cutoff = cutoff + timedelta(days=window_days)
    due_now = _count_older(session, table, cutoff, None, sender_id)
    due_in_window = _count_older(session, table, window_cutoff, cutoff, sender_id)

    # The oldest row that is not due yet is the next one to go.
    oldest = select(func.min(table.occurred_at)).where(col(table.occurred_at) >= cutoff)
    if sender_id is not None:
        oldest = oldest.where(table.sender_id == sender_id)
    oldest_at = session.exec(oldest).one()
    return AgeCounts(due_now, due_in_window, oldest_at + period if oldest_at else None)


def delivery_event_ages(
    session: Session, now: datetime, period_days: int, window_days: int, sender_id: str | None
) -> AgeCounts:
    """Count delivery events due for deletion now and within ``window_days``."""
    return _age_counts(session, DeliveryEvent, now, period_days, window_days, sender_id)


def bounce_event_ages(
    session: Session, now: datetime, period_days: int, window_days: int, sender_id: str | None
) -> AgeCounts:
    """Count bounce events due for deletion now and within ``window_days``."""
    return _age_counts(session, BounceEvent, now, period_days, window_days, sender_id)


@dataclass(frozen=True)
class DeletedBatch:
    """One batch of deleted events."""

    deleted: int
    # The highest id deleted, to pass as ``after_id``; None after the last batch.
    last_id: int | None


def _delete_batch(
    session: Session,
    table: type[DeliveryEvent] | type[BounceEvent],
    before: datetime,
    after_id: int | None,
) -> DeletedBatch:
    # Keyset pagination on the primary key: each batch walks the index from
    # where the last one stopped, so a full purge reads the table once.
    # SKIP LOCKED (PostgreSQL; SQLite ignores FOR UPDATE and serialises
    # writers) lets several workers share the purge without waiting on each other.
    query = select(table.id).where(col(table.occurred_at) < before)
    if after_id is not None:
        query = query.where(col(table.id) > after_id)
    ids = [
        row_id
        for row_id in session.exec(
            query.order_by(col(table.id)).limit(BATCH_SIZE).with_for_update(skip_locked=True)
        ).all()
        if row_id is not None
    ]
    if not ids:
        return DeletedBatch(0, None)

    session.connection().execute(delete(table).where(col(table.id).in_(ids)))
    # A short batch was the last one. Rows locked by another worker are that worker's to delete.
    return DeletedBatch(len(ids), max(ids) if len(ids) == BATCH_SIZE else None)


def delete_delivery_events_before(
    session: Session, before: datetime, after_id: int | None = None
) -> DeletedBatch:
    """Delete up to BATCH_SIZE delivery events that occurred before ``before``, after ``after_id``.

    The caller commits and calls again with the returned ``last_id`` until
    ``last_id`` is None.
    """
    return _delete_batch(session, DeliveryEvent, before, after_id)


def delete_bounce_events_before(
    session: Session, before: datetime, after_id: int | None = None
) -> DeletedBatch:
    """Delete up to BATCH_SIZE bounce events that occurred before ``before``, after ``after_id``."""
    return _delete_batch(session, BounceEvent, before, after_id)
