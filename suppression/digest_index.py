"""A compact in-memory index of a sender's suppression digests, for screening at scale.

Screening a million addresses by database look-ups costs thousands of
round trips, and this index replaces them with array searches. It holds,
for each active global or list entry, one 64-bit word: the first 60 bits of
the blind-index digest and a 4-bit code (the reason's rank in
REASON_PRECEDENCE, plus LIST_FLAG for a list-scoped entry). The words are
sorted, so the first word of a digest carries its strongest reason and
global entries come before list entries. Ten million entries take 80 MB,
plus a bucket table of about 4 MB that narrows each search to a few words.

Exactness, across processes: the index is built at one version of the
sender's change counter (suppression.changes). Before each use it reads the
counter. The digests of rows stamped since then are read again in full into
an overlay, keyed by the whole digest, which overrides the words.
A row deleted since the build, or a counter lower than the build's (a
restored database), forces a rebuild. Rows this session wrote and has not
committed yet have no version: they go to an overlay for this screening only,
so a rolled-back write never enters the shared index.

Two digests that share their first 60 bits share a word: the other address
is then reported as suppressed too. The odds are n*m/2**60 for n entries
and m addresses, about 1 in 100,000 for ten million entries and a million
addresses. The error can only keep mail from being sent, never send mail
to a suppressed address.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy import ColumnElement, Connection, Engine, String, case, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from suppression.changes import read_counter
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope

log = structlog.get_logger(__name__)

# When an address has several active entries, the reason reported is the
# first in this order: the strongest legal ground first.
REASON_PRECEDENCE = (
    SuppressionReason.COMPLAINT,
    SuppressionReason.ERASED,
    SuppressionReason.OBJECTION,
    SuppressionReason.UNSUBSCRIBE,
    SuppressionReason.HARD_BOUNCE,
    SuppressionReason.SPAM_TRAP,
    SuppressionReason.INVALID_ADDRESS,
    SuppressionReason.MANUAL,
)
_RANK = {reason.value: rank for rank, reason in enumerate(REASON_PRECEDENCE)}
# A reason outside the list (none exists today) ranks as manual.
_UNKNOWN_RANK = len(REASON_PRECEDENCE) - 1

LIST_FLAG = 0x8
CODE_MASK = np.uint64(0xF)
KEY_MASK = np.uint64(~0xF & 0xFFFF_FFFF_FFFF_FFFF)
NO_ENTRY = -1

# A delta larger than this share of the index rebuilds it instead.
OVERLAY_SHARE = 0.05
MIN_OVERLAY_LIMIT = 50_000
# Memory for the indexes of one process and database: 2 GiB is enough for about
# 240 million entries.
# TODO: make the budget a setting; it is a constant for now.
DEFAULT_MAX_BYTES = 2 << 30
# Rows read per round trip while building.
BUILD_PARTITION = 100_000
LOOKUP_CHUNK = 500

_SCOPES_IN_INDEX = (SuppressionScope.GLOBAL.value, SuppressionScope.LIST.value)

Words = npt.NDArray[np.uint64]
Codes = npt.NDArray[np.int16]


def entry_code(reason: str, scope: str) -> int:
    rank = _RANK.get(reason, _UNKNOWN_RANK)
    return rank | (LIST_FLAG if scope == SuppressionScope.LIST.value else 0)


def reason_of(code: int) -> str:
    return REASON_PRECEDENCE[code & ~LIST_FLAG].value


@dataclass(frozen=True)
class DigestIndex:
    """One sender's active entries at ``version`` of its change counter; never mutated."""

    sender_id: str
    version: int
    words: Words
    # offsets[b] is the first word whose top ``bucket_bits`` bits equal b.
    offsets: npt.NDArray[np.int64]
    bucket_bits: int
    # Binary-search steps that cover the largest bucket.
    depth: int
    # Whole digest -> codes of its active entries, for digests changed since the build.
    overlay: Mapping[bytes, tuple[int, ...]]

    @property
    def entries(self) -> int:
        return int(self.words.size)

    @property
    def size_bytes(self) -> int:
        """Approximate memory of the index: the arrays, and about 200 bytes per overlay item."""
        return int(self.words.nbytes + self.offsets.nbytes) + 200 * len(self.overlay)

    def lookup(
        self, digests: Sequence[bytes], extra: Mapping[bytes, tuple[int, ...]] | None = None
    ) -> Codes:
        """Return the strongest code for each digest, or NO_ENTRY.

        A list entry's code carries LIST_FLAG; the caller decides whether
        the list applies. ``extra`` overrides the overlay for this call.
        """
        codes = self._search(digests)
        for overrides in (self.overlay, extra or {}):
            if not overrides:
                continue
            for position, digest in enumerate(digests):
                found = overrides.get(digest)
                if found is not None:
                    codes[position] = min(found) if found else NO_ENTRY
        return codes

    def _search(self, digests: Sequence[bytes]) -> Codes:
        count = len(digests)
        if count == 0 or self.words.size == 0:
            return np.full(count, NO_ENTRY, dtype=np.int16)

        keys = np.frombuffer(b"".join(digest[:8] for digest in digests), dtype=">u8")
        keys = keys.astype(np.uint64) & KEY_MASK
        bucket = (keys >> np.uint64(64 - self.bucket_bits)).astype(np.int64)
        low = self.offsets[bucket]
        high = self.offsets[bucket + 1]

        # A lower-bound binary search, run for every key at once within its bucket.
        last = self.words.size - 1
        for _ in range(self.depth):
            open_range = low < high
            middle = (low + high) >> 1
            below = open_range & (self.words[np.minimum(middle, last)] < keys)
            low = np.where(below, middle + 1, low)
            high = np.where(open_range & ~below, middle, high)

        word = self.words[np.minimum(low, last)]
        hit = (low <= last) & ((word & KEY_MASK) == keys)
        return np.where(hit, (word & CODE_MASK).astype(np.int16), np.int16(NO_ENTRY))


def _bucket_table(words: Words) -> tuple[npt.NDArray[np.int64], int, int]:
    # About eight words per bucket: a few search steps, and a table of
    # 4 bytes per 2 words at most.
    bits = min(24, max(1, math.floor(math.log2(max(words.size, 2))) - 3))
    starts = np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits)
    offsets = np.empty((1 << bits) + 1, dtype=np.int64)
    offsets[:-1] = np.searchsorted(words, starts, side="left")
    offsets[-1] = words.size
    largest = int(np.max(np.diff(offsets))) if words.size else 0
    depth = max(1, math.ceil(math.log2(largest + 1)))
    return offsets, bits, depth


def _word_column() -> ColumnElement[str]:
    """Build the SQL expression of a row's word: 15 hex digits of the digest, then the code's.

    The database computes it, so that building reads one short string per
    row and converts a whole partition with one bytes.fromhex call.
    """
    is_list = col(SuppressionEntry.scope) == SuppressionScope.LIST.value
    code_digit = case(
        *(
            (
                col(SuppressionEntry.reason) == reason,
                case((is_list, f"{rank | LIST_FLAG:x}"), else_=f"{rank:x}"),
            )
            for reason, rank in _RANK.items()
        ),
        else_=case((is_list, f"{_UNKNOWN_RANK | LIST_FLAG:x}"), else_=f"{_UNKNOWN_RANK:x}"),
    )
    prefix = func.substr(col(SuppressionEntry.blind_index), 1, 15, type_=String)
    return prefix.concat(code_digit)


def build_index(session: Session, sender_id: str) -> DigestIndex:
    """Read the sender's active, committed entries into a new index."""
    # The counter first: every row stamped at or below it is committed
    # already, and rows stamped later are left to the next refresh.
    version, _ = read_counter(session, sender_id)
    statement = (
        core_select(_word_column())
        .where(
            col(SuppressionEntry.sender_id) == sender_id,
            col(SuppressionEntry.lifted_at).is_(None),
            col(SuppressionEntry.scope).in_(_SCOPES_IN_INDEX),
            col(SuppressionEntry.change_version).is_not(None),
            col(SuppressionEntry.change_version) <= version,
        )
        .execution_options(yield_per=BUILD_PARTITION)
    )

    # Through the connection: the ORM's row handling would cost more than the rest.
    parts: list[Words] = []
    for words in session.connection().execute(statement).scalars().partitions():
        parts.append(np.frombuffer(bytes.fromhex("".join(words)), dtype=">u8").astype(np.uint64))
    words_array = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    del parts
    words_array.sort()

    offsets, bits, depth = _bucket_table(words_array)
    return DigestIndex(sender_id, version, words_array, offsets, bits, depth, {})


def _active_codes(
    session: Session, sender_id: str, digests: Sequence[str], *, committed_only: bool
) -> dict[bytes, tuple[int, ...]]:
    """Return the codes of each digest's active entries (an empty tuple for none)."""
    found: dict[bytes, list[int]] = {bytes.fromhex(digest): [] for digest in digests}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = list(digests[start : start + LOOKUP_CHUNK])
        query = select(
            col(SuppressionEntry.blind_index),
            col(SuppressionEntry.reason),
            col(SuppressionEntry.scope),
        ).where(
            SuppressionEntry.sender_id == sender_id,
            col(SuppressionEntry.blind_index).in_(chunk),
            col(SuppressionEntry.lifted_at).is_(None),
            col(SuppressionEntry.scope).in_(_SCOPES_IN_INDEX),
        )
        if committed_only:
            query = query.where(col(SuppressionEntry.change_version).is_not(None))
        for digest, reason, scope in session.exec(query):
            found[bytes.fromhex(digest)].append(entry_code(reason, scope))
    return {digest: tuple(sorted(codes)) for digest, codes in found.items()}


def refresh_index(session: Session, index: DigestIndex) -> DigestIndex:
    """Return the index brought up to the sender's current committed version."""
    version, rebuild_version = read_counter(session, index.sender_id)
    if version == index.version:
        return index
    if version < index.version or rebuild_version > index.version:
        return build_index(session, index.sender_id)

    changed = list(
        session.exec(
            select(col(SuppressionEntry.blind_index))
            .distinct()
            .where(
                col(SuppressionEntry.sender_id) == index.sender_id,
                col(SuppressionEntry.change_version) > index.version,
                col(SuppressionEntry.change_version) <= version,
            )
        )
    )
    limit = max(MIN_OVERLAY_LIMIT, int(index.entries * OVERLAY_SHARE))
    if len(changed) + len(index.overlay) > limit:
        return build_index(session, index.sender_id)

    overlay = dict(index.overlay)
    overlay.update(_active_codes(session, index.sender_id, changed, committed_only=True))
    return replace(index, version=version, overlay=overlay)


def uncommitted_overlay(session: Session, sender_id: str) -> dict[bytes, tuple[int, ...]]:
    """Codes of the digests this session wrote and has not committed (rows with no version)."""
    pending = list(
        session.exec(
            select(col(SuppressionEntry.blind_index))
            .distinct()
            .where(
                col(SuppressionEntry.sender_id) == sender_id,
                col(SuppressionEntry.change_version).is_(None),
            )
        )
    )
    if not pending:
        return {}
    return _active_codes(session, sender_id, pending, committed_only=False)


class DigestIndexCache:
    """The indexes of one database, shared by the threads of a process.

    The least recently used indexes are dropped when their total size passes
    ``max_bytes``; a dropped sender's next large screening builds it again.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._indexes: OrderedDict[str, DigestIndex] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._building: set[str] = set()
        self._guard = threading.Lock()
        self._max_bytes = max_bytes

    def get(self, session: Session, sender_id: str, *, build: bool) -> DigestIndex | None:
        """Return the sender's index, current as of now; build it only when ``build`` is set."""
        with self._guard:
            lock = self._locks.setdefault(sender_id, threading.Lock())
        # One build or refresh per sender at a time; other threads wait for its result.
        with lock:
            index = self._indexes.get(sender_id)
            if index is None:
                if not build:
                    return None
                index = build_index(session, sender_id)
            else:
                index = refresh_index(session, index)
            self._keep(index)
            return index

    def _keep(self, index: DigestIndex) -> None:
        with self._guard:
            self._indexes[index.sender_id] = index
            self._indexes.move_to_end(index.sender_id)
            total = sum(kept.size_bytes for kept in self._indexes.values())
            # The index just stored stays, even alone over the budget.
            while total > self._max_bytes and len(self._indexes) > 1:
                _, dropped = self._indexes.popitem(last=False)
                total -= dropped.size_bytes
                log.info("suppression.index_dropped", sender_id=dropped.sender_id)

    def build_in_background(self, engine: Engine, sender_id: str) -> None:
        """Start building the sender's index in a thread, unless it exists or is being built.

        For a request that should not wait for a build: it screens through
        the database meanwhile, and later screenings find the index warm.
        """
        with self._guard:
            if sender_id in self._indexes or sender_id in self._building:
                return
            self._building.add(sender_id)

        def build() -> None:
            try:
                with Session(engine) as session:
                    index = self.get(session, sender_id, build=True)
                log.info(
                    "suppression.index_built",
                    sender_id=sender_id,
                    entries=index.entries if index is not None else 0,
                )
            except Exception:
                # The screenings keep using the database; the next large one retries.
                log.exception("suppression.index_build_failed", sender_id=sender_id)
            finally:
                with self._guard:
                    self._building.discard(sender_id)

        threading.Thread(target=build, name="suppression-index-build", daemon=True).start()

    def drop(self, sender_ids: Iterable[str] | None = None) -> None:
        """Forget indexes (all of them by default), for tests and memory pressure."""
        with self._guard:
            if sender_ids is None:
                self._indexes.clear()
            else:
                for sender_id in sender_ids:
                    self._indexes.pop(sender_id, None)


_CACHES: weakref.WeakKeyDictionary[Engine, DigestIndexCache] = weakref.WeakKeyDictionary()
_CACHES_GUARD = threading.Lock()


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def cache_for(session: Session) -> DigestIndexCache:
    """Return the index cache of the database the session is bound to."""
    engine = engine_of(session)
    with _CACHES_GUARD:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = DigestIndexCache()
        return cache
