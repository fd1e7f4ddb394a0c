"""Contacts: look-up, unsubscribe from everything, erasure and hard bounces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import BlindIndex
from compliance.core.context import Services
from compliance.core.keystore import KeyStore, decrypt_field, encrypt_field
from compliance.core.models import utcnow
from compliance.core.outbox import delete_for_contact
from consent import ledger
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    PreferenceEvent,
    SelfServiceRequest,
    Subscription,
    SubscriptionStatus,
)
from suppression.campaigns import delete_contact_events
from suppression.lists import remove_contact_memberships, unsubscribe_contact_everywhere
from suppression.models import SuppressionReason
from suppression.service import suppress

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


class LinkError(Exception):
    """A page link is invalid, expired or points to an erased contact."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        # One of: invalid, expired, gone, used.
        self.reason = reason


def find_contacts(session: Session, sender_id: str, indexes: list[BlindIndex]) -> list[Contact]:
    digests = [index.digest for index in indexes]
    return list(
        session.exec(
            select(Contact).where(
                Contact.sender_id == sender_id, col(Contact.email_index).in_(digests)
            )
        ).all()
    )


def unsubscribe_all(
    session: Session, services: Services, contact: Contact, source: str, event_ref: str = ""
) -> bool:
    """Withdraw consent for every topic and suppress the address globally, at once.

    Returns False when the contact had already unsubscribed (nothing changed).
    """
    if contact.status == ContactStatus.UNSUBSCRIBED:
        return False

    key = data_key(services, contact)
    address = decrypt_field(key, contact.id, "email", contact.email_ciphertext or b"")
    subscriptions = list(
        session.exec(select(Subscription).where(Subscription.contact_id == contact.id))
    )
    for subscription in subscriptions:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.updated_at = utcnow()
        session.add(subscription)

    # GDPR Art. 7(3): withdrawing is as easy as giving; the ledger records it.
    ledger.append(
        session,
        ConsentRecord(
            sender_id=contact.sender_id,
            contact_id=contact.id,
            action=ConsentAction.WITHDRAWN,
            topics=json.dumps(sorted(row.topic for row in subscriptions)),
            lawful_basis="consent",
            regime="gdpr",
            source=source,
            language=contact.locale,
            prev_hash="",
            record_hash="",
        ),
    )
    contact.status = ContactStatus.UNSUBSCRIBED
    session.add(contact)
    unsubscribe_contact_everywhere(session, contact.id)

    actor = f"contact:{contact.id}"
    suppress(
        session,
        contact.sender_id,
        services.indexer.current(address),
        reason=SuppressionReason.UNSUBSCRIBE,
        source=source,
        actor=actor,
        event_ref=event_ref,
    )
    record_event(
        session,
        contact.sender_id,
        actor=actor,
        action="consent.withdrawn",
        object_type="contact",
        object_id=contact.id,
    )
    log.info("consent.withdrawn", sender_id=contact.sender_id, contact_id=contact.id, source=source)
    return True


@dataclass(frozen=True)
class ContactErasure:
    contact_id: str
    data_key_destroyed: bool
    subscriptions_deleted: int
    outbox_messages_deleted: int
    consent_records_kept_unreadable: int
    memberships_deleted: int
    delivery_events_deleted: int
    # True when ``event_limit`` stopped the event delete: more may remain,
    # found by the contact id or by ``event_digests`` (the blind indexes the
    # contact had, which the erasure removes from the contact row).
    events_remaining: bool = False
    event_digests: tuple[str, ...] = ()


def erase_contact(
    session: Session,
    services: Services,
    contact: Contact,
    actor: str,
    *,
    keep_consent_history: bool = False,
    keep_delivery_events: bool = False,
    event_limit: int | None = None,
) -> ContactErasure:
    """Erase a contact's personal data (GDPR Art. 17) everywhere Sendguard holds it.

    The data key is destroyed first, in the key store's own transaction: if
    the main transaction then fails, the personal data is already unreadable.
    Consent records stay, with their personal fields as ciphertext that no
    key opens any more, so the ledger chain still verifies.

    The two ``keep_`` flags apply an Art. 17(3) exception the DPO recorded:
    keeping the consent history readable (to defend a legal claim) keeps the
    data key, while the contact's address and name are still removed.

    ``event_limit`` caps the delivery and bounce events deleted here. The
    result then reports whether some remain for a later batch.
    """
    destroyed = False if keep_consent_history else services.keystore.destroy_key(contact.id)

    subscriptions = list(
        session.exec(select(Subscription).where(Subscription.contact_id == contact.id))
    )
    for subscription in subscriptions:
        session.delete(subscription)
    outbox_ids = delete_for_contact(session, contact.id)
    # Files of a development outbox folder are copies of the messages too.
    services.transport.forget(outbox_ids)
    memberships = remove_contact_memberships(session, contact.id)
    digests = [contact.email_index] if contact.email_index else []
    events = (
        0
        if keep_delivery_events
        else delete_contact_events(session, contact.id, digests, contact.sender_id, event_limit)
    )
    events_remaining = event_limit is not None and events >= event_limit
    records = session.exec(
        select(ConsentRecord.id).where(ConsentRecord.contact_id == contact.id)
    ).all()

    # Preference events hold client fingerprints, and self-service rows
    # link the contact to its requests: both go with the person.
    for event in session.exec(
        select(PreferenceEvent).where(PreferenceEvent.contact_id == contact.id)
    ):
        session.delete(event)
    for request in session.exec(
        select(SelfServiceRequest).where(SelfServiceRequest.contact_id == contact.id)
    ):
        session.delete(request)

    contact.email_ciphertext = None
    contact.email_index = None
    contact.name_ciphertext = None
    contact.pending_email_ciphertext = None
    contact.pending_email_token_id = None
    contact.status = ContactStatus.ERASED
    contact.erased_at = utcnow()
    session.add(contact)
    session.flush()
    record_event(
        session,
        contact.sender_id,
        actor=actor,
        action="contact.erased",
        object_type="contact",
        object_id=contact.id,
    )
    log.info(
        "contact.erased",
        sender_id=contact.sender_id,
        contact_id=contact.id,
        data_key_destroyed=destroyed,
    )
    return ContactErasure(
        contact.id,
        destroyed,
        len(subscriptions),
        len(outbox_ids),
        len(records),
        memberships,
        events,
        events_remaining,
        tuple(digests),
    )


def ensure_contact(session: Session, services: Services, sender_id: str, address: str) -> Contact:
    """Return the sender's contact for ``address``, creating an ``imported`` one if needed.

    A new contact has no consent record: adding an address to a list is not consent.
    """
    existing = find_contacts(session, sender_id, services.indexer.all_versions(address))
    if existing:
        return existing[0]

    contact = Contact(sender_id=sender_id, status=ContactStatus.IMPORTED)
    key = services.keystore.create_key(contact.id)
    contact.email_ciphertext = encrypt_field(key, contact.id, "email", address.strip())
    current = services.indexer.current(address)
    contact.email_index = current.digest
    contact.email_index_version = current.version
    session.add(contact)
    session.flush()
    return contact


def record_hard_bounce(session: Session, contact_id: str, event_ref: str) -> bool:
    """Suppress a contact whose address a relay refused permanently; False if none to suppress."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.email_index is None:
        return False
    suppress(
        session,
        contact.sender_id,
        BlindIndex(contact.email_index_version, contact.email_index),
        reason=SuppressionReason.HARD_BOUNCE,
        source="smtp",
        actor="outbox",
        event_ref=event_ref,
    )
    return True


def addresses_for_digests(
    session: Session, keystore: KeyStore, sender_id: str, digests: Sequence[str]
) -> dict[str, str]:
    """Return the clear address of each digest whose contact still exists (for exports)."""
    found: dict[str, str] = {}
    for start in range(0, len(digests), 500):
        chunk = list(digests[start : start + 500])
        contacts = session.exec(
            select(Contact).where(
                Contact.sender_id == sender_id, col(Contact.email_index).in_(chunk)
            )
        )
        for contact in contacts:
            key = keystore.get_key(contact.id)
            if key is None or contact.email_ciphertext is None or contact.email_index is None:
                continue
            found[contact.email_index] = decrypt_field(
                key, contact.id, "email", contact.email_ciphertext
            )
    return found


def subscriptions_of(session: Session, contact: Contact) -> list[Subscription]:
    return list(
        session.exec(
            select(Subscription)
            .where(Subscription.contact_id == contact.id)
            .order_by(Subscription.topic)
        )
    )


def data_key(services: Services, contact: Contact) -> bytes:
    key = services.keystore.get_key(contact.id)
    if key is None:
        raise LinkError("gone")
    return key
