"""The recipients part of the pre-send check: screen the list and report counts.

Screening is the suppression package's Screener with the consent package's
lawful-basis look-up, judged at the planned send time. On top of it, US-06
dates each recipient's opt-out: CAN-SPAM allows 10 business days to honour
it (15 U.S.C. 7704(a)(4)(A)). The countries of the recipients kept tell the
content checks whether CASL applies. Findings give counts and positions in
the submitted list, never addresses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndexer
from compliance.core.settings import Settings
from compliance.presend.business_days import add_us_business_days
from consent.evidence import digests_with_basis
from consent.models import Contact
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope
from suppression.screening import (
    INDEX_THRESHOLD,
    LOOKUP_CHUNK,
    NO_BASIS,
    Screener,
    ScreenOptions,
    batched,
)

# CAN-SPAM: an opt-out takes effect at the latest 10 business days after the request.
OPT_OUT_BUSINESS_DAYS = 10
SUPPRESSION_REASONS = frozenset(reason.value for reason in SuppressionReason)


def index_threshold(settings: Settings) -> int | None:
    """Return the screening options' index threshold for requests; None turns the index off."""
    return settings.screen_index_threshold or None


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
    # Kept recipients by the country of their contact record, and how many
    # kept recipients have no contact or no country on record.
    countries: Counter[str] = field(default_factory=Counter)
    countries_unknown: int = 0
    # False when the recipients are list members: their positions in the
    # member stream mean nothing to the caller, so findings omit them.
    positions_shown: bool = True
    # For list members: the number of lists, and members whose address
    # could not be read (erased contacts), which are not screened.
    list_count: int = 0
    members_unreadable: int = 0

    def recipient_countries(self) -> frozenset[str] | None:
        """Return the countries of the kept recipients, or None when some are unknown.

        A known Canadian recipient is enough for CASL, so the set is
        returned with CA in it even when other countries are unknown.
        """
        known = frozenset(self.countries)
        if self.countries_unknown and "CA" not in known:
            return None
        return known


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


def _count_countries(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    kept: Sequence[str],
    result: RecipientScreening,
) -> None:
    owner: dict[str, int] = {}
    for position, address in enumerate(kept):
        for index in indexer.all_versions(address.strip()):
            owner[index.digest] = position
    countries: dict[int, str | None] = {}
    digests = list(owner)
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = digests[start : start + LOOKUP_CHUNK]
        rows = session.exec(
            select(Contact.email_index, Contact.country).where(
                Contact.sender_id == sender_id, col(Contact.email_index).in_(chunk)
            )
        )
        for digest, country in rows:
            if digest is not None:
                countries[owner[digest]] = country or countries.get(owner[digest])
    for position in range(len(kept)):
        country = countries.get(position)
        if country:
            result.countries[country.upper()] += 1
        else:
            result.countries_unknown += 1


def screen_for_check(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    recipients: Iterable[str],
    list_ids: Sequence[str],
    send_at: datetime,
    *,
    positions_shown: bool = True,
    index_threshold: int | None = INDEX_THRESHOLD,
) -> RecipientScreening:
    """Screen ``recipients`` batch by batch as a send would, and date their opt-outs.

    ``recipients`` may be a stream: it is read one batch at a time. Entries
    scoped to ``list_ids`` apply as well as global ones. The lawful basis
    is judged at ``send_at``, so an implied consent that expires before the
    send removes the recipient.
    """
    basis_lookup = partial(digests_with_basis, at=send_at)
    options = ScreenOptions(
        basis_lookup=basis_lookup,
        list_ids=tuple(list_ids),
        index_threshold=index_threshold,
        build_index_in_background=True,
    )
    screener = Screener(session, sender_id, indexer, options)
    result = RecipientScreening(positions_shown=positions_shown)
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
        _count_countries(session, sender_id, indexer, batch.kept, result)
        offset += len(chunk)
    result.total = offset
    result.counts = Counter(screener.counts)
    return result
