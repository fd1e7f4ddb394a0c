"""Suppress, lift and screen. Suppression beats everything: no path sends to an active entry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import BlindIndex
from compliance.core.models import utcnow
from suppression.models import (
    LIFTED_BY_DOUBLE_OPT_IN,
    SuppressionEntry,
    SuppressionReason,
    SuppressionScope,
)

log = structlog.get_logger(__name__)


def suppress(
    session: Session,
    sender_id: str,
    index: BlindIndex,
    *,
    reason: SuppressionReason,
    source: str,
    actor: str,
    scope: SuppressionScope = SuppressionScope.GLOBAL,
    scope_ref: str = "",
    event_ref: str = "",
) -> SuppressionEntry:
    """Add an active entry, or return the active one with the same reason and scope."""
    existing = session.exec(
        select(SuppressionEntry).where(
            SuppressionEntry.sender_id == sender_id,
            SuppressionEntry.blind_index == index.digest,
            SuppressionEntry.reason == reason.value,
            SuppressionEntry.scope == scope.value,
            SuppressionEntry.scope_ref == scope_ref,
            col(SuppressionEntry.lifted_at).is_(None),
        )
    ).first()
    if existing is not None:
        return existing

    entry = SuppressionEntry(
        sender_id=sender_id,
        blind_index=index.digest,
        key_version=index.version,
        scope=scope.value,
        scope_ref=scope_ref,
        reason=reason.value,
        source=source,
        event_ref=event_ref,
    )
    session.add(entry)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action=f"suppression.added.{reason.value}",
        object_type="suppression",
        object_id=entry.id,
    )
    log.info(
        "suppression.added",
        sender_id=sender_id,
        entry_id=entry.id,
        reason=reason.value,
        index_prefix=index.digest[:8],
    )
    return entry


def active_entries(
    session: Session, sender_id: str, indexes: Iterable[BlindIndex]
) -> list[SuppressionEntry]:
    digests = [index.digest for index in indexes]
    if not digests:
        return []
    return list(
        session.exec(
            select(SuppressionEntry).where(
                SuppressionEntry.sender_id == sender_id,
                col(SuppressionEntry.blind_index).in_(digests),
                col(SuppressionEntry.lifted_at).is_(None),
            )
        ).all()
    )


def lift_after_double_opt_in(
    session: Session, sender_id: str, indexes: Sequence[BlindIndex], actor: str
) -> list[str]:
    """Lift the entries a confirmed double opt-in may lift; return the reasons that remain."""
    remaining: list[str] = []
    for entry in active_entries(session, sender_id, indexes):
        if entry.reason in LIFTED_BY_DOUBLE_OPT_IN:
            entry.lifted_at = utcnow()
            entry.lifted_by = actor
            session.add(entry)
            record_event(
                session,
                sender_id,
                actor=actor,
                action=f"suppression.lifted.{entry.reason}",
                object_type="suppression",
                object_id=entry.id,
            )
        else:
            remaining.append(entry.reason)
    session.flush()
    return remaining


# Reasons that only an admin may lift, with a written justification: a
# complaint or a hard bounce is evidence from the mailbox provider.
ADMIN_ONLY_REASONS = frozenset({SuppressionReason.COMPLAINT, SuppressionReason.HARD_BOUNCE})


def lift_by_admin(
    session: Session,
    sender_id: str,
    indexes: Sequence[BlindIndex],
    reason: SuppressionReason,
    actor: str,
    justification: str,
) -> list[SuppressionEntry]:
    """Lift the active entries of one reason for an address (an audited admin override).

    Returns the entries lifted; an empty list when none was active.
    """
    lifted: list[SuppressionEntry] = []
    for entry in active_entries(session, sender_id, indexes):
        if entry.reason != reason.value:
            continue
        entry.lifted_at = utcnow()
        entry.lifted_by = actor
        entry.lift_justification = justification
        session.add(entry)
        record_event(
            session,
            sender_id,
            actor=actor,
            action=f"suppression.override.{entry.reason}",
            object_type="suppression",
            object_id=entry.id,
        )
        lifted.append(entry)
    session.flush()
    log.info("suppression.override", sender_id=sender_id, reason=reason.value, entries=len(lifted))
    return lifted


def _active_unsubscribes(
    session: Session, sender_id: str, event_ref: str
) -> list[SuppressionEntry]:
    """Return the active unsubscribe entries that one event created."""
    return list(
        session.exec(
            select(SuppressionEntry).where(
                SuppressionEntry.sender_id == sender_id,
                SuppressionEntry.event_ref == event_ref,
                SuppressionEntry.reason == SuppressionReason.UNSUBSCRIBE.value,
                col(SuppressionEntry.lifted_at).is_(None),
            )
        ).all()
    )


def lift_for_event(
    session: Session, sender_id: str, event_ref: str, actor: str, justification: str
) -> list[SuppressionEntry]:
    """Lift the active unsubscribe entries one event created (a reviewed reversal).

    Only ``unsubscribe`` entries are lifted: a complaint, an erasure or an
    objection caused by the same person stays, whatever the event was.
    """
    entries = _active_unsubscribes(session, sender_id, event_ref)
    for entry in entries:
        entry.lifted_at = utcnow()
        entry.lifted_by = actor
        entry.lift_justification = justification
        session.add(entry)
        record_event(
            session,
            sender_id,
            actor=actor,
            action="suppression.reversed.unsubscribe",
            object_type="suppression",
            object_id=entry.id,
        )
    session.flush()
    return list(entries)


def move_event_entries(
    session: Session, sender_id: str, from_ref: str, to_ref: str, actor: str
) -> int:
    """Give the active unsubscribe entries of one event to another event; return how many.

    A second unsubscribe of the same scope reuses the first one's entry. When
    the first is reversed and the second is not, the entry stays active and
    follows the second, so that reversing the second later lifts it.
    """
    entries = _active_unsubscribes(session, sender_id, from_ref)
    for entry in entries:
        entry.event_ref = to_ref
        session.add(entry)
        record_event(
            session,
            sender_id,
            actor=actor,
            action="suppression.event_moved",
            object_type="suppression",
            object_id=entry.id,
        )
    session.flush()
    return len(entries)


def lift_for_restriction(
    session: Session, sender_id: str, event_ref: str, actor: str
) -> list[SuppressionEntry]:
    """Lift the ``manual`` entries a restriction of processing (GDPR Art. 18) created."""
    entries = session.exec(
        select(SuppressionEntry).where(
            SuppressionEntry.sender_id == sender_id,
            SuppressionEntry.event_ref == event_ref,
            SuppressionEntry.reason == SuppressionReason.MANUAL.value,
            col(SuppressionEntry.lifted_at).is_(None),
        )
    ).all()
    for entry in entries:
        entry.lifted_at = utcnow()
        entry.lifted_by = actor
        entry.lift_justification = "restriction of processing lifted (GDPR Art. 18(3))"
        session.add(entry)
        record_event(
            session,
            sender_id,
            actor=actor,
            action="suppression.restriction_lifted",
            object_type="suppression",
            object_id=entry.id,
        )
    session.flush()
    return list(entries)
