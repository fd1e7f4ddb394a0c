"""Change versions of suppression entries, stamped when a transaction commits.

The in-memory screening index (suppression.digest_index) is built at one
version of a sender's suppression entries and must learn every entry
written after it, by any process. Each commit that writes entries raises
the sender's counter in suppression_change_counters and stamps the rows it
wrote with the new value. The raising UPDATE locks the counter row until
the commit, so two writers of one sender take versions in commit order. It
runs just before the commit, so the lock is held for milliseconds. It is
also the last lock any transaction takes, so no lock cycle can form
around it.

Writes are noticed through SQLAlchemy session events: ORM inserts, updates
and deletes, and ``session.execute(insert(SuppressionEntry), rows)``. A
bulk UPDATE or DELETE statement on the table is refused, because it does
not say which senders it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import col

from suppression.models import SuppressionChangeCounter, SuppressionEntry

# session.info key: sender id -> True when the change needs a rebuild (a
# deleted row, which a delta of changed rows cannot show).
_PENDING = "sendguard.suppression_changes"

_ENTRIES = SuppressionEntry.__table__  # type: ignore[attr-defined]
_COUNTERS = SuppressionChangeCounter.__table__  # type: ignore[attr-defined]


class UntrackedSuppressionWrite(RuntimeError):
    """A bulk UPDATE or DELETE on suppression_entries, which change tracking cannot follow."""


def note_change(session: Session, sender_id: str, *, rebuild: bool = False) -> None:
    """Record that this transaction changed the sender's suppression entries."""
    pending: dict[str, bool] = session.info.setdefault(_PENDING, {})
    pending[sender_id] = pending.get(sender_id, False) or rebuild


@event.listens_for(Session, "before_flush")
def _note_orm_writes(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    for entry in session.new:
        if isinstance(entry, SuppressionEntry):
            entry.change_version = None
            note_change(session, entry.sender_id)
    for entry in session.dirty:
        if isinstance(entry, SuppressionEntry) and session.is_modified(entry):
            entry.change_version = None
            note_change(session, entry.sender_id)
    for entry in session.deleted:
        if isinstance(entry, SuppressionEntry):
            note_change(session, entry.sender_id, rebuild=True)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    # An ORM statement carries an annotated copy of the table: compare by name.
    if getattr(table, "name", None) != _ENTRIES.name:
        return
    if not state.is_insert:
        raise UntrackedSuppressionWrite(
            "a bulk UPDATE or DELETE on suppression_entries bypasses change tracking, so the "
            "screening index would miss it; load the entries and change them through the session"
        )

    rows = state.parameters
    batch: Sequence[Mapping[str, Any]]
    if isinstance(rows, Sequence):
        batch = rows
    elif rows is not None:
        batch = [rows]
    else:
        batch = [{}]
    for row in batch:
        sender_id = row.get("sender_id")
        if not isinstance(sender_id, str):
            raise UntrackedSuppressionWrite(
                "a bulk INSERT into suppression_entries must give sender_id in each row's "
                "parameters, so the change can be tracked"
            )
        note_change(session=state.session, sender_id=sender_id)


@event.listens_for(Session, "before_commit")
def _stamp_changes(session: Session) -> None:
    # The commit flushes after this hook; flush now, so that every row is
    # written, and noticed by _note_orm_writes, before it is stamped. A
    # session with nothing to write flushes nothing.
    session.flush()
    pending: dict[str, bool] | None = session.info.pop(_PENDING, None)
    if not pending:
        return

    connection = session.connection()
    # Sorted: two transactions that write several senders lock the counter
    # rows in the same order.
    for sender_id in sorted(pending):
        version = _raise_counter(session, sender_id, rebuild=pending[sender_id])
        # Through the connection, not the session: do_orm_execute would refuse a bulk UPDATE.
        connection.execute(
            update(_ENTRIES)
            .where(
                _ENTRIES.c.sender_id == sender_id,
                col(SuppressionEntry.change_version).is_(None),
            )
            .values(change_version=version)
        )


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _raise_counter(session: Session, sender_id: str, *, rebuild: bool) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    raised = _COUNTERS.c.version + 1
    statement = (
        insert(_COUNTERS)
        .values(sender_id=sender_id, version=1, rebuild_version=1 if rebuild else 0)
        .on_conflict_do_update(
            index_elements=[_COUNTERS.c.sender_id],
            set_={
                "version": raised,
                "rebuild_version": raised if rebuild else _COUNTERS.c.rebuild_version,
            },
        )
        .returning(_COUNTERS.c.version)
    )
    return int(session.connection().execute(statement).scalar_one())


def read_counter(session: Session, sender_id: str) -> tuple[int, int]:
    """Return the sender's committed (version, rebuild_version); (0, 0) before any change."""
    row = (
        session.connection()
        .execute(
            _COUNTERS.select()
            .with_only_columns(_COUNTERS.c.version, _COUNTERS.c.rebuild_version)
            .where(_COUNTERS.c.sender_id == sender_id)
        )
        .first()
    )
    return (0, 0) if row is None else (int(row[0]), int(row[1]))
