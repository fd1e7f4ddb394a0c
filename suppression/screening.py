"""Screening of recipient lists: suppression beats everything.

Each address is checked for syntax, normalised, looked up by blind index
under every live key version, and deduplicated. Optional rules remove role
addresses, inactive recipients and recipients without a valid basis.
Screening streams: memory grows with the number of distinct addresses
(8 bytes each for duplicate detection), not with the input size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndex, BlindIndexer
from suppression.campaigns import inactive_indexes
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope
from suppression.syntax import is_valid_address

# Database look-ups go in chunks of this many digests, under SQLite's limit
# on bound parameters.
LOOKUP_CHUNK = 500
BATCH_SIZE = 5000

# Local parts that name a function, not a person (RFC 2142 and common use).
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "compta", "comptabilite", "contact",
        "devnull",
        "dns", "ftp", "help", "hostmaster", "info", "infos", "inoc", "ispfeedback", "ispsupport",
        "list", "list-request", "mailer-daemon", "marketing", "news", "noc", "no-reply", "noreply",
        "null", "office", "postmaster", "privacy", "root", "sales", "secretariat", "security",
        "service", "support", "team", "usenet", "uucp", "webmaster", "www",
    }
)  # fmt: skip

# When an address has several active entries, the reason reported is the
# first in this order: the strongest legal ground first.
REASON_PRECEDENCE = [
    SuppressionReason.COMPLAINT,
    SuppressionReason.ERASED,
    SuppressionReason.OBJECTION,
    SuppressionReason.UNSUBSCRIBE,
    SuppressionReason.HARD_BOUNCE,
    SuppressionReason.SPAM_TRAP,
    SuppressionReason.INVALID_ADDRESS,
    SuppressionReason.MANUAL,
]

INVALID_SYNTAX = "invalid_syntax"
DUPLICATE = "duplicate"
NO_BASIS = "no_basis"
ROLE_ADDRESS = "role_address"
INACTIVE = "inactive"


@dataclass(frozen=True)
class BasisAnswer:
    """The lawful-basis verdict of one recipient, as screening needs it."""

    valid: bool
    # Stable code of the verdict, such as consent_confirmed or casl_implied_expired.
    code: str
    # Warnings on a valid basis, such as imported_without_proof.
    flags: tuple[str, ...] = ()


# Returns a verdict for each digest, among those given, that belongs to a
# known contact; a digest without an answer has no basis.
BasisLookup = Callable[[Session, str, Sequence[str]], Mapping[str, BasisAnswer]]


@dataclass(frozen=True)
class ScreenOptions:
    exclude_role_addresses: bool = False
    exclude_inactive: bool = False
    # None: the basis is not checked. The pre-send orchestration passes the
    # consent package's look-up here.
    basis_lookup: BasisLookup | None = None
    # Also apply entries scoped to these lists (global entries always apply).
    list_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemovedRecipient:
    # Position in the submitted list, so the caller can match it without the
    # response repeating the address.
    position: int
    reason: str
    # For no_basis and basis flags: the lawful-basis verdict code.
    detail: str | None = None


@dataclass
class ScreenBatch:
    kept: list[str] = field(default_factory=list)
    removed: list[RemovedRecipient] = field(default_factory=list)
    # Kept, but worth a look: role addresses and inactive recipients when
    # the options do not exclude them.
    flagged: list[RemovedRecipient] = field(default_factory=list)


@dataclass(frozen=True)
class ScreenResult:
    kept: list[str]
    removed: list[RemovedRecipient]
    flagged: list[RemovedRecipient]
    counts: dict[str, int]


@dataclass
class _Candidate:
    position: int
    address: str
    indexes: list[BlindIndex]


def is_role_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return local.split("+", 1)[0] in ROLE_LOCAL_PARTS


def active_reasons(
    session: Session, sender_id: str, digests: Sequence[str], list_ids: Sequence[str] = ()
) -> dict[str, set[str]]:
    """Return the active suppression reasons per digest (global and the given lists' entries)."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = list(digests[start : start + LOOKUP_CHUNK])
        query = select(
            SuppressionEntry.blind_index,
            SuppressionEntry.reason,
            SuppressionEntry.scope,
            SuppressionEntry.scope_ref,
        ).where(
            SuppressionEntry.sender_id == sender_id,
            col(SuppressionEntry.blind_index).in_(chunk),
            col(SuppressionEntry.lifted_at).is_(None),
        )
        for digest, reason, scope, scope_ref in session.exec(query):
            applies = scope == SuppressionScope.GLOBAL.value or (
                scope == SuppressionScope.LIST.value and scope_ref in list_ids
            )
            if applies:
                found.setdefault(digest, set()).add(reason)
    return found


def strongest_reason(reasons: set[str]) -> str:
    for reason in REASON_PRECEDENCE:
        if reason.value in reasons:
            return reason.value
    return sorted(reasons)[0]


class Screener:
    """Screen a stream of addresses batch by batch, remembering duplicates across batches."""

    def __init__(
        self, session: Session, sender_id: str, indexer: BlindIndexer, options: ScreenOptions
    ) -> None:
        self._session = session
        self._sender_id = sender_id
        self._indexer = indexer
        self._options = options
        # NOTE: duplicates are found by the first 8 bytes of the current-key
        # digest; two distinct addresses share them with odds near 2**-64.
        self._seen: set[int] = set()
        self.counts: Counter[str] = Counter()
        self._position = 0

    def screen_batch(self, addresses: Sequence[str]) -> ScreenBatch:
        batch = ScreenBatch()
        candidates = self._valid_unique(addresses, batch)

        digests = [index.digest for candidate in candidates for index in candidate.indexes]
        suppressed = active_reasons(self._session, self._sender_id, digests, self._options.list_ids)
        current = [candidate.indexes[0].digest for candidate in candidates]
        inactive = (
            inactive_indexes(self._session, self._sender_id, current) if candidates else set()
        )
        with_basis = (
            self._options.basis_lookup(self._session, self._sender_id, digests)
            if self._options.basis_lookup is not None and candidates
            else None
        )

        for candidate in candidates:
            reason = self._removal_reason(candidate, suppressed, inactive, with_basis, batch)
            if reason is None:
                batch.kept.append(candidate.address)
                self.counts["kept"] += 1
            else:
                detail = (
                    self._basis_code(candidate, with_basis)
                    if reason == NO_BASIS and with_basis is not None
                    else None
                )
                batch.removed.append(RemovedRecipient(candidate.position, reason, detail))
                self.counts[reason] += 1
        return batch

    @staticmethod
    def _basis_answer(
        candidate: _Candidate, with_basis: Mapping[str, BasisAnswer]
    ) -> BasisAnswer | None:
        answers = [
            with_basis[index.digest] for index in candidate.indexes if index.digest in with_basis
        ]
        valid = [answer for answer in answers if answer.valid]
        if valid:
            return valid[0]
        return answers[0] if answers else None

    def _basis_code(self, candidate: _Candidate, with_basis: Mapping[str, BasisAnswer]) -> str:
        answer = self._basis_answer(candidate, with_basis)
        # An address with no contact has no record at all.
        return answer.code if answer is not None else "no_contact"

    def _valid_unique(self, addresses: Sequence[str], batch: ScreenBatch) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        for given in addresses:
            position = self._position
            self._position += 1
            # Surrounding spaces are common in exported files and never part of an address.
            address = given.strip()
            if not is_valid_address(address):
                batch.removed.append(RemovedRecipient(position, INVALID_SYNTAX))
                self.counts[INVALID_SYNTAX] += 1
                continue
            try:
                indexes = self._indexer.all_versions(address)
            except AddressError:
                batch.removed.append(RemovedRecipient(position, INVALID_SYNTAX))
                self.counts[INVALID_SYNTAX] += 1
                continue

            fingerprint = int(indexes[0].digest[:16], 16)
            if fingerprint in self._seen:
                batch.removed.append(RemovedRecipient(position, DUPLICATE))
                self.counts[DUPLICATE] += 1
                continue
            self._seen.add(fingerprint)
            candidates.append(_Candidate(position, address, indexes))
        return candidates

    def _removal_reason(
        self,
        candidate: _Candidate,
        suppressed: dict[str, set[str]],
        inactive: set[str],
        with_basis: Mapping[str, BasisAnswer] | None,
        batch: ScreenBatch,
    ) -> str | None:
        reasons: set[str] = set()
        for index in candidate.indexes:
            reasons |= suppressed.get(index.digest, set())
        if reasons:
            return strongest_reason(reasons)

        if with_basis is not None:
            answer = self._basis_answer(candidate, with_basis)
            if answer is None or not answer.valid:
                return NO_BASIS
            for flag in answer.flags:
                batch.flagged.append(RemovedRecipient(candidate.position, "basis_warning", flag))
                self.counts[f"flagged_{flag}"] += 1

        if is_role_address(candidate.address):
            if self._options.exclude_role_addresses:
                return ROLE_ADDRESS
            batch.flagged.append(RemovedRecipient(candidate.position, ROLE_ADDRESS))
            self.counts[f"flagged_{ROLE_ADDRESS}"] += 1

        if candidate.indexes[0].digest in inactive:
            if self._options.exclude_inactive:
                return INACTIVE
            batch.flagged.append(RemovedRecipient(candidate.position, INACTIVE))
            self.counts[f"flagged_{INACTIVE}"] += 1
        return None


def batched(items: Iterable[str], size: int = BATCH_SIZE) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def screen(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    recipients: Sequence[str],
    options: ScreenOptions | None = None,
) -> ScreenResult:
    """Screen a whole list in memory and return the sendable addresses and the removals."""
    screener = Screener(session, sender_id, indexer, options or ScreenOptions())
    kept: list[str] = []
    removed: list[RemovedRecipient] = []
    flagged: list[RemovedRecipient] = []
    for chunk in batched(recipients):
        batch = screener.screen_batch(chunk)
        kept.extend(batch.kept)
        removed.extend(batch.removed)
        flagged.extend(batch.flagged)
    return ScreenResult(kept, removed, flagged, dict(screener.counts))


def recheck_batch(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    addresses: Sequence[str],
    list_ids: tuple[str, ...] = (),
) -> ScreenResult:
    """Re-check a batch right before it is sent, so an opt-out made during a long send applies.

    Only suppression and syntax apply here: the list was screened fully before the send.
    """
    return screen(session, sender_id, indexer, addresses, ScreenOptions(list_ids=list_ids))
