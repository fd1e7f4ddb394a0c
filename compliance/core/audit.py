"""The audit log: hash-chained per sender, holding ids and actions only."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import desc
from sqlmodel import Session, col, select

from compliance.core.models import AuditEvent, Sender, iso_utc, utcnow

GENESIS_HASH = "0" * 64


def _event_hash(event: AuditEvent) -> str:
    canonical = json.dumps(
        {
            "sender_id": event.sender_id,
            "actor": event.actor,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "created_at": iso_utc(event.created_at),
            "prev_hash": event.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def lock_sender(session: Session, sender_id: str) -> None:
    """Lock the sender row until commit, so that chained appends do not fork.

    PostgreSQL takes a row lock; SQLite serialises writers anyway. The lock
    is FOR NO KEY UPDATE: inserting a row that references the sender takes
    FOR KEY SHARE on it, which FOR UPDATE would wait for, so two sign-ups of
    one sender would deadlock; FOR NO KEY UPDATE still serialises appends.
    """
    session.exec(select(Sender.id).where(Sender.id == sender_id).with_for_update(key_share=True))


def record_event(
    session: Session, sender_id: str, *, actor: str, action: str, object_type: str, object_id: str
) -> AuditEvent:
    """Append one event to the sender's chain; ``object_id`` must be an id, never personal data."""
    lock_sender(session, sender_id)
    previous = session.exec(
        select(AuditEvent.event_hash)
        .where(AuditEvent.sender_id == sender_id)
        .order_by(desc(col(AuditEvent.id)))
        .limit(1)
    ).first()

    event = AuditEvent(
        sender_id=sender_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        created_at=utcnow(),
        prev_hash=previous or GENESIS_HASH,
        event_hash="",
    )
    event.event_hash = _event_hash(event)
    session.add(event)
    session.flush()
    return event


def verify_chain(session: Session, sender_id: str) -> int | None:
    """Return the id of the first event whose hash or link is wrong, or None when intact."""
    expected_prev = GENESIS_HASH
    events = session.exec(
        select(AuditEvent).where(AuditEvent.sender_id == sender_id).order_by(col(AuditEvent.id))
    )
    for event in events:
        if event.prev_hash != expected_prev or _event_hash(event) != event.event_hash:
            return event.id
        expected_prev = event.event_hash
    return None
