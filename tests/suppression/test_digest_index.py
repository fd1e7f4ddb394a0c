"""The in-memory digest index returns what the database returns, whatever changed since."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import KeyRing
from compliance.core.tenants import create_sender
from suppression.changes import UntrackedSuppressionWrite, read_counter
from suppression.digest_index import (
    LIST_FLAG,
    NO_ENTRY,
    DigestIndex,
    DigestIndexCache,
    _bucket_table,
    build_index,
    cache_for,
    entry_code,
)
from suppression.formats.build import address_record
from suppression.imports import ImportOptions, import_records
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope
from suppression.screening import Screener, ScreenOptions, screen
from tests.support.database import DatabaseUrls

KEYS = KeyRing(b"m" * 32, b"t" * 32, {1: b"a" * 32, 2: b"b" * 32})
INDEXER = BlindIndexer(KEYS)
# The index path from the first address, and the database path only.
WITH_INDEX = ScreenOptions(index_threshold=0)
WITHOUT_INDEX = ScreenOptions(index_threshold=None)


@pytest.fixture
def engine(database_urls: DatabaseUrls) -> Iterator[Engine]:
    engine = make_engine(database_urls.database)
    yield engine
    engine.dispose()


@pytest.fixture
def sender_id(engine: Engine) -> str:
    with Session(engine) as session:
        sender = create_sender(session, "Index test")
        session.commit()
        return sender.id


def suppress(
    session: Session,
    sender_id: str,
    address: str,
    reason: SuppressionReason = SuppressionReason.UNSUBSCRIBE,
    *,
    version: int = 2,
    scope: SuppressionScope = SuppressionScope.GLOBAL,
    scope_ref: str = "",
) -> SuppressionEntry:
    index = next(item for item in INDEXER.all_versions(address) if item.version == version)
    entry = SuppressionEntry(
        sender_id=sender_id,
        blind_index=index.digest,
        key_version=version,
        reason=reason.value,
        source="test",
        scope=scope.value,
        scope_ref=scope_ref,
    )
    session.add(entry)
    session.flush()
    return entry


def outcome(
    engine: Engine, sender_id: str, recipients: list[str], options: ScreenOptions
) -> object:
    with Session(engine) as session:
        result = screen(session, sender_id, INDEXER, recipients, options)
    return (result.kept, result.removed, result.counts)


def test_index_matches_database_for_all_entries(engine: Engine, sender_id: str) -> None:
    with Session(engine) as session:
        suppress(session, sender_id, "unsub@example.org")
        suppress(session, sender_id, "both@example.org")
        suppress(session, sender_id, "both@example.org", SuppressionReason.COMPLAINT)
        suppress(
            session, sender_id, "old-key@example.org", SuppressionReason.HARD_BOUNCE, version=1
        )
        suppress(
            session,
            sender_id,
            "listed@example.org",
            scope=SuppressionScope.LIST,
            scope_ref="list-a",
        )
        suppress(
            session, sender_id, "topic@example.org", scope=SuppressionScope.TOPIC, scope_ref="t1"
        )
        lifted = suppress(session, sender_id, "lifted@example.org")
        lifted.lifted_at = lifted.created_at
        session.add(lifted)
        session.commit()
    recipients = [
        "unsub@example.org",
        "Both@Example.org",
        "old-key@example.org",
        "listed@example.org",
        "topic@example.org",
        "lifted@example.org",
        "fresh@example.org",
        "not an address",
        "fresh@example.org",
    ]

    for lists in ((), ("list-a",), ("list-b",)):
        database = outcome(
            engine, sender_id, recipients, ScreenOptions(index_threshold=None, list_ids=lists)
        )
        indexed = outcome(
            engine, sender_id, recipients, ScreenOptions(index_threshold=0, list_ids=lists)
        )
        assert indexed == database

    kept, removed, _ = outcome(engine, sender_id, recipients, WITH_INDEX)  # type: ignore[misc]
    assert kept == [
        "listed@example.org",
        "topic@example.org",
        "lifted@example.org",
        "fresh@example.org",
    ]
    assert {(item.position, item.reason) for item in removed} == {
        (0, "unsubscribe"),
        (1, "complaint"),
        (2, "hard_bounce"),
        (7, "invalid_syntax"),
        (8, "duplicate"),
    }


def test_warm_index_learns_commits_made_after_its_build(engine: Engine, sender_id: str) -> None:
    recipients = ["late@example.org", "lifted-later@example.org"]
    with Session(engine) as session:
        entry = suppress(session, sender_id, "lifted-later@example.org")
        session.commit()
        entry_id = entry.id
    assert outcome(engine, sender_id, recipients, WITH_INDEX)[0] == ["late@example.org"]  # type: ignore[index]

    with Session(engine) as session:
        suppress(session, sender_id, "late@example.org", SuppressionReason.COMPLAINT)
        lifted = session.get(SuppressionEntry, entry_id)
        assert lifted is not None
        lifted.lifted_at = lifted.created_at
        session.add(lifted)
        session.commit()

    with Session(engine) as session:
        screener = Screener(session, sender_id, INDEXER, WITH_INDEX)
        batch = screener.screen_batch(recipients)
        assert screener.used_index
        index = cache_for(session).get(session, sender_id, build=False)
    assert batch.kept == ["lifted-later@example.org"]
    assert [item.reason for item in batch.removed] == ["complaint"]
    # The change came as a delta, not as a rebuild.
    assert index is not None and len(index.overlay) == 2


def test_uncommitted_writes_count_for_their_session_only(engine: Engine, sender_id: str) -> None:
    recipients = ["pending@example.org"]
    assert outcome(engine, sender_id, recipients, WITH_INDEX)[0] == recipients  # type: ignore[index]

    with Session(engine) as session:
        suppress(session, sender_id, "pending@example.org")
        inside = screen(session, sender_id, INDEXER, recipients, WITH_INDEX)
        session.rollback()

    assert inside.kept == []
    assert outcome(engine, sender_id, recipients, WITH_INDEX)[0] == recipients  # type: ignore[index]


def test_deleted_row_rebuilds_the_index(engine: Engine, sender_id: str) -> None:
    with Session(engine) as session:
        entry = suppress(session, sender_id, "gone@example.org")
        session.commit()
        entry_id = entry.id
    assert outcome(engine, sender_id, ["gone@example.org"], WITH_INDEX)[0] == []  # type: ignore[index]

    with Session(engine) as session:
        session.delete(session.get(SuppressionEntry, entry_id))
        session.commit()
        version, rebuild_version = read_counter(session, sender_id)

    assert rebuild_version == version
    assert outcome(engine, sender_id, ["gone@example.org"], WITH_INDEX)[0] == ["gone@example.org"]  # type: ignore[index]


def test_bulk_update_of_entries_is_refused(engine: Engine, sender_id: str) -> None:
    with Session(engine) as session:
        suppress(session, sender_id, "bulk@example.org")
        session.commit()
        with pytest.raises(UntrackedSuppressionWrite, match="load the entries"):
            session.execute(
                update(SuppressionEntry)
                .where(col(SuppressionEntry.sender_id) == sender_id)
                .values(lifted_by="nobody")
            )


def test_every_committed_row_is_stamped_in_commit_order(engine: Engine, sender_id: str) -> None:
    for number in range(3):
        with Session(engine) as session:
            suppress(session, sender_id, f"reader{number}@example.org")
            suppress(session, sender_id, f"other{number}@example.org")
            session.commit()

    with Session(engine) as session:
        rows = session.exec(
            select(SuppressionEntry.change_version).where(SuppressionEntry.sender_id == sender_id)
        ).all()
        version, _ = read_counter(session, sender_id)
    assert sorted(rows) == [1, 1, 2, 2, 3, 3]
    assert version == 3


def test_screening_never_keeps_an_acknowledged_unsubscribe(engine: Engine, sender_id: str) -> None:
    # A writer commits unsubscribes while readers screen with the warm index;
    # every address acknowledged before a screening starts must be removed by it.
    addresses = [f"reader{number}@example.org" for number in range(120)]
    acknowledged: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []

    def writer() -> None:
        for address in addresses:
            with Session(engine) as session:
                suppress(session, sender_id, address)
                session.commit()
            with lock:
                acknowledged.append(address)

    def reader() -> None:
        while True:
            with lock:
                before = list(acknowledged)
            with Session(engine) as session:
                kept = set(screen(session, sender_id, INDEXER, addresses, WITH_INDEX).kept)
            failures.extend(address for address in before if address in kept)
            if len(before) == len(addresses):
                return

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def synthetic(words: list[int], overlay: dict[bytes, tuple[int, ...]] | None = None) -> DigestIndex:
    array = np.array(sorted(words), dtype=np.uint64)
    offsets, bits, depth = _bucket_table(array)
    return DigestIndex("s", 1, array, offsets, bits, depth, overlay or {})


def digest(prefix: int, tail: bytes) -> bytes:
    return prefix.to_bytes(8, "big") + tail.ljust(24, b"\0")


def test_lookup_returns_strongest_global_code() -> None:
    shared = 0x1234_5678_9ABC_DEF0
    unsubscribe = entry_code(SuppressionReason.UNSUBSCRIBE.value, "global")
    complaint_on_list = entry_code(SuppressionReason.COMPLAINT.value, "list")
    index = synthetic([shared | unsubscribe, shared | complaint_on_list, 0x10 | unsubscribe])

    codes = index.lookup([digest(shared, b"a"), digest(0x10, b""), digest(0x20, b"")])

    assert codes.tolist() == [unsubscribe, unsubscribe, NO_ENTRY]
    assert complaint_on_list & LIST_FLAG


def test_overlay_keeps_colliding_digest_suppressed() -> None:
    # Two digests with the same first 60 bits share a word; lifting one of
    # them must leave the other suppressed.
    shared = 0xAAAA_BBBB_CCCC_DDD0
    unsubscribe = entry_code(SuppressionReason.UNSUBSCRIBE.value, "global")
    lifted, other = digest(shared, b"lifted"), digest(shared, b"other")
    index = synthetic([shared | unsubscribe], overlay={lifted: ()})

    assert index.lookup([lifted, other]).tolist() == [NO_ENTRY, unsubscribe]


def test_lookup_matches_a_sorted_search_on_random_words() -> None:
    generator = np.random.default_rng(7)
    words = (generator.integers(0, 2**63, 20_000, dtype=np.uint64) << np.uint64(1)) & np.uint64(
        ~0xF & 0xFFFF_FFFF_FFFF_FFFF
    )
    index = synthetic([int(word) for word in words])
    present = [digest(int(word), secrets.token_bytes(4)) for word in words[:500]]
    absent = [digest(int(word) + 0x10, b"") for word in words[500:1000]]

    codes = index.lookup(present + absent)

    assert (codes[:500] == 0).all()
    expected_absent = np.isin(words[500:1000] + np.uint64(0x10), words)
    assert ((codes[500:] != NO_ENTRY) == expected_absent).all()


def test_stamp_covers_unflushed_entry(engine: Engine, sender_id: str) -> None:
    with Session(engine) as session:
        session.add(
            SuppressionEntry(
                sender_id=sender_id,
                blind_index=INDEXER.current("unflushed@example.org").digest,
                key_version=2,
                reason=SuppressionReason.MANUAL.value,
                source="test",
            )
        )
        session.commit()
        stamped = session.exec(
            select(SuppressionEntry.change_version).where(SuppressionEntry.sender_id == sender_id)
        ).all()

    assert stamped == [1]


def test_background_build_leaves_the_request_on_the_database(
    engine: Engine, sender_id: str
) -> None:
    with Session(engine) as session:
        suppress(session, sender_id, "bounced@example.org", SuppressionReason.HARD_BOUNCE)
        session.commit()
    options = ScreenOptions(index_threshold=0, build_index_in_background=True)
    recipients = ["bounced@example.org", "fresh@example.org"]

    with Session(engine) as session:
        first = Screener(session, sender_id, INDEXER, options)
        first_batch = first.screen_batch(recipients)
    deadline = time.monotonic() + 30
    with Session(engine) as session:
        while cache_for(session).get(session, sender_id, build=False) is None:
            assert time.monotonic() < deadline, "the background build did not finish"
            time.sleep(0.05)
        second = Screener(session, sender_id, INDEXER, options)
        second_batch = second.screen_batch(recipients)

    # The first screening may or may not find the index: the thread can win the race.
    assert second.used_index
    assert first_batch.kept == second_batch.kept == ["fresh@example.org"]


def test_cache_drops_the_least_recently_used_index(engine: Engine) -> None:
    with Session(engine) as session:
        senders = [create_sender(session, f"Sender {number}").id for number in range(3)]
        session.commit()
    for sender in senders:
        with Session(engine) as session:
            suppress(session, sender, "reader@example.org")
            session.commit()
    with Session(engine) as session:
        # The three indexes have the same size, and the budget fits two.
        one = build_index(session, senders[0]).size_bytes
        cache = DigestIndexCache(max_bytes=2 * one)
        for sender in senders:
            cache.get(session, sender, build=True)
        kept = [cache.get(session, sender, build=False) is not None for sender in senders]

    assert kept == [False, True, True]


def test_imported_entries_reach_a_warm_index(engine: Engine, sender_id: str) -> None:
    # On PostgreSQL imports write with COPY, past the session's events, so the
    # import notes the change itself; the index must still learn every row.
    recipients = [f"imported{number}@example.org" for number in range(5)] + ["kept@example.org"]
    assert outcome(engine, sender_id, recipients, WITH_INDEX)[0] == recipients  # type: ignore[index]
    occurred = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    records = [
        address_record(line, address, reason=SuppressionReason.COMPLAINT, occurred_at=occurred)
        for line, address in enumerate(recipients[:5], start=2)
    ]

    with Session(engine) as session:
        report = import_records(
            session, sender_id, INDEXER, records, ImportOptions(source="test", actor="test")
        )
        inside = screen(session, sender_id, INDEXER, recipients, WITH_INDEX)
        session.commit()

    with Session(engine) as session:
        after = screen(session, sender_id, INDEXER, recipients, WITH_INDEX)
        stored = session.exec(
            select(SuppressionEntry.change_version, SuppressionEntry.created_at).where(
                SuppressionEntry.sender_id == sender_id
            )
        ).all()
    assert report.imported == 5
    assert inside.kept == ["kept@example.org"]
    assert after.kept == ["kept@example.org"]
    assert after.counts["complaint"] == 5
    assert all(version is not None for version, _ in stored)
    assert {created for _, created in stored} == {occurred}
