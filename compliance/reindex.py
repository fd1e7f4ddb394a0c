"""Re-index stored blind indexes under the current key version, where the address is known.

After an operator adds a blind-index key version, new rows use it while
older rows keep their version, which screening still computes. This moves
the older rows of every address that can still be read (a contact with its
encrypted address and data key) to the current version, so that the old
version can later be retired.

Rows known only by their blind index (a suppression list imported as
hashes, the entries of an erased contact) cannot be moved: they keep
matching while their version stays in SENDGUARD_BLIND_INDEX_KEYS.

Each batch of contacts is one transaction. A run is idempotent: rows
already under the current version are left alone. After an interruption,
a new run, from the start or from the last contact id printed, finishes the
work.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core.blind_index import BlindIndex, BlindIndexer
from compliance.core.keystore import KeyStore
from consent.reindex import (
    KnownAddress,
    count_contacts_by_version,
    read_contact_batch,
    reindex_contacts,
)
from dsr.reindex import count_requests_by_version, reindex_requests
from suppression.reindex import (
    count_bounce_events_by_version,
    count_entries_by_version,
    reindex_suppression,
)

log = structlog.get_logger(__name__)

# The tables that store a blind index, in the order they are reported.
TABLES = (
    "contacts",
    "suppression_entries",
    "bounce_events",
    "delivery_events",
    "data_subject_requests",
)


@dataclass
class ReindexSummary:
    current_version: int
    batches: int = 0
    contacts_read: int = 0
    # Contacts whose address could not be decrypted. Their rows keep their version.
    unreadable: int = 0
    # Contacts left under an old version because another contact has the new index.
    conflicts: int = 0
    # Table name -> rows moved to the current version, by the version they had.
    moved: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # The last contact id handled: a run started after it resumes the work.
    last_contact_id: str | None = None
    # False when the run stopped at max_batches before reading every contact.
    finished: bool = False


def reindex_blind_indexes(
    engine: Engine,
    keystore: KeyStore,
    indexer: BlindIndexer,
    *,
    batch_size: int,
    after: str | None = None,
    max_batches: int | None = None,
    on_batch: Callable[[ReindexSummary], None] | None = None,
) -> ReindexSummary:
    """Move every known address's rows to the current version, one transaction per batch.

    ``after`` starts after that contact id; ``max_batches`` stops early, and
    ``on_batch`` is called after each committed batch.

    :raises ValueError: when ``batch_size`` or ``max_batches`` is below 1.
    """
    if batch_size < 1 or (max_batches is not None and max_batches < 1):
        raise ValueError("batch_size and max_batches must be at least 1")
    summary = ReindexSummary(current_version=max(indexer.versions), last_contact_id=after)
    if len(indexer.versions) == 1:
        # One live version: every row that can still match is under it.
        summary.finished = True
        return summary

    while max_batches is None or summary.batches < max_batches:
        with Session(engine, expire_on_commit=False) as session:
            batch = read_contact_batch(
                session, keystore, indexer, after=summary.last_contact_id, limit=batch_size
            )
            if not batch.contact_ids:
                summary.finished = True
                break
            _rewrite_batch(session, batch.addresses, summary)
            session.commit()

        summary.batches += 1
        summary.contacts_read += len(batch.contact_ids)
        summary.unreadable += batch.unreadable
        summary.last_contact_id = batch.contact_ids[-1]
        log.info(
            "keys.reindex_batch",
            batch=summary.batches,
            contacts=len(batch.contact_ids),
            last_contact_id=summary.last_contact_id,
        )
        if on_batch is not None:
            on_batch(summary)
        if len(batch.contact_ids) < batch_size:
            summary.finished = True
            break
    return summary


def _rewrite_batch(
    session: Session, addresses: tuple[KnownAddress, ...], summary: ReindexSummary
) -> None:
    contacts = reindex_contacts(session, addresses)
    summary.moved["contacts"].update(contacts.moved)
    summary.conflicts += contacts.conflicts

    # Every older index of an address points at its current one, whatever
    # version the contact row had: rows written under an old version after
    # the contact itself moved are found too.
    rewrites: dict[str, dict[BlindIndex, BlindIndex]] = defaultdict(dict)
    for address in addresses:
        for old in address.previous:
            rewrites[address.sender_id][old] = address.current

    for sender_id in sorted(rewrites):
        suppression = reindex_suppression(session, sender_id, rewrites[sender_id])
        summary.moved["suppression_entries"].update(suppression.entries)
        summary.moved["bounce_events"].update(suppression.bounce_events)
        summary.moved["delivery_events"].update(suppression.delivery_events)
        summary.moved["data_subject_requests"].update(
            reindex_requests(session, sender_id, rewrites[sender_id])
        )


def count_rows_by_version(engine: Engine) -> dict[str, dict[int, int]]:
    """Count the rows of each table that records a key version, by version.

    Delivery events store no version and are not counted.
    """
    with Session(engine) as session:
        return {
            "contacts": count_contacts_by_version(session),
            "suppression_entries": count_entries_by_version(session),
            "bounce_events": count_bounce_events_by_version(session),
            "data_subject_requests": count_requests_by_version(session),
        }
