"""The audit chain stays linked when one transaction appends several events."""

from __future__ import annotations

from itertools import pairwise

from sqlmodel import Session, col, select

from compliance.core.audit import GENESIS_HASH, record_event, verify_chain
from compliance.core.db import make_engine
from compliance.core.models import AuditEvent
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender


def _chain(session: Session, sender_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.sender_id == sender_id)
    return list(session.exec(query.order_by(col(AuditEvent.id))).all())


def _append(session: Session, sender_id: str, number: int) -> AuditEvent:
    return record_event(
        session,
        sender_id,
        actor="test",
        action=f"step_{number}",
        object_type="test",
        object_id=str(number),
    )


def test_events_in_one_transaction_chain(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        sender = create_sender(session, "Chain")
        session.commit()
        before = len(_chain(session, sender.id))

        appended = [_append(session, sender.id, number) for number in range(4)]
        session.commit()

        events = _chain(session, sender.id)[before:]
        assert [event.id for event in events] == [event.id for event in appended]
        for previous, event in pairwise(events):
            assert event.prev_hash == previous.event_hash
        assert verify_chain(session, sender.id) is None
    engine.dispose()


def test_chain_after_rolled_back_savepoint(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        sender = create_sender(session, "Savepoint")
        session.commit()

        kept = _append(session, sender.id, 1)
        savepoint = session.begin_nested()
        _append(session, sender.id, 2)
        savepoint.rollback()
        after = _append(session, sender.id, 3)
        session.commit()

        # The event of the rolled-back savepoint is gone, so the next one
        # links to the event before it, not to the discarded one.
        assert after.prev_hash == kept.event_hash
        assert verify_chain(session, sender.id) is None
    engine.dispose()


def test_chain_across_transactions(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        sender = create_sender(session, "Two commits")
        session.commit()
        sender_id = sender.id
        first_hash = _append(session, sender_id, 1).event_hash
        # Reading an attribute after commit would begin a transaction, which on
        # SQLite takes the write lock: commit with nothing left to read.
        session.commit()

        # Another session appends between this session's two transactions.
        with Session(engine) as other:
            between_hash = _append(other, sender_id, 2).event_hash
            other.commit()

        last_prev_hash = _append(session, sender_id, 3).prev_hash
        session.commit()

        assert between_hash != first_hash
        assert last_prev_hash == between_hash
        assert last_prev_hash != GENESIS_HASH
        assert verify_chain(session, sender_id) is None
    engine.dispose()
