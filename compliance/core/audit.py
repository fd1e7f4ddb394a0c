"""The audit log: hash-chained per sender, holding ids and actions only."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import ScalarSelect, desc
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

    A transaction that already holds the lock does not ask again: a sign-up
    appends to the ledger and to the audit chain, and the second SELECT
    would be one more round trip for a lock it has.
    """
    locked_by: dict[str, object] = session.info.setdefault(_LOCKED_SENDERS, {})
    transaction = _innermost_transaction(session)
    if transaction is not None and locked_by.get(sender_id) is transaction:
        return
    session.exec(select(Sender.id).where(Sender.id == sender_id).with_for_update(key_share=True))
    # The lock ends with the transaction: remember which transaction holds it.
    # A later transaction is another object, so it locks again. Inside a
    # savepoint the savepoint is remembered, because PostgreSQL releases a
    # lock taken there when the savepoint rolls back.
    locked_by[sender_id] = _innermost_transaction(session)


def _innermost_transaction(session: Session) -> object | None:
    return session.get_nested_transaction() or session.get_transaction()


# session.info key of the senders whose row the current transaction has locked.
_LOCKED_SENDERS = "sendguard_locked_senders"


def record_event(
    session: Session,
    sender_id: str,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    known_head: str | None = None,
) -> AuditEvent:
    """Append one event to the sender's chain; ``object_id`` must be an id, never personal data.

    ``known_head`` is the latest event hash (GENESIS_HASH for none) when the
    caller has already locked the sender and read it in this transaction.
    """
    if known_head is None:
        lock_sender(session, sender_id)
        known_head = _cached_head(session, sender_id)
    if known_head is None:
        known_head = session.exec(select(head_query(sender_id))).one() or GENESIS_HASH

    event = AuditEvent(
        sender_id=sender_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        created_at=utcnow(),
        prev_hash=known_head,
        event_hash="",
    )
    event.event_hash = _event_hash(event)
    session.add(event)
    session.flush()

    # The sender is locked until commit, so no other transaction can append
    # after this event: the next append in this transaction chains to it
    # without reading the head again (an erasure appends six events).
    heads: dict[str, tuple[object | None, str]] = session.info.setdefault(_CHAIN_HEADS, {})
    heads[sender_id] = (_innermost_transaction(session), event.event_hash)
    return event


def _cached_head(session: Session, sender_id: str) -> str | None:
    # Valid only in the transaction (or savepoint) that appended it: after a
    # savepoint rolls back, the innermost transaction differs and the head
    # is read again from the database.
    heads: dict[str, tuple[object | None, str]] = session.info.get(_CHAIN_HEADS, {})
    cached = heads.get(sender_id)
    if cached is None or cached[0] is not _innermost_transaction(session):
        return None
    return cached[1]


# session.info key of the chain heads that the current transaction appended.
_CHAIN_HEADS = "sendguard_audit_heads"


def head_query(sender_id: str) -> ScalarSelect[str]:
    """Build a scalar subquery of the sender's latest event hash (NULL for an empty chain)."""
    return (
        select(AuditEvent.event_hash)
        .where(AuditEvent.sender_id == sender_id)
        .order_by(desc(col(AuditEvent.id)))
        .limit(1)
        .scalar_subquery()
    )


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
