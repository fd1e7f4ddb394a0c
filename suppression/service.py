"""Suppress, lift and screen. Suppression beats everything: no path sends to an active entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import AddressError, BlindIndex, BlindIndexer
from compliance.core.models import utcnow
from suppression.models import (
    LIFTED_BY_DOUBLE_OPT_IN,
    SuppressionEntry,
    SuppressionReason,
    SuppressionScope,
)

log = structlog.get_logger(__name__)

# Screening queries the database in chunks of this many blind indexes, well
# under SQLite's bound-parameter limit.
SCREEN_CHUNK = 500


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


@dataclass(frozen=True)
class RemovedRecipient:
    # Position in the submitted list, so the caller can match it without
    # the response repeating the address.
    position: int
    reason: str


@dataclass(frozen=True)
class ScreenResult:
    kept: list[str]
    removed: list[RemovedRecipient]
    invalid: list[RemovedRecipient]
    duplicates: list[int]
    reasons: dict[str, int] = field(default_factory=dict)


# When an address carries several active entries, the reported reason is
# the first in this order (the strongest legal ground first).
_REASON_PRECEDENCE = [
    SuppressionReason.COMPLAINT,
    SuppressionReason.ERASED,
    SuppressionReason.OBJECTION,
    SuppressionReason.UNSUBSCRIBE,
    SuppressionReason.HARD_BOUNCE,
    SuppressionReason.SPAM_TRAP,
    SuppressionReason.INVALID_ADDRESS,
    SuppressionReason.MANUAL,
]


def screen(
    session: Session, sender_id: str, indexer: BlindIndexer, recipients: Sequence[str]
) -> ScreenResult:
    """Remove suppressed, invalid and duplicate addresses from ``recipients``.

    Every live blind-index key version is computed, so entries stored under
    an older key still match.
    """
    candidates: list[tuple[int, str, list[BlindIndex]]] = []
    invalid: list[RemovedRecipient] = []
    duplicates: list[int] = []
    seen: set[str] = set()

    for position, given in enumerate(recipients):
        # Surrounding spaces are common in exported files and never part of an address.
        address = given.strip()
        try:
            validate_email(address, check_deliverability=False)
            indexes = indexer.all_versions(address)
        except (EmailNotValidError, AddressError):
            invalid.append(RemovedRecipient(position, "invalid_address"))
            continue
        current = indexes[0].digest
        if current in seen:
            duplicates.append(position)
            continue
        seen.add(current)
        candidates.append((position, address, indexes))

    suppressed: dict[str, set[str]] = {}
    all_digests = [index.digest for _, _, indexes in candidates for index in indexes]
    for start in range(0, len(all_digests), SCREEN_CHUNK):
        chunk = all_digests[start : start + SCREEN_CHUNK]
        rows = session.exec(
            select(SuppressionEntry.blind_index, SuppressionEntry.reason).where(
                SuppressionEntry.sender_id == sender_id,
                SuppressionEntry.scope == SuppressionScope.GLOBAL.value,
                col(SuppressionEntry.blind_index).in_(chunk),
                col(SuppressionEntry.lifted_at).is_(None),
            )
        ).all()
        for digest, reason in rows:
            suppressed.setdefault(digest, set()).add(reason)

    kept: list[str] = []
    removed: list[RemovedRecipient] = []
    for position, address, indexes in candidates:
        reasons: set[str] = set()
        for index in indexes:
            reasons |= suppressed.get(index.digest, set())
        if reasons:
            strongest = next(
                reason.value for reason in _REASON_PRECEDENCE if reason.value in reasons
            )
            removed.append(RemovedRecipient(position, strongest))
        else:
            kept.append(address)

    counts = Counter(item.reason for item in removed)
    return ScreenResult(
        kept=kept, removed=removed, invalid=invalid, duplicates=duplicates, reasons=dict(counts)
    )
