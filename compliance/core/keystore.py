"""Per-contact data keys, kept in a database apart from the main one.

Each contact's personal fields are encrypted with its own AES-256-GCM data
key. The data key is stored here wrapped (AES-GCM) by the master key.
Deleting the row is crypto-shredding: every copy of the contact's encrypted
data, database backups included, becomes unreadable. Backups of the key
store itself must have a short retention, which sets the erasure horizon.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    text,
)

from compliance.core.db import read_only, sqlite_writer

NONCE_BYTES = 12
# "sgkeysto" in ASCII: the advisory lock that serialises schema creation.
SCHEMA_LOCK_KEY = 0x73676B657973746F

_metadata = MetaData()
data_keys = Table(
    "data_keys",
    _metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class KeyStoreError(Exception):
    """The key store failed or contains a key that no live master key unwraps."""


@dataclass(frozen=True, repr=False)
class UnwrappedKey:
    key: bytes
    # 0 for the current master key, n for the n-th previous one (1-based).
    master_index: int


class KeyStore:
    """Create, read and destroy per-contact data keys.

    Every call commits on its own connection, because the key store is a
    separate database that cannot share the request's transaction. A key
    is therefore created before the contact row that uses it (an orphan key
    is harmless) and destroyed before the contact row is cleared.
    """

    def __init__(
        self, engine: Engine, master_key: bytes, previous_master_keys: Sequence[bytes] = ()
    ) -> None:
        self._engine = engine
        self._wrapper = AESGCM(master_key)
        # Tried in order after the current key. They never wrap a new key.
        self._previous = tuple(AESGCM(key) for key in previous_master_keys)

    @property
    def previous_key_count(self) -> int:
        """The number of previous master keys that still unwrap."""
        return len(self._previous)

    @property
    def engine(self) -> Engine:
        """The key store's engine, for the readiness probe."""
        return self._engine

    def create_schema(self) -> None:
        # TODO: give the key store Alembic migrations once its schema changes.
        with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Processes of a fleet start together. Without the lock, two
                # of them can both find no table, and one then fails on
                # CREATE TABLE. The lock ends with this transaction.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
                )
            _metadata.create_all(connection)

    def wrap(self, contact_id: str, key: bytes) -> bytes:
        """Wrap ``key`` under the current master key, with the contact id as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._wrapper.encrypt(nonce, key, contact_id.encode("ascii"))

    def unwrap(self, contact_id: str, wrapped: bytes) -> UnwrappedKey | None:
        """Unwrap with the current master key, then each previous one, or return None.

        AES-GCM authenticates, so a key that did not wrap the row fails with
        InvalidTag instead of returning a wrong key.
        """
        nonce, ciphertext = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        associated = contact_id.encode("ascii")
        for index, wrapper in enumerate((self._wrapper, *self._previous)):
            try:
                return UnwrappedKey(wrapper.decrypt(nonce, ciphertext, associated), index)
            except InvalidTag:
                continue
        return None

    def create_key(self, contact_id: str) -> bytes:
        key = AESGCM.generate_key(bit_length=256)
        wrapped = self.wrap(contact_id, key)
        # Queued behind other key writers of this process (SQLite), not in
        # SQLite's sleeping busy handler: sign-ups create keys in parallel.
        with sqlite_writer(self._engine), self._engine.begin() as connection:
            connection.execute(
                insert(data_keys).values(
                    contact_id=contact_id, wrapped_key=wrapped, created_at=datetime.now(UTC)
                )
            )
        return key

    def get_key(self, contact_id: str) -> bytes | None:
        """Return the contact's data key, or None once it has been destroyed."""
        # A deferred transaction on SQLite: a read must not take the write
        # lock that key creation needs.
        with read_only(self._engine).connect() as connection:
            wrapped = connection.execute(
                select(data_keys.c.wrapped_key).where(data_keys.c.contact_id == contact_id)
            ).scalar_one_or_none()
        if wrapped is None:
            return None

        # A key found under a previous master key is not re-wrapped here.
        # Reads run on the read-only engine, so they do not wait for SQLite's
        # write lock, and `sendguard keys rewrap` moves the rows in batches.
        unwrapped = self.unwrap(contact_id, wrapped)
        if unwrapped is None:
            raise KeyStoreError(
                f"data key of contact {contact_id} does not unwrap: neither the master key"
                " nor any key of SENDGUARD_MASTER_KEY_PREVIOUS_FILES is the one that wrapped it"
            )
        return unwrapped.key

    def destroy_key(self, contact_id: str) -> bool:
        """Delete the contact's data key; return whether one existed."""
        with sqlite_writer(self._engine), self._engine.begin() as connection:
            result = connection.execute(
                delete(data_keys).where(data_keys.c.contact_id == contact_id)
            )
        if self._engine.dialect.name == "sqlite":
            self._truncate_sqlite_wal()
        # NOTE: on PostgreSQL the deleted row stays in its heap page until
        # VACUUM reuses the space. There, the VACUUM schedule and the key
        # store's backups set the erasure horizon.
        return bool(result.rowcount)

    def _truncate_sqlite_wal(self) -> None:
        # The write-ahead log still contains the frame that created the key
        # until a checkpoint. TRUNCATE copies the log into the main file,
        # whose freed space secure_delete has zeroed, and empties the log.
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            connection.close()


def encrypt_bytes(key: bytes, contact_id: str, field: str, plaintext: bytes) -> bytes:
    """Encrypt personal data; the contact id and field name are bound as associated data."""
    nonce = os.urandom(NONCE_BYTES)
    associated = f"{contact_id}:{field}".encode()
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def decrypt_bytes(key: bytes, contact_id: str, field: str, ciphertext: bytes) -> bytes:
    associated = f"{contact_id}:{field}".encode()
    return AESGCM(key).decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], associated)


def encrypt_field(key: bytes, contact_id: str, field: str, plaintext: str) -> bytes:
    """Encrypt one personal text field (see :func:`encrypt_bytes`)."""
    return encrypt_bytes(key, contact_id, field, plaintext.encode("utf-8"))


def decrypt_field(key: bytes, contact_id: str, field: str, ciphertext: bytes) -> str:
    return decrypt_bytes(key, contact_id, field, ciphertext).decode("utf-8")
