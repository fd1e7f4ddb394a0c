"""Contacts under a blind-index key rotation: read known addresses, move indexes to a new version.

A contact's address is known while its encrypted copy and its data key
both exist. Erased and expired contacts have no encrypted address, so they
are never read here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndex, BlindIndexer
from compliance.core.keystore import KeyStore, KeyStoreError, decrypt_field
from consent.models import Contact

_CONTACTS = Contact.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class KnownAddress:
    """A contact's address as its blind index under every live version, newest first."""

    contact_id: str
    sender_id: str
    indexes: tuple[BlindIndex, ...]
    # The contact row's index when it was read.
    stored: BlindIndex

    @property
    def current(self) -> BlindIndex:
        return self.indexes[0]

    @property
    def previous(self) -> tuple[BlindIndex, ...]:
        """The indexes under the older live versions: the ones to rewrite."""
        return self.indexes[1:]


@dataclass(frozen=True)
class ContactBatch:
    # Contacts read, in id order. The next batch starts after the last one.
    contact_ids: tuple[str, ...]
    addresses: tuple[KnownAddress, ...]
    # Contacts whose address could not be read (key missing or unwrappable,
    # ciphertext or stored address invalid). Their rows keep their version.
    unreadable: int


def read_contact_batch(
    session: Session,
    keystore: KeyStore,
    indexer: BlindIndexer,
    *,
    after: str | None,
    limit: int,
) -> ContactBatch:
    """Read up to ``limit`` contacts that still have an address, in id order after ``after``."""
    query = (
        select(Contact)
        .where(col(Contact.email_index).is_not(None), col(Contact.email_ciphertext).is_not(None))
        .order_by(col(Contact.id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Contact.id) > after)
    contacts = list(session.exec(query).all())

    addresses: list[KnownAddress] = []
    unreadable = 0
    for contact in contacts:
        address = _read_address(keystore, contact)
        if address is None:
            unreadable += 1
            continue
        try:
            indexes = tuple(indexer.all_versions(address))
        except AddressError:
            unreadable += 1
            continue
        stored = BlindIndex(contact.email_index_version, contact.email_index or "")
        addresses.append(KnownAddress(contact.id, contact.sender_id, indexes, stored))
    return ContactBatch(tuple(contact.id for contact in contacts), tuple(addresses), unreadable)


def _read_address(keystore: KeyStore, contact: Contact) -> str | None:
    # NOTE: this is one key-store query per contact. Reading a batch's keys
    # at once would save round trips on large re-indexes.
    try:
        key = keystore.get_key(contact.id)
    except KeyStoreError:
        return None
    if key is None or contact.email_ciphertext is None:
        return None
    try:
        return decrypt_field(key, contact.id, "email", contact.email_ciphertext)
    except (InvalidTag, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class ContactRewrite:
    # Contacts moved to the current version, by the version they had.
    moved: Counter[int]
    # Contacts left under an old version because another contact of the
    # same sender already has the new index (the same address twice).
    conflicts: int


def reindex_contacts(session: Session, addresses: Sequence[KnownAddress]) -> ContactRewrite:
    """Move each contact's index to the current version, without committing."""
    moved: Counter[int] = Counter()
    conflicts = 0
    for address in addresses:
        current = address.current
        if address.stored.version == current.version:
            continue
        if _index_taken(session, address.sender_id, current.digest, address.contact_id):
            conflicts += 1
            continue
        # Only if the row still has the index it was read with: an address
        # change confirmed since then has already written a current index.
        result = session.connection().execute(
            update(_CONTACTS)
            .where(
                _CONTACTS.c.id == address.contact_id,
                _CONTACTS.c.email_index == address.stored.digest,
                _CONTACTS.c.email_index_version == address.stored.version,
            )
            .values(email_index=current.digest, email_index_version=current.version)
        )
        if result.rowcount:
            moved[address.stored.version] += 1
    return ContactRewrite(moved, conflicts)


def _index_taken(session: Session, sender_id: str, digest: str, contact_id: str) -> bool:
    other = session.exec(
        select(Contact.id).where(
            Contact.sender_id == sender_id,
            Contact.email_index == digest,
            Contact.id != contact_id,
        )
    ).first()
    return other is not None


def count_contacts_by_version(session: Session) -> dict[int, int]:
    """Count the contacts that have a blind index, by key version."""
    rows = session.exec(
        select(Contact.email_index_version, func.count())
        .where(col(Contact.email_index).is_not(None))
        .group_by(col(Contact.email_index_version))
    ).all()
    return {int(version): int(count) for version, count in rows}
