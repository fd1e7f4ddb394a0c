"""Suppression rows under a blind-index key rotation: rewrite known addresses to the new version.

The caller knows the addresses and passes, for each, its index under an old
version and under the current one. Entries are changed through the ORM, so
suppression.changes stamps them and warm screening indexes learn the new
digest. Only ``blind_index`` and ``key_version`` change: reason, scope,
source, event reference, dates and lifting stay as they were, so a
re-index can neither lift nor weaken a suppression.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from compliance.core.blind_index import BlindIndex
from suppression.models import BounceEvent, DeliveryEvent, SuppressionEntry

_BOUNCES = BounceEvent.__table__  # type: ignore[attr-defined]
_DELIVERIES = DeliveryEvent.__table__  # type: ignore[attr-defined]


@dataclass
class SuppressionRewrite:
    """Rows moved to the current version, by the version they had."""

    entries: Counter[int] = field(default_factory=Counter)
    bounce_events: Counter[int] = field(default_factory=Counter)
    # Delivery events store no key version: counted under the old index's version.
    delivery_events: Counter[int] = field(default_factory=Counter)


def reindex_suppression(
    session: Session, sender_id: str, rewrites: Mapping[BlindIndex, BlindIndex]
) -> SuppressionRewrite:
    """Rewrite the sender's rows stored under each old index to its new index, and flush.

    When the address already has an entry under the new version with the
    same reason and scope, both rows stay active: each keeps its own
    history, and screening reports the strongest reason of all the
    address's entries (suppression.digest_index.REASON_PRECEDENCE) as before.
    """
    result = SuppressionRewrite()
    for old, new in rewrites.items():
        if old.version == new.version:
            continue
        result.entries[old.version] += _rewrite_entries(session, sender_id, old, new)
        result.bounce_events[old.version] += _rewrite_bounces(session, sender_id, old, new)
        result.delivery_events[old.version] += _rewrite_deliveries(session, sender_id, old, new)
    session.flush()
    return result


def _rewrite_entries(session: Session, sender_id: str, old: BlindIndex, new: BlindIndex) -> int:
    entries = session.exec(
        select(SuppressionEntry).where(
            SuppressionEntry.sender_id == sender_id,
            SuppressionEntry.key_version == old.version,
            SuppressionEntry.blind_index == old.digest,
        )
    ).all()
    # Through the session, never a bulk UPDATE: change tracking must see each row.
    for entry in entries:
        entry.blind_index = new.digest
        entry.key_version = new.version
        session.add(entry)
    return len(entries)


def _rewrite_bounces(session: Session, sender_id: str, old: BlindIndex, new: BlindIndex) -> int:
    result = session.connection().execute(
        update(_BOUNCES)
        .where(
            _BOUNCES.c.sender_id == sender_id,
            _BOUNCES.c.key_version == old.version,
            _BOUNCES.c.blind_index == old.digest,
        )
        .values(blind_index=new.digest, key_version=new.version)
    )
    return int(result.rowcount)


def _rewrite_deliveries(session: Session, sender_id: str, old: BlindIndex, new: BlindIndex) -> int:
    result = session.connection().execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.sender_id == sender_id, _DELIVERIES.c.blind_index == old.digest)
        .values(blind_index=new.digest)
    )
    return int(result.rowcount)


def count_entries_by_version(session: Session) -> dict[int, int]:
    """Count suppression entries, lifted ones included, by key version."""
    rows = session.exec(
        select(SuppressionEntry.key_version, func.count()).group_by(
            col(SuppressionEntry.key_version)
        )
    ).all()
    return {int(version): int(count) for version, count in rows}


def count_bounce_events_by_version(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(BounceEvent.key_version, func.count()).group_by(col(BounceEvent.key_version))
    ).all()
    return {int(version): int(count) for version, count in rows}
