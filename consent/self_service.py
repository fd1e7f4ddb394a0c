"""Subscriber self-service that needs more than the page link: a new address,
a data download, an erasure, and the magic link to the preference page.

The preference link may sit in a forwarded email, so anything that reveals
or destroys data, or moves mail to another address, is unlocked by a fresh
link sent to the address concerned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import BlindIndex
from compliance.core.context import Services
from compliance.core.keystore import decrypt_field, encrypt_field
from compliance.core.models import Sender, utcnow
from compliance.core.outbox import enqueue
from compliance.core.tokens import TokenPurpose
from consent import emails, ledger
from consent.headers import email_links
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    PreferenceEvent,
    PreferenceMethod,
    SelfServiceAction,
    SelfServiceRequest,
)
from consent.preferences import record_preference_event
from consent.service import ClientInfo, LinkError, data_key, find_contacts, subscriptions_of
from consent.signup import PageLink, SignupProof, record_consent
from consent.topics import declared_topics
from suppression.service import active_entries

log = structlog.get_logger(__name__)

ADDRESS_CHANGE_TTL = timedelta(hours=48)
SELF_SERVICE_TTL = timedelta(minutes=30)
# One emailed link per action and contact per this delay, however often the
# button is pressed.
SELF_SERVICE_COOLDOWN = timedelta(minutes=5)
MAGIC_LINK_COOLDOWN = timedelta(minutes=5)
MAX_NAME = 200
ADDRESS_CHANGES_PER_HOUR = 3


def current_address(services: Services, contact: Contact) -> str:
    key = data_key(services, contact)
    return decrypt_field(key, contact.id, "email", contact.email_ciphertext or b"")


def masked_address(address: str) -> str:
    """Show enough of an address to recognise it, not enough to read it: ``c*****@example.net``."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}{'*' * max(len(local) - 1, 3)}@{domain}"


def contact_name(services: Services, contact: Contact) -> str:
    if contact.name_ciphertext is None:
        return ""
    return decrypt_field(data_key(services, contact), contact.id, "name", contact.name_ciphertext)


def rename(
    session: Session, services: Services, contact: Contact, name: str, client: ClientInfo
) -> bool:
    """Correct the subscriber's name (GDPR Art. 16); False when unchanged."""
    cleaned = " ".join(name.split())[:MAX_NAME]
    if cleaned == contact_name(services, contact):
        return False
    key = data_key(services, contact)
    contact.name_ciphertext = encrypt_field(key, contact.id, "name", cleaned) if cleaned else None
    session.add(contact)
    record_preference_event(session, services, contact, "name", PreferenceMethod.PAGE, client)
    return True


def request_address_change(
    session: Session,
    services: Services,
    contact: Contact,
    new_address: str,
    client: ClientInfo,
) -> None:
    """Keep ``new_address`` aside and send it a confirmation link; the old address stays in use.

    The page shows the same result whatever happens here, so it does not
    tell whether the new address belongs to someone else on the list.
    """
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")
    key = data_key(services, contact)
    if services.indexer.current(new_address).digest == contact.email_index:
        return
    # A forwarded page link must not become a way to mail strangers: at most
    # ADDRESS_CHANGES_PER_HOUR confirmation emails per contact and hour.
    recent = session.exec(
        select(func.count())
        .select_from(PreferenceEvent)
        .where(
            PreferenceEvent.contact_id == contact.id,
            PreferenceEvent.kind == "address_requested",
            col(PreferenceEvent.created_at) > utcnow() - timedelta(hours=1),
        )
    ).one()
    if recent >= ADDRESS_CHANGES_PER_HOUR:
        log.info("preferences.address_change_limited", contact_id=contact.id)
        return
    issued = services.tokens.issue_token(
        TokenPurpose.ADDRESS_CHANGE, contact.id, sender.id, ADDRESS_CHANGE_TTL
    )
    contact.pending_email_ciphertext = encrypt_field(key, contact.id, "pending_email", new_address)
    contact.pending_email_token_id = issued.token_id
    session.add(contact)
    url = f"{services.settings.public_url}/a/{issued.token}"
    message = emails.link_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        new_address,
        contact.locale,
        email_links(services, sender.id, contact.id, url),
        "address_change",
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=key,
        kind="address_change",
        idempotency_key=f"address:{contact.id}:{issued.token_id}",
        message=message,
    )
    record_preference_event(
        session, services, contact, "address_requested", PreferenceMethod.PAGE, client
    )


def confirm_address_change(
    session: Session, services: Services, link: PageLink, client: ClientInfo
) -> str:
    """Switch to the pending address; returns ``changed``, ``taken`` or raises ``LinkError``.

    ``taken``: another contact of the sender already has that address; the
    change is dropped rather than merging two people's records.
    """
    contact = link.contact
    if (
        contact.pending_email_ciphertext is None
        or contact.pending_email_token_id != link.claims.token_id
    ):
        raise LinkError("used")
    key = data_key(services, contact)
    new_address = decrypt_field(key, contact.id, "pending_email", contact.pending_email_ciphertext)
    contact.pending_email_ciphertext = None
    contact.pending_email_token_id = None
    session.add(contact)

    others = [
        other
        for other in find_contacts(
            session, contact.sender_id, services.indexer.all_versions(new_address)
        )
        if other.id != contact.id
    ]
    if others:
        log.info("preferences.address_taken", contact_id=contact.id)
        return "taken"

    current = services.indexer.current(new_address)
    contact.email_ciphertext = encrypt_field(key, contact.id, "email", new_address)
    contact.email_index = current.digest
    contact.email_index_version = current.version
    session.add(contact)
    # The ledger notes that the address changed, without the address itself.
    ledger.append(
        session,
        ConsentRecord(
            sender_id=contact.sender_id,
            contact_id=contact.id,
            action=ConsentAction.UPDATED,
            topics="[]",
            lawful_basis="consent",
            regime="gdpr",
            source="address_change",
            language=contact.locale,
            personal_ciphertext=encrypt_field(
                key,
                contact.id,
                "consent",
                json.dumps({"ip": client.ip, "user_agent": client.user_agent}),
            ),
            prev_hash="",
            record_hash="",
        ),
    )
    record_preference_event(
        session, services, contact, "address_confirmed", PreferenceMethod.LINK, client
    )
    record_event(
        session,
        contact.sender_id,
        actor=f"contact:{contact.id}",
        action="contact.address_changed",
        object_type="contact",
        object_id=contact.id,
    )
    return "changed"


def request_self_service(
    session: Session,
    services: Services,
    contact: Contact,
    action: SelfServiceAction,
    client: ClientInfo,
) -> bool:
    """Email a 30-minute link that unlocks a download or an erasure; False if one was just sent."""
    now = utcnow()
    recent = session.exec(
        select(SelfServiceRequest.id).where(
            SelfServiceRequest.contact_id == contact.id,
            SelfServiceRequest.action == action.value,
            col(SelfServiceRequest.used_at).is_(None),
            col(SelfServiceRequest.created_at) > now - SELF_SERVICE_COOLDOWN,
        )
    ).first()
    if recent is not None:
        return False
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")
    issued = services.tokens.issue_token(
        TokenPurpose.SELF_SERVICE, contact.id, sender.id, SELF_SERVICE_TTL, scope=action.value
    )
    session.add(
        SelfServiceRequest(
            id=issued.token_id,
            sender_id=sender.id,
            contact_id=contact.id,
            action=action.value,
            created_at=now,
            expires_at=now + SELF_SERVICE_TTL,
        )
    )
    url = f"{services.settings.public_url}/s/{issued.token}"
    address = current_address(services, contact)
    message = emails.link_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        address,
        contact.locale,
        email_links(services, sender.id, contact.id, url),
        action.value,
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=data_key(services, contact),
        kind=f"self_service_{action.value}",
        idempotency_key=f"self-service:{issued.token_id}",
        message=message,
    )
    session.flush()
    return True


@dataclass(frozen=True)
class SelfServiceLink:
    contact: Contact
    request: SelfServiceRequest
    action: SelfServiceAction


def open_self_service(session: Session, link: PageLink) -> SelfServiceLink:
    """Check an emailed self-service link: known, not used, not expired.

    :raises LinkError: ``used`` once the request was carried out.
    """
    request = session.get(SelfServiceRequest, link.claims.token_id)
    if request is None or request.contact_id != link.contact.id:
        raise LinkError("invalid")
    if request.used_at is not None:
        raise LinkError("used")
    if request.expires_at <= utcnow():
        raise LinkError("expired")
    return SelfServiceLink(link.contact, request, SelfServiceAction(request.action))


def mark_used(session: Session, request: SelfServiceRequest) -> None:
    request.used_at = utcnow()
    session.add(request)
    session.flush()


def send_magic_link(session: Session, services: Services, sender: Sender, address: str) -> bool:
    """Email a preference link to ``address`` when it is a live contact, and return whether it did.

    The caller returns the same response in both cases, so the form does
    not reveal who is on the list.
    """
    found = find_contacts(session, sender.id, services.indexer.all_versions(address))
    contact = found[0] if found else None
    if contact is None or contact.status in (ContactStatus.ERASED, ContactStatus.EXPIRED):
        return False
    sent_at = session.exec(
        select(SelfServiceRequest.created_at).where(
            SelfServiceRequest.contact_id == contact.id,
            SelfServiceRequest.action == "magic_link",
            col(SelfServiceRequest.created_at) > utcnow() - MAGIC_LINK_COOLDOWN,
        )
    ).first()
    if sent_at is not None:
        return False
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    issued = services.tokens.issue_token(TokenPurpose.PREFERENCES, contact.id, sender.id, lifetime)
    now = utcnow()
    # Recorded only to rate-limit the emails; the link itself is the usual
    # preference link.
    session.add(
        SelfServiceRequest(
            id=issued.token_id,
            sender_id=sender.id,
            contact_id=contact.id,
            action="magic_link",
            created_at=now,
            expires_at=now,
            used_at=now,
        )
    )
    url = f"{services.settings.public_url}/p/{issued.token}"
    message = emails.link_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        current_address(services, contact),
        contact.locale,
        email_links(services, sender.id, contact.id, url),
        "preferences",
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=data_key(services, contact),
        kind="magic_link",
        idempotency_key=f"magic:{issued.token_id}",
        message=message,
    )
    session.flush()
    return True


def resubscribe(session: Session, services: Services, contact: Contact, client: ClientInfo) -> None:
    """Send a new double opt-in email for an unsubscribed contact's former topics.

    Only the person's click on that email subscribes again, and lifts the
    unsubscribe entry (a confirmed double opt-in may lift it). The wording
    and policy are those of the contact's latest consent.
    """
    if contact.status != ContactStatus.UNSUBSCRIBED or contact.email_index is None:
        return
    index = BlindIndex(contact.email_index_version, contact.email_index)
    if any(
        entry.reason in ("complaint", "hard_bounce")
        for entry in active_entries(session, contact.sender_id, [index])
    ):
        # Only an audited admin override lifts these; no email goes out.
        return
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")
    latest = session.exec(
        select(ConsentRecord)
        .where(
            ConsentRecord.contact_id == contact.id,
            ConsentRecord.action == ConsentAction.GIVEN,
        )
        .order_by(col(ConsentRecord.id).desc())
    ).first()
    public = {topic.key: topic for topic in declared_topics(session, sender.id) if topic.public}
    former = [row.topic for row in subscriptions_of(session, contact) if row.topic in public]
    topics = former or sorted(public)[:1]
    if not topics:
        return
    wording = "\n".join(
        public[key].wording_fr if contact.locale == "fr" else public[key].wording_en
        for key in topics
    )
    proof = SignupProof(
        topics=topics,
        lawful_basis="consent",
        regime=latest.regime if latest else "gdpr",
        source="form",
        form_url=None,
        wording_text=wording,
        wording_version=",".join(f"{key}:{public[key].wording_version}" for key in topics)[:64],
        privacy_policy_url=(latest.privacy_policy_url or "") if latest else "",
        privacy_policy_version=(latest.privacy_policy_version or "") if latest else "",
        language=contact.locale,
        country=contact.country,
        audience=contact.audience,
    )
    record_consent(
        session,
        services,
        sender,
        current_address(services, contact),
        proof,
        client,
        double_opt_in=True,
        actor=f"contact:{contact.id}",
    )
