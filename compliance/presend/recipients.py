"""The recipients part of the pre-send check: screen the list and report counts.

Screening is the suppression package's Screener with the consent package's
lawful-basis look-up. On top of it, US-06 dates each recipient's opt-out:
CAN-SPAM allows 10 business days to honour it (15 U.S.C. 7704(a)(4)(A)).
Findings give counts and positions in the submitted list, never addresses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndexer
from compliance.presend.business_days import add_us_business_days
from consent.evidence import digests_with_basis
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope
from suppression.screening import (
    LOOKUP_CHUNK,
    NO_BASIS,
    Screener,
    ScreenOptions,
    batched,
)

# CAN-SPAM: an opt-out takes effect at the latest 10 business days after the request.
OPT_OUT_BUSINESS_DAYS = 10
SUPPRESSION_REASONS = frozenset(reason.value for reason in SuppressionReason)


@dataclass
class RecipientScreening:
    """The outcome of screening one recipient list: counts and positions, no address."""

    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    # Positions in the submitted list, by removal or flag reason.
    positions: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Recipients without a valid basis, by lawful-basis verdict code.
    basis_codes: Counter[str] = field(default_factory=Counter)
    # Recipients with a valid basis that carries a warning, by flag.
    basis_flags: Counter[str] = field(default_factory=Counter)
    # Positions of recipients whose oldest active unsubscribe entry is past
    # the 10-business-day limit at the send date, and of those still within it.
    opt_outs_overdue: list[int] = field(default_factory=list)
    opt_outs_recent: list[int] = field(default_factory=list)


def oldest_opt_outs(
    session: Session, sender_id: str, digests: Sequence[str], list_ids: Sequence[str]
) -> dict[str, datetime]:
    """Return the date of the oldest active unsubscribe entry per digest that has one."""
    oldest: dict[str, datetime] = {}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = list(digests[start : start + LOOKUP_CHUNK])
        rows = session.exec(
            select(
                SuppressionEntry.blind_index,
                SuppressionEntry.created_at,
                SuppressionEntry.scope,
                SuppressionEntry.scope_ref,
            ).where(
                SuppressionEntry.sender_id == sender_id,
                SuppressionEntry.reason == SuppressionReason.UNSUBSCRIBE.value,
                col(SuppressionEntry.blind_index).in_(chunk),
                col(SuppressionEntry.lifted_at).is_(None),
            )
        )
        for digest, created_at, scope, scope_ref in rows:
            applies = scope == SuppressionScope.GLOBAL.value or (
                scope == SuppressionScope.LIST.value and scope_ref in list_ids
            )
            if applies and (digest not in oldest or created_at < oldest[digest]):
                oldest[digest] = created_at
    return oldest


def _date_opt_outs(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    suppressed: dict[int, str],
    list_ids: Sequence[str],
    send_at: datetime,
    result: RecipientScreening,
) -> None:
    digests_by_position: dict[int, list[str]] = {}
    for position, address in suppressed.items():
        try:
            digests_by_position[position] = [
                index.digest for index in indexer.all_versions(address.strip())
            ]
        except AddressError:
            continue
    all_digests = [digest for digests in digests_by_position.values() for digest in digests]
    oldest = oldest_opt_outs(session, sender_id, all_digests, list_ids)

    # NOTE: days are counted in UTC; a sender in another time zone may see
    # the limit fall one calendar day earlier or later.
    send_day = send_at.astimezone(UTC).date()
    for position, digests in sorted(digests_by_position.items()):
        dates = [oldest[digest] for digest in digests if digest in oldest]
        if not dates:
            continue
        deadline = add_us_business_days(min(dates).astimezone(UTC).date(), OPT_OUT_BUSINESS_DAYS)
        if send_day > deadline:
            result.opt_outs_overdue.append(position)
        else:
            result.opt_outs_recent.append(position)


def screen_for_check(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    recipients: Sequence[str],
    list_ids: Sequence[str],
    send_at: datetime,
) -> RecipientScreening:
    """Screen ``recipients`` batch by batch as a send would, and date their opt-outs.

    Entries scoped to ``list_ids`` apply as well as global ones. The lawful
    basis is judged now, not at ``send_at``.
    """
    # TODO: judge the lawful basis at send_at; digests_with_basis judges at the current time.
    options = ScreenOptions(basis_lookup=digests_with_basis, list_ids=tuple(list_ids))
    screener = Screener(session, sender_id, indexer, options)
    result = RecipientScreening()
    offset = 0
    for chunk in batched(recipients):
        batch = screener.screen_batch(chunk)
        suppressed: dict[int, str] = {}
        for removed in batch.removed:
            result.positions[removed.reason].append(removed.position)
            if removed.reason == NO_BASIS:
                result.basis_codes[removed.detail or "no_contact"] += 1
            if removed.reason in SUPPRESSION_REASONS:
                suppressed[removed.position] = chunk[removed.position - offset]
        for flagged in batch.flagged:
            result.positions[f"flagged_{flagged.reason}"].append(flagged.position)
            if flagged.detail is not None:
                result.basis_flags[flagged.detail] += 1
        _date_opt_outs(session, sender_id, indexer, suppressed, list_ids, send_at, result)
        offset += len(chunk)
    result.total = offset
    result.counts = Counter(screener.counts)
    return result
