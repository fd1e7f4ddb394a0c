"""Mailing lists, their memberships and the 7-day list-deletion lock.

A list used by a campaign cannot be deleted until 7 days after that
campaign's send, so that deleting and re-creating a list cannot reset
per-contact send limits. The lock is checked inside the deleting
transaction with the list row locked, and marking a campaign sent locks
the same rows, so a delete and a send cannot interleave.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import utcnow
from suppression.errors import ListLocked
from suppression.models import Campaign, CampaignList, ListMembership, MailingList, MembershipStatus

log = structlog.get_logger(__name__)

LIST_LOCK_PERIOD = timedelta(days=7)


def create_list(session: Session, sender_id: str, name: str, actor: str) -> MailingList:
    mailing_list = MailingList(sender_id=sender_id, name=name)
    session.add(mailing_list)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="list.created",
        object_type="list",
        object_id=mailing_list.id,
    )
    return mailing_list


def get_list(
    session: Session, sender_id: str, list_id: str, *, for_update: bool = False
) -> MailingList:
    """Return a live list of this sender.

    :raises NotFound: for an unknown id, another sender's list or a deleted list.
    """
    query = select(MailingList).where(MailingList.id == list_id, MailingList.sender_id == sender_id)
    if for_update:
        query = query.with_for_update(key_share=True)
    mailing_list = session.exec(query).first()
    if mailing_list is None or mailing_list.deleted_at is not None:
        raise NotFound(N_("List %(list_id)s not found for this sender."), list_id=safe_id(list_id))
    return mailing_list


@dataclass(frozen=True)
class ListLock:
    locked_until: datetime
    campaign_id: str


def current_lock(session: Session, list_id: str, now: datetime) -> ListLock | None:
    """Return the lock from the latest send that used the list, or None when unlocked."""
    latest = session.exec(
        select(Campaign.id, Campaign.sent_at)
        .join(CampaignList, col(CampaignList.campaign_id) == col(Campaign.id))
        .where(CampaignList.list_id == list_id, col(Campaign.sent_at).is_not(None))
        .order_by(col(Campaign.sent_at).desc())
        .limit(1)
    ).first()
    if latest is None or latest[1] is None:
        return None
    locked_until = latest[1] + LIST_LOCK_PERIOD
    if now >= locked_until:
        return None
    return ListLock(locked_until, latest[0])


def delete_list(
    session: Session, sender_id: str, list_id: str, actor: str, now: datetime | None = None
) -> MailingList:
    """Delete a list unless a send in the last 7 days used it.

    Memberships are removed; suppression entries scoped to the list are kept,
    so its opt-outs stay in force.

    :raises ListLocked: with the date the lock ends.
    """
    moment = now or utcnow()
    mailing_list = get_list(session, sender_id, list_id, for_update=True)
    lock = current_lock(session, list_id, moment)
    if lock is not None:
        log.info(
            "list.delete_locked", sender_id=sender_id, list_id=list_id, campaign_id=lock.campaign_id
        )
        raise ListLocked(list_id, lock.locked_until, lock.campaign_id)

    memberships = session.exec(
        select(ListMembership).where(ListMembership.list_id == list_id)
    ).all()
    for membership in memberships:
        session.delete(membership)
    mailing_list.deleted_at = moment
    session.add(mailing_list)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="list.deleted",
        object_type="list",
        object_id=list_id,
    )
    log.info(
        "list.deleted", sender_id=sender_id, list_id=list_id, memberships_removed=len(memberships)
    )
    return mailing_list


@dataclass(frozen=True)
class MembershipChange:
    added: int
    already_members: int
    removed: int
    not_members: int


def change_members(
    session: Session,
    sender_id: str,
    list_id: str,
    add: Iterable[str],
    remove: Iterable[str],
    actor: str,
) -> MembershipChange:
    """Add and remove contacts by id. Members not named are left untouched.

    There is deliberately no "replace all members" operation: a caller that
    sees only part of a list could otherwise drop the members it cannot see.
    """
    get_list(session, sender_id, list_id)
    stored = {
        row.contact_id: row
        for row in session.exec(select(ListMembership).where(ListMembership.list_id == list_id))
    }
    to_remove = set(remove)
    to_add = [contact_id for contact_id in dict.fromkeys(add) if contact_id not in to_remove]

    removed = missing = 0
    for contact_id in to_remove:
        row = stored.pop(contact_id, None)
        if row is None:
            missing += 1
            continue
        session.delete(row)
        removed += 1

    added = already = 0
    for contact_id in to_add:
        row = stored.get(contact_id)
        if row is not None:
            # An unsubscribed membership stays unsubscribed: adding the contact
            # again must not re-subscribe someone who left.
            already += 1
            continue
        session.add(ListMembership(sender_id=sender_id, list_id=list_id, contact_id=contact_id))
        added += 1

    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="list.members_changed",
        object_type="list",
        object_id=list_id,
    )
    return MembershipChange(added, already, removed, missing)


def member_count(session: Session, list_id: str) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ListMembership)
            .where(
                ListMembership.list_id == list_id,
                ListMembership.status == MembershipStatus.SUBSCRIBED,
            )
        ).one()
    )


def remove_contact_memberships(session: Session, contact_id: str) -> int:
    """Delete every membership of a contact (erasure). The list lock never applies here."""
    statement = delete(ListMembership).where(col(ListMembership.contact_id) == contact_id)
    result = session.exec(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)


def unsubscribe_contact_everywhere(session: Session, contact_id: str) -> int:
    """Mark every membership of a contact unsubscribed (global unsubscribe)."""
    rows = session.exec(select(ListMembership).where(ListMembership.contact_id == contact_id)).all()
    for row in rows:
        row.status = MembershipStatus.UNSUBSCRIBED
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    return len(rows)


def resubscribe_memberships(
    session: Session, contact_id: str, list_ids: Collection[str] | None, keep_left: Collection[str]
) -> int:
    """Mark unsubscribed memberships subscribed again (an unsubscribe reversed by an admin).

    ``list_ids`` None means every list of the contact. Lists in ``keep_left``
    stay unsubscribed. Return how many memberships changed.
    """
    statement = select(ListMembership).where(
        ListMembership.contact_id == contact_id,
        ListMembership.status == MembershipStatus.UNSUBSCRIBED,
    )
    if list_ids is not None:
        statement = statement.where(col(ListMembership.list_id).in_(list(list_ids)))
    changed = 0
    for row in session.exec(statement).all():
        if row.list_id in keep_left:
            continue
        row.status = MembershipStatus.SUBSCRIBED
        row.updated_at = utcnow()
        session.add(row)
        changed += 1
    session.flush()
    return changed


def contact_list_count(session: Session, contact_id: str) -> int:
    """How many lists a contact belongs to, whatever the membership status."""
    return int(
        session.exec(
            select(func.count())
            .select_from(ListMembership)
            .where(ListMembership.contact_id == contact_id)
        ).one()
    )


def unsubscribe_from_list(session: Session, sender_id: str, list_id: str, contact_id: str) -> bool:
    """Mark one membership unsubscribed; False when the contact is not on that list."""
    row = session.exec(
        select(ListMembership).where(
            ListMembership.sender_id == sender_id,
            ListMembership.list_id == list_id,
            ListMembership.contact_id == contact_id,
        )
    ).first()
    if row is None:
        return False
    row.status = MembershipStatus.UNSUBSCRIBED
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return True


def memberships_of(session: Session, contact_id: str) -> list[tuple[ListMembership, MailingList]]:
    """The contact's memberships with their lists, deleted lists left out."""
    rows = session.exec(
        select(ListMembership, MailingList)
        .join(MailingList, col(MailingList.id) == col(ListMembership.list_id))
        .where(ListMembership.contact_id == contact_id, col(MailingList.deleted_at).is_(None))
        .order_by(col(MailingList.name))
    ).all()
    return [(membership, mailing_list) for membership, mailing_list in rows]
