"""Master-key rotation of the key store: count and re-wrap data keys.

After a rotation, data keys wrapped under a previous master key still
unwrap while that key is listed in SENDGUARD_MASTER_KEY_PREVIOUS_FILES.
:func:`rewrap_data_keys` moves them under the current master key, so the
previous key can then be removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select, update

from compliance.core.db import read_only, sqlite_writer
from compliance.core.keystore import KeyStore, data_keys


@dataclass(frozen=True)
class WrapCounts:
    """Data keys per master key that unwraps them."""

    current: int
    # By the position of the key in SENDGUARD_MASTER_KEY_PREVIOUS_FILES (0-based).
    previous: tuple[int, ...]
    # Rows that no live master key unwraps.
    unreadable: int


@dataclass
class RewrapSummary:
    batches: int = 0
    rows_read: int = 0
    rewrapped: int = 0
    # Deleted (an erasure) or changed between the read and the update: left alone.
    skipped_changed: int = 0
    unreadable: int = 0
    last_contact_id: str | None = None
    # Re-wrapped rows by the position of the previous key that unwrapped them (0-based).
    rewrapped_by_previous: dict[int, int] = field(default_factory=dict)


def count_wrapped_keys(keystore: KeyStore, batch_size: int = 1000) -> WrapCounts:
    """Count the data keys under the current key, under each previous key, and under none."""
    current = unreadable = 0
    previous = [0] * keystore.previous_key_count
    for rows in _batches(keystore.engine, batch_size):
        for contact_id, wrapped in rows:
            unwrapped = keystore.unwrap(contact_id, wrapped)
            if unwrapped is None:
                unreadable += 1
            elif unwrapped.master_index == 0:
                current += 1
            else:
                previous[unwrapped.master_index - 1] += 1
    return WrapCounts(current, tuple(previous), unreadable)


def rewrap_data_keys(
    keystore: KeyStore,
    *,
    batch_size: int,
    on_batch: Callable[[RewrapSummary], None] | None = None,
    before_write: Callable[[Sequence[str]], None] | None = None,
) -> RewrapSummary:
    """Re-wrap under the current master key every data key a previous key unwraps.

    Each batch is read, re-wrapped in memory, then written in one
    transaction. The UPDATE matches the wrapped value that was read, so a
    row deleted by an erasure in between stays deleted and a row changed in
    between is left as it is. Rows already under the current key are
    skipped, so a second run writes nothing. ``before_write`` receives the
    contact ids of a batch between its read and its write.
    """
    summary = RewrapSummary()
    engine = keystore.engine
    for rows in _batches(engine, batch_size):
        summary.batches += 1
        summary.rows_read += len(rows)
        summary.last_contact_id = rows[-1][0]

        changes: list[_Change] = []
        for contact_id, wrapped in rows:
            unwrapped = keystore.unwrap(contact_id, wrapped)
            if unwrapped is None:
                summary.unreadable += 1
            elif unwrapped.master_index > 0:
                new = keystore.wrap(contact_id, unwrapped.key)
                changes.append(_Change(contact_id, wrapped, new, unwrapped.master_index - 1))

        if changes:
            if before_write is not None:
                before_write([change.contact_id for change in changes])
            _write_batch(engine, changes, summary)
        if on_batch is not None:
            on_batch(summary)
    return summary


@dataclass(frozen=True, repr=False)
class _Change:
    contact_id: str
    old: bytes
    new: bytes
    previous_position: int


def _write_batch(engine: Engine, changes: Sequence[_Change], summary: RewrapSummary) -> None:
    """Write one batch in one transaction, each UPDATE conditional on the value read."""
    with sqlite_writer(engine), engine.begin() as connection:
        for change in changes:
            result = connection.execute(
                update(data_keys)
                .where(
                    data_keys.c.contact_id == change.contact_id,
                    data_keys.c.wrapped_key == change.old,
                )
                .values(wrapped_key=change.new)
            )
            if not result.rowcount:
                summary.skipped_changed += 1
                continue
            summary.rewrapped += 1
            position = change.previous_position
            summary.rewrapped_by_previous[position] = (
                summary.rewrapped_by_previous.get(position, 0) + 1
            )


def _batches(engine: Engine, batch_size: int) -> Iterator[list[tuple[str, bytes]]]:
    """Yield the rows in contact-id order, ``batch_size`` at a time, each read on its own."""
    after = ""
    while True:
        with read_only(engine).connect() as connection:
            rows = [
                (row.contact_id, bytes(row.wrapped_key))
                for row in connection.execute(
                    select(data_keys.c.contact_id, data_keys.c.wrapped_key)
                    .where(data_keys.c.contact_id > after)
                    .order_by(data_keys.c.contact_id)
                    .limit(batch_size)
                )
            ]
        if not rows:
            return
        yield rows
        after = rows[-1][0]
