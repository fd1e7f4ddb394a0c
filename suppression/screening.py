"""Screening of recipient lists: suppression beats everything.

Each address is checked for syntax, normalised, looked up by blind index
under every live key version, and deduplicated. Optional rules remove role
addresses, inactive recipients and recipients without a valid basis.
Screening streams: memory grows with the number of distinct addresses
(8 bytes of digest each for duplicate detection), not with the input size.

Suppression is looked up in the database for a short list, and in the
sender's in-memory digest index (suppression.digest_index) once a screening
passes ScreenOptions.index_threshold addresses or when the index is warm
already. The index replaces a round trip per 500 addresses with array
searches, and both paths give the same result.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice

import numpy as np
from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndexer, normalise_address
from suppression.campaigns import INACTIVE_WINDOW, inactive_indexes, inactive_window
from suppression.digest_index import (
    LIST_FLAG,
    NO_ENTRY,
    REASON_PRECEDENCE,
    DigestIndex,
    cache_for,
    engine_of,
    reason_of,
    uncommitted_overlay,
)
from suppression.models import SuppressionEntry, SuppressionScope
from suppression.syntax import fast_normalised, is_valid_address

# Database look-ups go in chunks of this many digests, under SQLite's limit
# on bound parameters.
LOOKUP_CHUNK = 500
BATCH_SIZE = 5000
# A screening that reaches this many addresses builds the sender's digest
# index if no warm one exists. A build reads every entry of the sender, so
# it pays off only for long lists.
INDEX_THRESHOLD = 20_000

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
# Matches a lowercased address whose local part, before any "+tag", is a role.
_ROLE = re.compile(
    "(?:"
    + "|".join(re.escape(part) for part in sorted(ROLE_LOCAL_PARTS))
    + r")(?:\+[^@]*)?@[^@]*\Z"
)

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
    # Addresses after which the screening builds the digest index; None
    # keeps every look-up in the database.
    index_threshold: int | None = INDEX_THRESHOLD
    # Build the index in a thread and keep screening through the database
    # meanwhile: for requests, where a build of millions of entries would
    # hold the response for seconds.
    build_index_in_background: bool = False


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
class _Candidates:
    """The valid, first-seen addresses of a batch, as parallel lists."""

    # Digests per address: one per live key version, newest first.
    versions: int
    positions: list[int] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    normalised: list[str] = field(default_factory=list)
    # Flat: the digests of candidate n are digests[n * versions : (n + 1) * versions].
    digests: list[bytes] = field(default_factory=list)

    def digests_of(self, number: int) -> list[bytes]:
        return self.digests[number * self.versions : (number + 1) * self.versions]

    def hex_digests(self) -> list[list[str]]:
        return [
            [digest.hex() for digest in self.digests_of(number)]
            for number in range(len(self.positions))
        ]


def is_role_address(address: str) -> bool:
    return _ROLE.match(address.lower()) is not None


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
        # The first 8 bytes of each distinct address's current-key digest.
        self._seen: set[int] = set()
        self.counts: Counter[str] = Counter()
        self._position = 0
        self._index: DigestIndex | None = None
        self._uncommitted: dict[bytes, tuple[int, ...]] = {}
        self._index_looked_up = False
        self._window: list[str] | None = None

    @property
    def used_index(self) -> bool:
        """Whether the digest index served at least one batch."""
        return self._index is not None

    def screen_batch(self, addresses: Sequence[str]) -> ScreenBatch:
        batch = ScreenBatch()
        candidates = self._valid_unique(addresses, batch)
        if not candidates.positions:
            return batch

        reasons = self._suppression_reasons(candidates)
        needs_hex = self._options.basis_lookup is not None
        hex_digests = candidates.hex_digests() if needs_hex else []
        inactive = self._inactive(candidates)
        with_basis = (
            self._options.basis_lookup(
                self._session,
                self._sender_id,
                [digest for versions in hex_digests for digest in versions],
            )
            if self._options.basis_lookup is not None
            else None
        )

        # Without a basis check, only suppressed, role and inactive
        # candidates need a look of their own; the rest are kept in bulk.
        count = len(candidates.positions)
        if with_basis is None:
            roles = compress(range(count), map(_ROLE.match, candidates.normalised))
            exceptions: Iterable[int] = sorted(reasons.keys() | inactive | set(roles))
        else:
            exceptions = range(count)

        keep = [True] * count
        for number in exceptions:
            position = candidates.positions[number]
            reason = reasons.get(number)
            detail: str | None = None
            if reason is None and with_basis is not None:
                answer = _basis_answer(hex_digests[number], with_basis)
                if answer is None or not answer.valid:
                    reason = NO_BASIS
                    # An address with no contact has no record at all.
                    detail = answer.code if answer is not None else "no_contact"
                else:
                    for flag in answer.flags:
                        batch.flagged.append(RemovedRecipient(position, "basis_warning", flag))
                        self.counts[f"flagged_{flag}"] += 1
            if reason is None:
                reason = self._flag_or_exclude(number, candidates, inactive, batch)
            if reason is not None:
                keep[number] = False
                batch.removed.append(RemovedRecipient(position, reason, detail))
                self.counts[reason] += 1

        batch.kept = list(compress(candidates.addresses, keep))
        self._count("kept", len(batch.kept))
        return batch

    def _count(self, key: str, number: int) -> None:
        # The API's counts carry no key for a reason with a count of zero.
        if number:
            self.counts[key] += number

    def _valid_unique(self, addresses: Sequence[str], batch: ScreenBatch) -> _Candidates:
        # Three tight loops (syntax, hashing, duplicates): on a million
        # addresses each Python step saved per address is a tenth of a second.
        valid_positions: list[int] = []
        valid_addresses: list[str] = []
        normalised: list[str] = []
        invalid: list[int] = []
        position = self._position
        for given in addresses:
            # Surrounding spaces are common in exported files and never part of an address.
            address = given.strip()
            form = fast_normalised(address)
            if form is None:
                form = _slow_normalised(address)
            if form is None:
                invalid.append(position)
            else:
                valid_positions.append(position)
                valid_addresses.append(address)
                normalised.append(form)
            position += 1
        self._position = position

        candidates = _Candidates(self._indexer.version_count)
        digests = self._indexer.raw_digests_many(normalised)
        versions = candidates.versions
        # NOTE: duplicates are found by the first 8 bytes of the current-key
        # digest; two distinct addresses share them with odds near 2**-64.
        current = b"".join(digests[::versions])
        fingerprints: list[int] = (
            np.frombuffer(current, dtype=">u8").reshape(-1, 4)[:, 0].tolist() if current else []
        )
        duplicates: list[int] = []
        distinct = set(fingerprints)
        if len(distinct) == len(fingerprints) and self._seen.isdisjoint(distinct):
            # The usual batch: no duplicate at all, checked in C.
            self._seen |= distinct
            candidates.positions = valid_positions
            candidates.addresses = valid_addresses
            candidates.normalised = normalised
            candidates.digests = digests
        else:
            for number, fingerprint in enumerate(fingerprints):
                if fingerprint in self._seen:
                    duplicates.append(valid_positions[number])
                    continue
                self._seen.add(fingerprint)
                candidates.positions.append(valid_positions[number])
                candidates.addresses.append(valid_addresses[number])
                candidates.normalised.append(normalised[number])
                candidates.digests.extend(digests[number * versions : (number + 1) * versions])

        # Removals are reported in input order.
        self._count(INVALID_SYNTAX, len(invalid))
        self._count(DUPLICATE, len(duplicates))
        invalid_positions = set(invalid)
        batch.removed.extend(
            RemovedRecipient(
                position, INVALID_SYNTAX if position in invalid_positions else DUPLICATE
            )
            for position in sorted(invalid + duplicates)
        )
        return candidates

    def _suppression_reasons(self, candidates: _Candidates) -> dict[int, str]:
        """Return the strongest applying reason of each suppressed candidate, by number."""
        index = self._digest_index()
        if index is None:
            numbers = range(len(candidates.positions))
            every = self._reasons_from_database(numbers, candidates)
            return {
                number: reason
                for number, reason in zip(numbers, every, strict=True)
                if reason is not None
            }

        versions = candidates.versions
        codes = index.lookup(candidates.digests, self._uncommitted)
        reasons: dict[int, str] = {}
        confirm: list[int] = []
        for flat_position in np.flatnonzero(codes != NO_ENTRY).tolist():
            number = flat_position // versions
            code = int(codes[flat_position])
            if self._options.list_ids:
                # The index cannot tell which list an entry belongs to, nor
                # compare a list entry's reason with a global one.
                confirm.append(number)
            elif not code & LIST_FLAG:
                current = reasons.get(number)
                reason = reason_of(code)
                reasons[number] = reason if current is None else strongest_reason({current, reason})
        if confirm:
            to_confirm = sorted(set(confirm))
            confirmed = self._reasons_from_database(to_confirm, candidates)
            for number, found in zip(to_confirm, confirmed, strict=True):
                if found is None:
                    reasons.pop(number, None)
                else:
                    reasons[number] = found
        return reasons

    def _reasons_from_database(
        self, numbers: Iterable[int], candidates: _Candidates
    ) -> list[str | None]:
        chosen = [[digest.hex() for digest in candidates.digests_of(number)] for number in numbers]
        found = active_reasons(
            self._session,
            self._sender_id,
            [digest for versions in chosen for digest in versions],
            self._options.list_ids,
        )
        reasons: list[str | None] = []
        for versions in chosen:
            applying: set[str] = set()
            for digest in versions:
                applying |= found.get(digest, set())
            reasons.append(strongest_reason(applying) if applying else None)
        return reasons

    def _digest_index(self) -> DigestIndex | None:
        threshold = self._options.index_threshold
        if threshold is None:
            return None
        if self._index is not None:
            return self._index

        # A warm index is used at once; a cold one is built only for a large screening.
        cache = cache_for(self._session)
        build = self._position >= threshold
        if build and self._options.build_index_in_background:
            cache.build_in_background(engine_of(self._session), self._sender_id)
            build = False
        elif self._index_looked_up and not build:
            return None
        self._index_looked_up = True
        self._index = cache.get(self._session, self._sender_id, build=build)
        if self._index is not None:
            self._uncommitted = uncommitted_overlay(self._session, self._sender_id)
        return self._index

    def _inactive(self, candidates: _Candidates) -> set[int]:
        """Return the candidate numbers with no open or click in the last campaigns."""
        if self._window is None:
            self._window = inactive_window(self._session, self._sender_id)
        if len(self._window) < INACTIVE_WINDOW:
            return set()
        current = [digest.hex() for digest in candidates.digests[:: candidates.versions]]
        found = inactive_indexes(self._session, self._sender_id, current, self._window)
        return {number for number, digest in enumerate(current) if digest in found}

    def _flag_or_exclude(
        self, number: int, candidates: _Candidates, inactive: set[int], batch: ScreenBatch
    ) -> str | None:
        position = candidates.positions[number]
        if _ROLE.match(candidates.normalised[number]) is not None:
            if self._options.exclude_role_addresses:
                return ROLE_ADDRESS
            batch.flagged.append(RemovedRecipient(position, ROLE_ADDRESS))
            self.counts[f"flagged_{ROLE_ADDRESS}"] += 1

        if number in inactive:
            if self._options.exclude_inactive:
                return INACTIVE
            batch.flagged.append(RemovedRecipient(position, INACTIVE))
            self.counts[f"flagged_{INACTIVE}"] += 1
        return None


def _slow_normalised(address: str) -> str | None:
    """Validate and normalise an address off the fast path; None when it is not valid."""
    if not is_valid_address(address):
        return None
    try:
        return normalise_address(address)
    except AddressError:
        return None


def _basis_answer(
    digests: Sequence[str], with_basis: Mapping[str, BasisAnswer]
) -> BasisAnswer | None:
    answers = [with_basis[digest] for digest in digests if digest in with_basis]
    valid = [answer for answer in answers if answer.valid]
    if valid:
        return valid[0]
    return answers[0] if answers else None


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
