"""Read active suppression entries as export rows, with the address when it is still known."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlmodel import Session, col, select

from suppression.formats import ExportRow
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope

# Returns the clear addresses the sender still holds for the given digests.
AddressLookup = Callable[[Session, str, Sequence[str]], dict[str, str]]

PAGE_SIZE = 2000


def _erased(session: Session, sender_id: str, digests: Sequence[str]) -> set[str]:
    reasons = [SuppressionReason.ERASED.value, SuppressionReason.OBJECTION.value]
    rows = session.exec(
        select(SuppressionEntry.blind_index).where(
            SuppressionEntry.sender_id == sender_id,
            col(SuppressionEntry.blind_index).in_(list(digests)),
            col(SuppressionEntry.reason).in_(reasons),
            col(SuppressionEntry.lifted_at).is_(None),
        )
    )
    return set(rows)


def export_rows(
    session: Session,
    sender_id: str,
    reasons: Sequence[SuppressionReason] | None,
    addresses: AddressLookup | None,
) -> Iterator[ExportRow]:
    """Yield the sender's active entries ordered by blind index, filtered by reason.

    ``addresses`` fills in the clear address of entries whose contact still
    exists; without it, or for erased subjects, rows are hashed only.
    """
    query = select(SuppressionEntry).where(
        SuppressionEntry.sender_id == sender_id, col(SuppressionEntry.lifted_at).is_(None)
    )
    if reasons:
        query = query.where(col(SuppressionEntry.reason).in_([reason.value for reason in reasons]))
    query = query.order_by(col(SuppressionEntry.blind_index), col(SuppressionEntry.id))

    offset = 0
    while True:
        page = list(session.exec(query.offset(offset).limit(PAGE_SIZE)))
        if not page:
            return
        offset += len(page)
        digests = [entry.blind_index for entry in page]
        known = addresses(session, sender_id, digests) if addresses else {}
        for digest in _erased(session, sender_id, digests):
            # The address of an erased or objecting person is never exported.
            known.pop(digest, None)
        for entry in page:
            yield ExportRow(
                blind_index=entry.blind_index,
                key_version=entry.key_version,
                reason=SuppressionReason(entry.reason),
                created_at=entry.created_at,
                scope=SuppressionScope(entry.scope),
                scope_ref=entry.scope_ref,
                source=entry.source,
                email=known.get(entry.blind_index),
            )
