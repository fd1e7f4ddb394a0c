"""Retention of prospects: find and purge contacts the person has not contacted for too long.

The CNIL's guidance for commercial prospecting keeps a prospect's data
three years from collection or from the last contact that came from the
prospect. An email open is not such a contact. Here a contact from the
person is any of:

- the collection itself (the contact row's creation) and a double opt-in
  confirmation;
- a consent record given, confirmed or updated, except imported ones,
  which the sender made and the person did not;
- the date of a purchase, inquiry or other relationship recorded with a
  consent record (``relationship_at``): an active customer counts as contacted;
- an action of the person on a preference page or link, except
  unsubscribing and giving a reason for leaving, which ask for no contact;
- a click on a campaign link.

Withdrawals, opens, deliveries, bounces and the sender's imports do not
count. A purge goes through :func:`consent.service.erase_contact`, the
same path as a data-subject erasure, but adds no suppression entry: the
person did not ask to stop, and may sign up again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, Exists, func, or_
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    PreferenceEvent,
    PreferenceMethod,
)
from consent.service import erase_contact
from suppression.retention import AgeCounts, last_click_times

log = structlog.get_logger(__name__)

BATCH_SIZE = 500

# Contacts that still contain personal data. Erased and expired contacts have none.
LIVE_STATUSES = (
    ContactStatus.IMPORTED,
    ContactStatus.PENDING,
    ContactStatus.CONFIRMED,
    ContactStatus.UNSUBSCRIBED,
)
PERSON_CONSENT_ACTIONS = (ConsentAction.GIVEN, ConsentAction.CONFIRMED, ConsentAction.UPDATED)
# An import is the sender's act, not the person's.
SENDER_SOURCES = ("import",)
# Methods through which the person acts. The "api" and "complaint" methods
# are acts of the sender or of the mailbox provider.
PERSON_PREFERENCE_METHODS = (
    PreferenceMethod.ONE_CLICK,
    PreferenceMethod.PAGE,
    PreferenceMethod.LINK,
)
# Leaving is no wish to be contacted, just as a withdrawn consent is not.
LEAVING_PREFERENCE_KINDS = ("unsubscribe", "leave_reason")


@dataclass(frozen=True)
class ProspectActivity:
    contact_id: str
    sender_id: str
    # The blind index of the address (never the address), to match open requests.
    email_index: str | None
    last_contact_at: datetime


@dataclass(frozen=True)
class ProspectPage:
    prospects: list[ProspectActivity]
    # The last contact id read: pass it as ``after_id`` for the next page.
    # None when this page was the last one.
    last_id: str | None


def _recent_consent(since: datetime) -> Exists:
    return (
        select(ConsentRecord.id)
        .where(
            ConsentRecord.contact_id == Contact.id,
            col(ConsentRecord.action).in_(PERSON_CONSENT_ACTIONS),
            col(ConsentRecord.source).not_in(SENDER_SOURCES),
            ConsentRecord.created_at >= since,
        )
        .exists()
    )


def _recent_relationship(since: datetime) -> Exists:
    return (
        select(ConsentRecord.id)
        .where(ConsentRecord.contact_id == Contact.id, col(ConsentRecord.relationship_at) >= since)
        .exists()
    )


def _recent_preference(since: datetime) -> Exists:
    return (
        select(PreferenceEvent.id)
        .where(
            PreferenceEvent.contact_id == Contact.id,
            col(PreferenceEvent.method).in_(PERSON_PREFERENCE_METHODS),
            col(PreferenceEvent.kind).not_in(LEAVING_PREFERENCE_KINDS),
            PreferenceEvent.created_at >= since,
        )
        .exists()
    )


def prospects_without_contact_since(
    session: Session,
    since: datetime | None,
    *,
    sender_id: str | None = None,
    after_id: str | None = None,
    limit: int = BATCH_SIZE,
) -> ProspectPage:
    """Return one page of live contacts whose last contact from the person is before ``since``.

    With ``since`` None, every live contact is returned with its last
    contact date. Pages follow contact ids. A page may contain fewer than
    ``limit`` prospects and still not be the last, because clicks are
    checked after the database filter.
    """
    query = select(Contact.id, Contact.sender_id, Contact.email_index).where(
        col(Contact.status).in_(LIVE_STATUSES)
    )
    if sender_id is not None:
        query = query.where(Contact.sender_id == sender_id)
    if after_id is not None:
        query = query.where(col(Contact.id) > after_id)
    if since is not None:
        # Every source of contact stored in consent tables is filtered in the
        # database. Clicks are stored by the suppression package and checked after.
        query = query.where(
            Contact.created_at < since,
            or_(col(Contact.confirmed_at).is_(None), col(Contact.confirmed_at) < since),
            ~_recent_consent(since),
            ~_recent_relationship(since),
            ~_recent_preference(since),
        )
    rows = session.exec(query.order_by(col(Contact.id)).limit(limit)).all()
    last_id = rows[-1][0] if len(rows) == limit else None

    activity = last_contacts(session, [(row[0], row[1], row[2]) for row in rows])
    prospects = [item for item in activity if since is None or item.last_contact_at < since]
    return ProspectPage(prospects, last_id)


def last_contacts(
    session: Session, contacts: Iterable[tuple[str, str, str | None]]
) -> list[ProspectActivity]:
    """Compute the last contact from the person of each (contact id, sender id, blind index)."""
    keys = list(contacts)
    if not keys:
        return []
    ids = [contact_id for contact_id, _, _ in keys]
    latest: dict[str, datetime] = {}

    def keep(contact_id: str | None, moment: datetime | None) -> None:
        if contact_id is None or moment is None:
            return
        if contact_id not in latest or moment > latest[contact_id]:
            latest[contact_id] = moment

    for contact_id, created_at, confirmed_at in session.exec(
        select(Contact.id, Contact.created_at, Contact.confirmed_at).where(col(Contact.id).in_(ids))
    ):
        keep(contact_id, created_at)
        keep(contact_id, confirmed_at)

    consent_rows = session.exec(
        select(ConsentRecord.contact_id, func.max(ConsentRecord.created_at))
        .where(
            col(ConsentRecord.contact_id).in_(ids),
            col(ConsentRecord.action).in_(PERSON_CONSENT_ACTIONS),
            col(ConsentRecord.source).not_in(SENDER_SOURCES),
        )
        .group_by(col(ConsentRecord.contact_id))
    )
    for contact_id, moment in consent_rows:
        keep(contact_id, moment)

    relationship_rows = session.exec(
        select(ConsentRecord.contact_id, func.max(ConsentRecord.relationship_at))
        .where(col(ConsentRecord.contact_id).in_(ids))
        .group_by(col(ConsentRecord.contact_id))
    )
    for contact_id, relationship_at in relationship_rows:
        keep(contact_id, relationship_at)

    preference_rows = session.exec(
        select(PreferenceEvent.contact_id, func.max(PreferenceEvent.created_at))
        .where(
            col(PreferenceEvent.contact_id).in_(ids),
            col(PreferenceEvent.method).in_(PERSON_PREFERENCE_METHODS),
            col(PreferenceEvent.kind).not_in(LEAVING_PREFERENCE_KINDS),
        )
        .group_by(col(PreferenceEvent.contact_id))
    )
    for contact_id, moment in preference_rows:
        keep(contact_id, moment)

    by_sender: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for contact_id, sender_id, digest in keys:
        by_sender[sender_id].append((contact_id, digest))
    for sender_id, members in by_sender.items():
        clicks = last_click_times(
            session,
            sender_id,
            [contact_id for contact_id, _ in members],
            [digest for _, digest in members if digest],
        )
        for contact_id, digest in members:
            keep(contact_id, clicks.by_contact.get(contact_id))
            keep(contact_id, clicks.by_index.get(digest) if digest else None)

    return [
        ProspectActivity(contact_id, sender_id, digest, latest[contact_id])
        for contact_id, sender_id, digest in keys
        if contact_id in latest
    ]


def lock_live_contact(session: Session, contact_id: str) -> Contact | None:
    """Lock a live contact's row; None when it is not live or another worker holds it.

    SKIP LOCKED (PostgreSQL) lets several retention workers run at once:
    each contact is handled by whichever worker locks it first. SQLite
    ignores the clause and serialises writers instead.
    """
    return session.exec(
        select(Contact)
        .where(Contact.id == contact_id, col(Contact.status).in_(LIVE_STATUSES))
        .with_for_update(skip_locked=True)
    ).first()


def purge_prospect(
    session: Session, services: Services, contact_id: str, since: datetime, rule: str
) -> bool:
    """Erase a contact whose last contact from the person is before ``since``; False if not due.

    The contact is locked and its last contact read again inside this
    transaction, so a click or sign-up that arrived after the listing keeps
    it. No suppression entry is added (see the module docstring).
    """
    contact = lock_live_contact(session, contact_id)
    if contact is None:
        return False
    activity = last_contacts(session, [(contact.id, contact.sender_id, contact.email_index)])
    if not activity or activity[0].last_contact_at >= since:
        return False

    actor = f"retention:{rule}"
    erase_contact(session, services, contact, actor=actor)
    record_event(
        session,
        contact.sender_id,
        actor=actor,
        action="retention.purged",
        object_type="contact",
        object_id=contact.id,
    )
    log.info("retention.purged", rule=rule, sender_id=contact.sender_id, contact_id=contact.id)
    return True


def expired_signup_ids(
    session: Session,
    now: datetime,
    ttl: timedelta,
    *,
    sender_id: str | None = None,
    after_id: str | None = None,
    limit: int = BATCH_SIZE,
) -> list[str]:
    """Return ids of pending sign-ups whose confirmation link expired, in id order.

    The purge itself is :func:`consent.maintenance.purge_expired`.
    """
    query = select(Contact.id).where(
        Contact.status == ContactStatus.PENDING,
        col(Contact.confirmation_sent_at) <= now - ttl,
    )
    if sender_id is not None:
        query = query.where(Contact.sender_id == sender_id)
    if after_id is not None:
        query = query.where(col(Contact.id) > after_id)
    return list(session.exec(query.order_by(col(Contact.id)).limit(limit)).all())


def pending_signup_ages(
    session: Session, now: datetime, ttl: timedelta, window: timedelta, sender_id: str | None
) -> AgeCounts:
    """Count pending sign-ups whose link has expired, and those expiring within ``window``."""
    expired_at_or_before = now - ttl
    sent_at = col(Contact.confirmation_sent_at)

    def count(*conditions: ColumnElement[bool]) -> int:
        query = (
            select(func.count())
            .select_from(Contact)
            .where(Contact.status == ContactStatus.PENDING, *conditions)
        )
        if sender_id is not None:
            query = query.where(Contact.sender_id == sender_id)
        return session.exec(query).one()

    due_now = count(sent_at <= expired_at_or_before)
    due_in_window = count(sent_at > expired_at_or_before, sent_at <= expired_at_or_before + window)
    oldest = select(func.min(Contact.confirmation_sent_at)).where(
        Contact.status == ContactStatus.PENDING, sent_at > expired_at_or_before
    )
    if sender_id is not None:
        oldest = oldest.where(Contact.sender_id == sender_id)
    oldest_at = session.exec(oldest).one()
    return AgeCounts(due_now, due_in_window, oldest_at + ttl if oldest_at else None)
