"""Scheduled consent work: the double opt-in reminder and the purge of expired sign-ups.

``serve`` runs it every ``maintenance_interval_seconds``; ``sendguard consent
maintain`` runs it once (for cron or a separate worker). Each contact is
handled in its own transaction, so one failure does not hold back the rest,
and a second run finds nothing left to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.keystore import decrypt_field
from compliance.core.models import Sender, utcnow
from compliance.core.outbox import delete_for_contact, enqueue
from compliance.core.tokens import TokenPurpose
from consent import emails, ledger
from consent.headers import email_links
from consent.models import (
    ConsentCheckpoint,
    Contact,
    ContactStatus,
    Subscription,
    SubscriptionStatus,
)
from suppression.lists import contact_list_count

log = structlog.get_logger(__name__)

_BATCH = 200


@dataclass(frozen=True)
class MaintenanceReport:
    reminders_sent: int
    signups_purged: int
    signups_expired_kept: int
    checkpoints_written: int = 0


def _pending(session: Session, sent_before: datetime, *, reminded: bool | None) -> list[str]:
    query = select(Contact.id).where(
        Contact.status == ContactStatus.PENDING,
        col(Contact.confirmation_sent_at).is_not(None),
        col(Contact.confirmation_sent_at) <= sent_before,
    )
    if reminded is False:
        query = query.where(col(Contact.reminder_sent_at).is_(None))
    return list(session.exec(query.order_by(col(Contact.id)).limit(_BATCH)).all())


def send_reminder(session: Session, services: Services, contact_id: str, now: datetime) -> bool:
    """Queue the one reminder of a pending sign-up; False when it is no longer due.

    The contact's row is locked first, with SKIP LOCKED: when two processes
    run the maintenance at once, the second skips a contact the first is
    reminding, and once the first commits, the second reads its
    ``reminder_sent_at``. (SQLite ignores the clause and serialises writers.)
    """
    settings = services.settings
    contact = session.exec(
        select(Contact).where(Contact.id == contact_id).with_for_update(skip_locked=True)
    ).first()
    if contact is None or contact.status != ContactStatus.PENDING or contact.reminder_sent_at:
        return False
    sent_at = contact.confirmation_sent_at
    expires_at = sent_at + timedelta(hours=settings.confirmation_ttl_hours) if sent_at else now
    key = services.keystore.get_key(contact.id)
    sender = session.get(Sender, contact.sender_id)
    if expires_at <= now or key is None or sender is None or contact.email_ciphertext is None:
        return False

    address = decrypt_field(key, contact.id, "email", contact.email_ciphertext)
    # The reminder's link shares the first link's single use (same jti) and
    # expiry, so either link confirms once and neither outlives the other.
    issued = services.tokens.issue_token(
        TokenPurpose.CONFIRM,
        contact.id,
        sender.id,
        expires_at - now,
        token_id=contact.confirmation_token_id,
    )
    links = email_links(services, sender.id, contact.id, f"{settings.public_url}/c/{issued.token}")
    remaining_hours = max(1, int((expires_at - now).total_seconds() // 3600))
    message = emails.confirmation_email(
        services.jinja,
        sender,
        settings.mail_from,
        address,
        contact.locale,
        links,
        remaining_hours,
        reminder=True,
    )
    enqueue(
        session,
        sender_id=sender.id,
        contact_id=contact.id,
        data_key=key,
        kind="double_opt_in_reminder",
        idempotency_key=f"doi-reminder:{contact.id}:{contact.confirmation_token_id}",
        message=message,
    )
    if contact.confirmation_token_id is None:
        contact.confirmation_token_id = issued.token_id
    contact.reminder_sent_at = now
    session.add(contact)
    record_event(
        session,
        sender.id,
        actor="system",
        action="consent.reminder_sent",
        object_type="contact",
        object_id=contact.id,
    )
    return True


def purge_expired(session: Session, services: Services, contact_id: str, now: datetime) -> str:
    """End a sign-up whose link expired unused (data minimisation, GDPR Art. 5(1)(c)).

    A contact known only through this sign-up is purged: its key is
    destroyed, so the address and the ledger's personal fields become
    unreadable, and queued emails are deleted. A contact that belongs to a
    list, or that was confirmed once before, is kept and returns to its
    earlier status; only the pending topics go.

    Returns ``purged``, ``kept`` or ``skipped``.
    """
    contact = session.get(Contact, contact_id)
    ttl = timedelta(hours=services.settings.confirmation_ttl_hours)
    if (
        contact is None
        or contact.status != ContactStatus.PENDING
        or contact.confirmation_sent_at is None
        or contact.confirmation_sent_at + ttl > now
    ):
        return "skipped"

    pending = session.exec(
        select(Subscription).where(
            Subscription.contact_id == contact.id,
            Subscription.status == SubscriptionStatus.PENDING,
        )
    ).all()
    for subscription in pending:
        session.delete(subscription)
    contact.confirmation_token_id = None

    if contact.confirmed_at is not None or contact_list_count(session, contact.id) > 0:
        # Confirmed once (then unsubscribed), or added to a list by the sender.
        contact.status = (
            ContactStatus.UNSUBSCRIBED if contact.confirmed_at else ContactStatus.IMPORTED
        )
        session.add(contact)
        action, outcome = "consent.signup_expired", "kept"
    else:
        services.keystore.destroy_key(contact.id)
        outbox_ids = delete_for_contact(session, contact.id)
        services.transport.forget(outbox_ids)
        for subscription in session.exec(
            select(Subscription).where(Subscription.contact_id == contact.id)
        ):
            session.delete(subscription)
        contact.email_ciphertext = None
        contact.email_index = None
        contact.status = ContactStatus.EXPIRED
        session.add(contact)
        action, outcome = "consent.signup_purged", "purged"

    session.flush()
    record_event(
        session,
        contact.sender_id,
        actor="system",
        action=action,
        object_type="contact",
        object_id=contact.id,
    )
    log.info(action, sender_id=contact.sender_id, contact_id=contact.id)
    return outcome


def run_maintenance(
    engine: Engine, services: Services, now: datetime | None = None
) -> MaintenanceReport:
    """Send due reminders, then purge expired sign-ups; one transaction per contact."""
    moment = now or utcnow()
    settings = services.settings
    reminders = purged = kept = 0

    if settings.confirmation_reminder_after_hours > 0:
        due = moment - timedelta(hours=settings.confirmation_reminder_after_hours)
        while True:
            with Session(engine) as session:
                batch = _pending(session, due, reminded=False)
            done = 0
            for contact_id in batch:
                with Session(engine) as session:
                    if send_reminder(session, services, contact_id, moment):
                        session.commit()
                        done += 1
            reminders += done
            # Stop when a batch changed nothing (all expired or gone): no loop forever.
            if len(batch) < _BATCH or done == 0:
                break

    expired_before = moment - timedelta(hours=settings.confirmation_ttl_hours)
    while True:
        with Session(engine) as session:
            batch = _pending(session, expired_before, reminded=None)
        changed = 0
        for contact_id in batch:
            with Session(engine) as session:
                outcome = purge_expired(session, services, contact_id, moment)
                session.commit()
            purged += outcome == "purged"
            kept += outcome == "kept"
            changed += outcome != "skipped"
        if len(batch) < _BATCH or changed == 0:
            break

    checkpoints = write_due_checkpoints(engine, services, moment)
    if reminders or purged or kept or checkpoints:
        log.info(
            "consent.maintenance",
            reminders_sent=reminders,
            purged=purged,
            expired_kept=kept,
            checkpoints=checkpoints,
        )
    return MaintenanceReport(reminders, purged, kept, checkpoints)


def write_due_checkpoints(engine: Engine, services: Services, now: datetime) -> int:
    """Write a signed checkpoint for each sender whose last one is older than the interval."""
    folder = services.settings.consent_checkpoint_dir
    if folder is None:
        return 0
    interval = timedelta(hours=services.settings.consent_checkpoint_interval_hours)
    with Session(engine) as session:
        sender_ids = list(session.exec(select(Sender.id)).all())
    written = 0
    for sender_id in sender_ids:
        with Session(engine) as session:
            latest = session.exec(
                select(ConsentCheckpoint.created_at)
                .where(ConsentCheckpoint.sender_id == sender_id)
                .order_by(col(ConsentCheckpoint.created_at).desc())
                .limit(1)
            ).first()
            if latest is not None and latest + interval > now:
                continue
            statement = ledger.create_checkpoint(session, services.signer, sender_id)
            target = Path(folder) / sender_id
            target.mkdir(parents=True, exist_ok=True)
            name = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{statement['id']}.json"
            # Written before the commit: a file without its database row is
            # harmless, while a row without its file would be proof lost.
            (target / name).write_text(
                json.dumps(statement, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            session.commit()
            written += 1
    return written
