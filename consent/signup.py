"""Sign-up and double opt-in: record consent with its proof, send and confirm the link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.keystore import decrypt_field, encrypt_field
from compliance.core.models import Sender, utcnow
from compliance.core.outbox import enqueue
from compliance.core.tokens import TokenClaims, TokenError, TokenPurpose
from consent import emails, ledger
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    Subscription,
    SubscriptionStatus,
)
from consent.service import ClientInfo, LinkError, data_key, find_contacts
from suppression.service import active_entries, lift_after_double_opt_in

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SignupProof:
    """What the ledger keeps about one consent: GDPR Art. 7(1) proof and the basis facts."""

    topics: list[str]
    lawful_basis: str
    regime: str
    source: str
    form_url: str | None
    wording_text: str
    wording_version: str
    privacy_policy_url: str
    privacy_policy_version: str
    language: str
    country: str | None = None
    audience: str | None = None
    relationship_at: datetime | None = None
    opt_out_offered: bool | None = None
    related_to_profession: bool | None = None
    declared_minor: bool | None = None
    parental_consent: bool = False
    has_proof: bool = True
    # The form id of the sender's public form, or None for API and imports.
    form_id: str | None = None


def sender_by_form_id(session: Session, form_id: str) -> Sender:
    sender = session.exec(select(Sender).where(Sender.form_id == form_id)).first()
    if sender is None:
        raise NotFound(
            N_("Form %(form_id)s not found; copy the form id from the sender's settings."),
            form_id=safe_id(form_id),
        )
    return sender


def subscribe(
    session: Session,
    services: Services,
    sender: Sender,
    address: str,
    proof: SignupProof,
    client: ClientInfo,
) -> None:
    """Record a sign-up with its proof and queue the double opt-in email.

    The caller returns the same response whatever happens here, so that
    the response never reveals whether an address is already known.
    """
    indexes = services.indexer.all_versions(address)
    existing = find_contacts(session, sender.id, indexes)
    contact = existing[0] if existing else None

    if contact is not None and contact.status == ContactStatus.CONFIRMED:
        log.info("consent.subscribe_already_confirmed", sender_id=sender.id, contact_id=contact.id)
        return
    sent_at = contact.confirmation_sent_at if contact is not None else None
    cooldown = timedelta(minutes=services.settings.confirmation_resend_cooldown_minutes)
    if contact is not None and sent_at is not None and utcnow() - sent_at < cooldown:
        log.info("consent.subscribe_cooldown", sender_id=sender.id, contact_id=contact.id)
        return

    sticky = [
        entry.reason
        for entry in active_entries(session, sender.id, indexes)
        if entry.reason in ("complaint", "hard_bounce")
    ]
    if sticky:
        # A complaint or a hard bounce is lifted only by an audited admin
        # override: sending a confirmation email would ignore the complaint.
        log.info("consent.subscribe_blocked_by_suppression", sender_id=sender.id, reasons=sticky)
        return

    contact, key = _contact_and_key(session, services, sender.id, contact, address, proof)
    contact.status = ContactStatus.PENDING
    contact.reminder_sent_at = None
    _ensure_subscriptions(session, contact, proof.topics)
    given = _append_given(session, contact, key, proof, client)
    _send_confirmation(session, services, sender, contact, key, address, given)
    record_event(
        session,
        sender.id,
        actor="subscriber",
        action="consent.given",
        object_type="contact",
        object_id=contact.id,
    )
    log.info("consent.given", sender_id=sender.id, contact_id=contact.id, record_id=given.id)


def record_consent(
    session: Session,
    services: Services,
    sender: Sender,
    address: str,
    proof: SignupProof,
    client: ClientInfo,
    *,
    double_opt_in: bool,
    actor: str,
) -> tuple[Contact, ConsentRecord]:
    """Record a consent or relationship collected outside the public form (API, import, sale).

    With ``double_opt_in`` the contact gets the confirmation email, as from
    the form; without it the record stands as given, and the lawful-basis
    rules decide what it is worth (an unconfirmed survey consent is worth
    nothing until confirmed, a sale with an opt-out offered is a soft opt-in).
    A suppression entry is never lifted here: only the person's own
    confirmed double opt-in lifts one.
    """
    existing = find_contacts(session, sender.id, services.indexer.all_versions(address))
    contact, key = _contact_and_key(
        session, services, sender.id, existing[0] if existing else None, address, proof
    )
    # The address of a confirmed contact is already proven; a new topic for
    # it, or a record that asks no confirmation, is effective at once.
    needs_confirmation = double_opt_in and contact.status != ContactStatus.CONFIRMED
    _ensure_subscriptions(
        session,
        contact,
        proof.topics,
        SubscriptionStatus.PENDING if needs_confirmation else SubscriptionStatus.CONFIRMED,
    )
    given = _append_given(session, contact, key, proof, client)
    if needs_confirmation:
        contact.status = ContactStatus.PENDING
        contact.reminder_sent_at = None
        _send_confirmation(session, services, sender, contact, key, address, given)
    record_event(
        session,
        sender.id,
        actor=actor,
        action="consent.recorded",
        object_type="contact",
        object_id=contact.id,
    )
    log.info("consent.recorded", sender_id=sender.id, contact_id=contact.id, record_id=given.id)
    return contact, given


def _contact_and_key(
    session: Session,
    services: Services,
    sender_id: str,
    contact: Contact | None,
    address: str,
    proof: SignupProof,
) -> tuple[Contact, bytes]:
    """Return the contact (created when new) and its data key, with the sign-up's facts."""
    if contact is None:
        contact = Contact(sender_id=sender_id, locale=proof.language, status=ContactStatus.IMPORTED)
        key = services.keystore.create_key(contact.id)
        contact.email_ciphertext = encrypt_field(key, contact.id, "email", address.strip())
        current = services.indexer.current(address)
        contact.email_index = current.digest
        contact.email_index_version = current.version
    else:
        found_key = services.keystore.get_key(contact.id)
        if found_key is None:
            raise RuntimeError(f"contact {contact.id} has an index but no data key")
        key = found_key
        contact.locale = proof.language
    # The latest sign-up's country and audience choose the regime.
    if proof.country is not None:
        contact.country = proof.country
    if proof.audience is not None:
        contact.audience = proof.audience
    session.add(contact)
    session.flush()
    return contact, key


def _append_given(
    session: Session, contact: Contact, key: bytes, proof: SignupProof, client: ClientInfo
) -> ConsentRecord:
    # The IP address and user agent at sign-up are kept apart from those at
    # confirmation (each in its own record), encrypted under the contact's key.
    personal = json.dumps({"ip": client.ip, "user_agent": client.user_agent})
    return ledger.append(
        session,
        ConsentRecord(
            sender_id=contact.sender_id,
            contact_id=contact.id,
            action=ConsentAction.GIVEN,
            topics=json.dumps(sorted(proof.topics)),
            lawful_basis=proof.lawful_basis,
            regime=proof.regime,
            source=proof.source,
            form_id=proof.form_id,
            form_url=proof.form_url,
            wording_version=proof.wording_version,
            wording_sha256=hashlib.sha256(proof.wording_text.encode("utf-8")).hexdigest(),
            privacy_policy_url=proof.privacy_policy_url,
            privacy_policy_version=proof.privacy_policy_version,
            language=proof.language,
            personal_ciphertext=encrypt_field(key, contact.id, "consent", personal),
            country=proof.country,
            audience=proof.audience,
            relationship_at=proof.relationship_at,
            opt_out_offered=proof.opt_out_offered,
            related_to_profession=proof.related_to_profession,
            declared_minor=proof.declared_minor,
            parental_consent=proof.parental_consent,
            has_proof=proof.has_proof,
            prev_hash="",
            record_hash="",
        ),
    )


def _send_confirmation(
    session: Session,
    services: Services,
    sender: Sender,
    contact: Contact,
    key: bytes,
    address: str,
    given: ConsentRecord,
) -> None:
    """Queue the double opt-in email in the same transaction as the consent record."""
    issued = services.tokens.issue_token(
        TokenPurpose.CONFIRM,
        contact.id,
        sender.id,
        timedelta(hours=services.settings.confirmation_ttl_hours),
    )
    contact.confirmation_token_id = issued.token_id
    message = emails.confirmation_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        address.strip(),
        contact.locale,
        emails.Links(
            action=f"{services.settings.public_url}/c/{issued.token}",
            **_standing_links(services, sender, contact),
        ),
        services.settings.confirmation_ttl_hours,
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=key,
        kind="double_opt_in",
        idempotency_key=f"doi:{contact.id}:{given.id}",
        message=message,
    )
    contact.confirmation_sent_at = utcnow()
    session.add(contact)
    session.flush()


def _standing_links(services: Services, sender: Sender, contact: Contact) -> dict[str, str]:
    """Unsubscribe and receipt links for an email: they must work 60 days and more."""
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    base = services.settings.public_url
    unsubscribe = services.tokens.issue(TokenPurpose.UNSUBSCRIBE, contact.id, sender.id, lifetime)
    receipt = services.tokens.issue(TokenPurpose.RECEIPT, contact.id, sender.id, lifetime)
    return {"unsubscribe": f"{base}/u/{unsubscribe}", "receipt": f"{base}/r/{receipt}"}


def _ensure_subscriptions(
    session: Session,
    contact: Contact,
    topics: list[str],
    status: SubscriptionStatus = SubscriptionStatus.PENDING,
) -> None:
    current = {
        row.topic: row
        for row in session.exec(select(Subscription).where(Subscription.contact_id == contact.id))
    }
    for topic in topics:
        row = current.get(topic)
        if row is None:
            row = Subscription(sender_id=contact.sender_id, contact_id=contact.id, topic=topic)
        row.status = status
        row.updated_at = utcnow()
        session.add(row)
    session.flush()


@dataclass(frozen=True)
class PageLink:
    contact: Contact
    claims: TokenClaims


def open_link(session: Session, services: Services, token: str, purpose: TokenPurpose) -> PageLink:
    """Return the contact a page link points to, with the link's claims (scope, issue time).

    :raises LinkError: ``invalid``, ``expired``, ``revoked``, ``used``, or
        ``gone`` when the contact was erased or its sign-up purged.
    """
    try:
        claims = services.tokens.verify(token, purpose)
    except TokenError as error:
        raise LinkError(error.reason) from None

    contact = session.get(Contact, claims.subject_id)
    if contact is None or contact.sender_id != claims.sender_id:
        raise LinkError("invalid")
    if contact.status in (ContactStatus.ERASED, ContactStatus.EXPIRED):
        raise LinkError("gone")
    if contact.links_not_before is not None and claims.issued_at < contact.links_not_before:
        raise LinkError("revoked")
    # A confirmation link works once, and only the newest one works: an old
    # link must not re-subscribe someone who has since unsubscribed.
    replaced = (
        contact.status != ContactStatus.PENDING or claims.token_id != contact.confirmation_token_id
    )
    if purpose is TokenPurpose.CONFIRM and contact.status != ContactStatus.CONFIRMED and replaced:
        raise LinkError("used")
    return PageLink(contact, claims)


def contact_from_token(
    session: Session, services: Services, token: str, purpose: TokenPurpose
) -> Contact:
    """Return the contact a page link points to; see :func:`open_link`."""
    return open_link(session, services, token, purpose).contact


@dataclass(frozen=True)
class ConfirmOutcome:
    already_confirmed: bool
    # Suppression reasons that a double opt-in cannot lift (complaint, hard bounce).
    still_suppressed: list[str]


def confirm(
    session: Session, services: Services, contact: Contact, client: ClientInfo
) -> ConfirmOutcome:
    """Confirm a pending sign-up (double opt-in) and send the welcome email."""
    if contact.status != ContactStatus.PENDING:
        return ConfirmOutcome(already_confirmed=True, still_suppressed=[])

    key = data_key(services, contact)
    address = decrypt_field(key, contact.id, "email", contact.email_ciphertext or b"")
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")

    given = session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.contact_id == contact.id, ConsentRecord.action == ConsentAction.GIVEN)
        .order_by(col(ConsentRecord.id).desc())
    ).first()
    if given is None:
        raise RuntimeError(f"contact {contact.id} is pending without a consent record")

    personal = json.dumps({"ip": client.ip, "user_agent": client.user_agent})
    confirmed = ledger.append(
        session,
        ConsentRecord(
            sender_id=contact.sender_id,
            contact_id=contact.id,
            action=ConsentAction.CONFIRMED,
            topics=given.topics,
            lawful_basis=given.lawful_basis,
            regime=given.regime,
            source=given.source,
            form_id=given.form_id,
            wording_version=given.wording_version,
            wording_sha256=given.wording_sha256,
            privacy_policy_url=given.privacy_policy_url,
            privacy_policy_version=given.privacy_policy_version,
            language=given.language,
            personal_ciphertext=encrypt_field(key, contact.id, "consent", personal),
            confirms_record_id=given.id,
            country=given.country,
            audience=given.audience,
            relationship_at=given.relationship_at,
            opt_out_offered=given.opt_out_offered,
            related_to_profession=given.related_to_profession,
            declared_minor=given.declared_minor,
            parental_consent=given.parental_consent,
            has_proof=True,
            prev_hash="",
            record_hash="",
        ),
    )

    contact.status = ContactStatus.CONFIRMED
    contact.confirmed_at = utcnow()
    contact.confirmation_token_id = None
    session.add(contact)
    for subscription in session.exec(
        select(Subscription).where(Subscription.contact_id == contact.id)
    ):
        if subscription.status == SubscriptionStatus.PENDING:
            subscription.status = SubscriptionStatus.CONFIRMED
            subscription.updated_at = utcnow()
            session.add(subscription)

    actor = f"contact:{contact.id}"
    remaining = lift_after_double_opt_in(
        session, contact.sender_id, services.indexer.all_versions(address), actor
    )
    record_event(
        session,
        contact.sender_id,
        actor=actor,
        action="consent.confirmed",
        object_type="contact",
        object_id=contact.id,
    )

    _queue_welcome(session, services, sender, contact, key, address, confirmed.id)
    log.info(
        "consent.confirmed",
        sender_id=contact.sender_id,
        contact_id=contact.id,
        record_id=confirmed.id,
    )
    return ConfirmOutcome(already_confirmed=False, still_suppressed=remaining)


def _queue_welcome(
    session: Session,
    services: Services,
    sender: Sender,
    contact: Contact,
    key: bytes,
    address: str,
    record_id: int | None,
) -> None:
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    preferences = services.tokens.issue(TokenPurpose.PREFERENCES, contact.id, sender.id, lifetime)
    message = emails.welcome_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        address,
        contact.locale,
        emails.Links(
            action=f"{services.settings.public_url}/p/{preferences}",
            **_standing_links(services, sender, contact),
        ),
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=key,
        kind="welcome",
        idempotency_key=f"welcome:{contact.id}:{record_id}",
        message=message,
    )
