"""Sign-up and double opt-in: record consent with its proof, send and confirm the link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import GENESIS_HASH as AUDIT_GENESIS_HASH
from compliance.core.audit import head_query as audit_head_query
from compliance.core.audit import lock_sender, record_event
from compliance.core.blind_index import BlindIndex
from compliance.core.context import Services
from compliance.core.errors import Conflict, NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.keystore import decrypt_field, encrypt_field
from compliance.core.models import OutboxMessage, Sender, utcnow
from compliance.core.outbox import enqueue
from compliance.core.outbox import prepare as prepare_outbox
from compliance.core.tokens import TokenClaims, TokenError, TokenPurpose
from consent import emails, ledger
from consent.headers import email_links
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    Subscription,
    SubscriptionStatus,
)
from consent.service import ClientInfo, LinkError, data_key, find_contacts
from suppression.models import SuppressionReason
from suppression.service import active_entries, lift_after_double_opt_in

log = structlog.get_logger(__name__)


# Suppression reasons that a sender's own file never overrides.
STICKY_REASONS = frozenset({SuppressionReason.ERASED.value, SuppressionReason.OBJECTION.value})


@dataclass(frozen=True)
class SignupProof:
    """The proof the ledger keeps about one consent (GDPR Art. 7(1)) and its basis facts."""

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
    """Record a sign-up with its proof and queue the double opt-in email, in one transaction.

    The caller returns the same response whatever happens here, so that
    the response never reveals whether an address is already known.
    :func:`plan_subscribe`, :func:`prepare_subscribe` and
    :func:`commit_subscribe` do the same in steps, with a short write.
    """
    plan = plan_subscribe(session, services, sender, address)
    if plan is not None:
        _record_signup(session, services, sender, plan.contact, address, proof, client)


@dataclass(frozen=True)
class SubscribePlan:
    """What the reads before a sign-up found: the contact to update, or None for a new one."""

    contact: Contact | None
    indexes: list[BlindIndex]


def plan_subscribe(
    session: Session, services: Services, sender: Sender, address: str
) -> SubscribePlan | None:
    """Return what a sign-up must change, or None when it must change nothing.

    Nothing changes for a confirmed contact, within the resend cooldown, or
    for an address under a complaint or hard-bounce suppression.
    """
    # A known address takes a faster path than a new one, with no data key or
    # no write at all. So the public route pads its response time.
    indexes = services.indexer.all_versions(address)
    found = _standing_contact(session, services, sender.id, indexes)
    if found is _SKIP:
        return None
    return SubscribePlan(found if isinstance(found, Contact) else None, indexes)


class _Skip:
    """The sign-up changes nothing (see :func:`plan_subscribe`)."""


_SKIP = _Skip()


def _standing_contact(
    session: Session,
    services: Services,
    sender_id: str,
    indexes: list[BlindIndex],
    *,
    lock: bool = False,
) -> Contact | _Skip | None:
    if lock:
        # FOR NO KEY UPDATE on a known contact: two sign-ups of one pending
        # address on PostgreSQL check the resend cooldown one after the other.
        existing = list(
            session.exec(
                select(Contact)
                .where(
                    Contact.sender_id == sender_id,
                    col(Contact.email_index).in_([index.digest for index in indexes]),
                )
                .with_for_update(key_share=True)
            ).all()
        )
    else:
        existing = find_contacts(session, sender_id, indexes)
    contact = existing[0] if existing else None

    if contact is not None and contact.status == ContactStatus.CONFIRMED:
        log.info("consent.subscribe_already_confirmed", sender_id=sender_id, contact_id=contact.id)
        return _SKIP
    sent_at = contact.confirmation_sent_at if contact is not None else None
    cooldown = timedelta(minutes=services.settings.confirmation_resend_cooldown_minutes)
    if contact is not None and sent_at is not None and utcnow() - sent_at < cooldown:
        log.info("consent.subscribe_cooldown", sender_id=sender_id, contact_id=contact.id)
        return _SKIP

    sticky = [
        entry.reason
        for entry in active_entries(session, sender_id, indexes)
        if entry.reason in ("complaint", "hard_bounce")
    ]
    if sticky:
        # A complaint or a hard bounce is lifted only by an audited admin
        # override: sending a confirmation email would ignore the complaint.
        log.info("consent.subscribe_blocked_by_suppression", sender_id=sender_id, reasons=sticky)
        return _SKIP
    return contact


def _record_signup(
    session: Session,
    services: Services,
    sender: Sender,
    contact: Contact | None,
    address: str,
    proof: SignupProof,
    client: ClientInfo,
) -> None:
    contact, key = _contact_and_key(session, services, sender.id, contact, address, proof)
    contact.status = ContactStatus.PENDING
    contact.reminder_sent_at = None
    _ensure_subscriptions(session, contact, proof.topics)
    given = _append_given(session, contact, key, proof, client)
    _send_confirmation(session, services, sender, contact, key, address, given)
    _record_given_event(session, sender.id, contact.id, given.id)


def _record_given_event(
    session: Session,
    sender_id: str,
    contact_id: str,
    record_id: int | None,
    *,
    known_head: str | None = None,
) -> None:
    # One audit event per sign-up, because the ledger record contains the proof.
    record_event(
        session,
        sender_id,
        actor="subscriber",
        action="consent.given",
        object_type="contact",
        object_id=contact_id,
        known_head=known_head,
    )
    log.info("consent.given", sender_id=sender_id, contact_id=contact_id, record_id=record_id)


@dataclass(frozen=True)
class PreparedSignup:
    """The sign-up's CPU work, done before the write transaction.

    On SQLite the write transaction takes the database's only write lock.
    The key, the encryption, the three signed links and the rendered email
    are computed before it, so the lock covers the inserts only. Under
    cProfile this work was about 40% of a sign-up request's time.
    """

    # The contact as it will be stored: a new one, or a detached copy of the known one.
    contact: Contact
    new: bool
    token_id: str
    personal_ciphertext: bytes
    # The confirmation email, encrypted; its idempotency key is set at commit.
    outbox: OutboxMessage


def prepare_subscribe(
    services: Services,
    sender: Sender,
    address: str,
    proof: SignupProof,
    client: ClientInfo,
    plan: SubscribePlan,
) -> PreparedSignup:
    """Create or read the data key, encrypt, sign the links and render the email; no SQL."""
    if plan.contact is None:
        contact = Contact(sender_id=sender.id, locale=proof.language, status=ContactStatus.IMPORTED)
        # The key store commits on its own (another database): an orphan key,
        # left when the write below fails or changes its mind, is harmless.
        key = services.keystore.create_key(contact.id)
        contact.email_ciphertext = encrypt_field(key, contact.id, "email", address.strip())
        current = services.indexer.current(address)
        contact.email_index = current.digest
        contact.email_index_version = current.version
    else:
        contact = plan.contact
        found_key = services.keystore.get_key(contact.id)
        if found_key is None:
            raise RuntimeError(f"contact {contact.id} has an index but no data key")
        key = found_key
    issued = services.tokens.issue_token(
        TokenPurpose.CONFIRM,
        contact.id,
        sender.id,
        timedelta(hours=services.settings.confirmation_ttl_hours),
    )
    message = emails.confirmation_email(
        services.jinja,
        sender,
        services.settings.mail_from,
        address.strip(),
        proof.language,
        email_links(
            services, sender.id, contact.id, f"{services.settings.public_url}/c/{issued.token}"
        ),
        services.settings.confirmation_ttl_hours,
    )
    personal = json.dumps({"ip": client.ip, "user_agent": client.user_agent})
    return PreparedSignup(
        contact=contact,
        new=plan.contact is None,
        token_id=issued.token_id,
        personal_ciphertext=encrypt_field(key, contact.id, "consent", personal),
        outbox=prepare_outbox(
            sender_id=sender.id,
            contact_id=contact.id,
            data_key=key,
            kind="double_opt_in",
            idempotency_key="",
            message=message,
        ),
    )


def commit_subscribe(
    session: Session,
    services: Services,
    sender: Sender,
    address: str,
    proof: SignupProof,
    client: ClientInfo,
    plan: SubscribePlan,
    prepared: PreparedSignup,
) -> None:
    """Store a prepared sign-up: contact, topics, ledger record, email and audit event.

    ``session`` must be a fresh write transaction (on SQLite its first
    statement takes the write lock). The checks of :func:`plan_subscribe`
    run again here, with a known contact's row locked. If their result
    changed since the plan, the sign-up is recorded the slow way, all inside
    this transaction. Two sign-ups of one new address can both get past the
    checks on PostgreSQL; the second then fails on the contacts' unique
    (sender, address index) and raises IntegrityError, to be retried.

    The sender lock, which serialises every sign-up of the sender on
    PostgreSQL, is taken last, for the chained inserts only: one statement
    reads both chain heads, and the commit follows the two inserts.
    """
    found = _standing_contact(session, services, sender.id, plan.indexes, lock=True)
    if found is _SKIP:
        return
    current = found if isinstance(found, Contact) else None
    current_id = current.id if current is not None else None
    planned_id = None if prepared.new else prepared.contact.id
    if current_id != planned_id:
        _record_signup(session, services, sender, current, address, proof, client)
        return

    if current is None:
        contact = prepared.contact
    else:
        contact = current
        contact.locale = proof.language
    # The latest sign-up's country and audience choose the regime.
    if proof.country is not None:
        contact.country = proof.country
    if proof.audience is not None:
        contact.audience = proof.audience
    contact.status = ContactStatus.PENDING
    contact.reminder_sent_at = None
    contact.confirmation_token_id = prepared.token_id
    contact.confirmation_sent_at = utcnow()
    session.add(contact)
    if prepared.new:
        # A new contact has no subscription rows: no SELECT needed.
        for topic in proof.topics:
            session.add(Subscription(sender_id=sender.id, contact_id=contact.id, topic=topic))
        session.flush()
    else:
        _ensure_subscriptions(session, contact, proof.topics)

    lock_sender(session, sender.id)
    ledger_head, audit_head = session.exec(
        select(ledger.head_query(sender.id), audit_head_query(sender.id))
    ).one()
    given = ledger.append(
        session,
        _given_record(contact, proof, prepared.personal_ciphertext),
        known_head=ledger_head or ledger.GENESIS_HASH,
    )
    prepared.outbox.idempotency_key = f"doi:{contact.id}:{given.id}"
    session.add(prepared.outbox)
    _record_given_event(
        session, sender.id, contact.id, given.id, known_head=audit_head or AUDIT_GENESIS_HASH
    )


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
    the form; without it the record is kept as given, and the lawful-basis
    rules decide what it is worth (an unconfirmed survey consent is worth
    nothing until confirmed, a sale with an opt-out offered is a soft opt-in).
    A suppression entry is never lifted here: only the person's own
    confirmed double opt-in lifts one.
    """
    indexes = services.indexer.all_versions(address)
    # Taken before the reads, so an erasure that runs now is either seen or waits.
    lock_sender(session, sender.id)
    if not double_opt_in or proof.source == "import":
        reasons = {entry.reason for entry in active_entries(session, sender.id, indexes)}
        if reasons & STICKY_REASONS:
            # An erased or objecting person must not be stored again from a
            # sender's file; only their own confirmed double opt-in brings
            # the address back.
            raise Conflict(
                N_(
                    "This address was erased or objected to marketing; record it only "
                    "through the person's own sign-up with double opt-in."
                ),
                context={"reason": sorted(reasons & STICKY_REASONS)[0]},
            )
    existing = find_contacts(session, sender.id, indexes)
    contact, key = _contact_and_key(
        session, services, sender.id, existing[0] if existing else None, address, proof
    )
    # The address of a confirmed contact is already proven; a new topic for
    # it, or a record that needs no confirmation, is effective at once.
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
        _given_record(contact, proof, encrypt_field(key, contact.id, "consent", personal)),
    )


def _given_record(contact: Contact, proof: SignupProof, personal: bytes) -> ConsentRecord:
    """The ``given`` ledger record of a sign-up; ``personal`` is the encrypted client facts."""
    return ConsentRecord(
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
        personal_ciphertext=personal,
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
        email_links(
            services, sender.id, contact.id, f"{services.settings.public_url}/c/{issued.token}"
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
        email_links(
            services, sender.id, contact.id, f"{services.settings.public_url}/p/{preferences}"
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
