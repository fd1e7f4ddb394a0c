"""Campaigns: the lists they use, their send time, and recipients' engagement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.errors import Conflict, InvalidInput, NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import utcnow
from suppression.models import (
    BounceEvent,
    Campaign,
    CampaignList,
    DeliveryEvent,
    EventKind,
    MailingList,
)

log = structlog.get_logger(__name__)

# A recipient who received each of the sender's last INACTIVE_WINDOW sent
# campaigns and opened or clicked none of them is inactive: such addresses
# are the usual way into spam traps.
INACTIVE_WINDOW = 30


def create_campaign(
    session: Session, sender_id: str, name: str, list_ids: Sequence[str], actor: str
) -> Campaign:
    """Create a campaign that uses ``list_ids`` (live lists of this sender).

    :raises NotFound: when a list id is unknown, another sender's or deleted.
    """
    unique_ids = list(dict.fromkeys(list_ids))
    found = session.exec(
        select(MailingList.id).where(
            col(MailingList.id).in_(unique_ids),
            MailingList.sender_id == sender_id,
            col(MailingList.deleted_at).is_(None),
        )
    ).all()
    missing = sorted(set(unique_ids) - set(found))
    if missing:
        raise NotFound(
            N_("List %(list_id)s not found for this sender."), list_id=safe_id(missing[0])
        )

    campaign = Campaign(sender_id=sender_id, name=name)
    session.add(campaign)
    session.flush()
    for list_id in unique_ids:
        session.add(CampaignList(campaign_id=campaign.id, list_id=list_id))
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="campaign.created",
        object_type="campaign",
        object_id=campaign.id,
    )
    return campaign


def get_campaign(session: Session, sender_id: str, campaign_id: str) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.sender_id != sender_id:
        raise NotFound(
            N_("Campaign %(campaign_id)s not found for this sender."),
            campaign_id=safe_id(campaign_id),
        )
    return campaign


def campaign_list_ids(session: Session, campaign_id: str) -> list[str]:
    return list(
        session.exec(select(CampaignList.list_id).where(CampaignList.campaign_id == campaign_id))
    )


@dataclass(frozen=True)
class SendCounts:
    sent: int = 0
    delivered: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    opens: int = 0
    clicks: int = 0


def mark_sent(
    session: Session,
    sender_id: str,
    campaign_id: str,
    actor: str,
    sent_at: datetime | None = None,
    counts: SendCounts | None = None,
) -> Campaign:
    """Record the campaign's send time, which starts the 7-day lock of its lists.

    :raises Conflict: when the campaign was already marked sent, or one of
        its lists was deleted in the meantime.
    """
    campaign = get_campaign(session, sender_id, campaign_id)
    if campaign.sent_at is not None:
        raise Conflict(
            N_(
                "Campaign %(campaign_id)s was already marked sent at %(sent_at)s (UTC); "
                "a send is recorded once."
            ),
            context={"sent_at": campaign.sent_at.isoformat()},
            campaign_id=campaign_id,
            sent_at=campaign.sent_at.strftime("%Y-%m-%d %H:%M"),
        )

    # Lock the lists in a fixed order, as delete_list does, so that a delete
    # running at the same time either finishes first or finds this send.
    list_ids = sorted(campaign_list_ids(session, campaign_id))
    lists = session.exec(
        select(MailingList)
        .where(col(MailingList.id).in_(list_ids))
        .order_by(col(MailingList.id))
        # NO KEY UPDATE: membership inserts hold KEY SHARE on the list row.
        .with_for_update(key_share=True)
    ).all()
    deleted = [item.id for item in lists if item.deleted_at is not None]
    if deleted:
        raise Conflict(
            N_("List %(list_id)s of this campaign was deleted; create a new campaign without it."),
            context={"list_id": deleted[0]},
            list_id=deleted[0],
        )

    if sent_at is not None and sent_at < campaign.created_at:
        # A send dated before the campaign existed would shorten the lock.
        raise InvalidInput(
            "sent_at",
            N_(
                "Field sent_at is earlier than the campaign's creation; "
                "give the time the send started."
            ),
        )
    campaign.sent_at = sent_at or utcnow()
    if counts is not None:
        campaign.sent_count = counts.sent
        campaign.delivered_count = counts.delivered
        campaign.hard_bounce_count = counts.hard_bounces
        campaign.soft_bounce_count = counts.soft_bounces
        campaign.complaint_count = counts.complaints
        campaign.unsubscribe_count = counts.unsubscribes
        campaign.open_count = counts.opens
        campaign.click_count = counts.clicks
    session.add(campaign)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="campaign.sent",
        object_type="campaign",
        object_id=campaign_id,
    )
    log.info("campaign.sent", sender_id=sender_id, campaign_id=campaign_id, lists=len(list_ids))
    return campaign


@dataclass(frozen=True)
class EngagementEvent:
    blind_index: str
    contact_id: str | None
    kind: EventKind
    occurred_at: datetime


def record_engagement(
    session: Session, sender_id: str, campaign_id: str, events: Iterable[EngagementEvent]
) -> int:
    """Store delivered, open and click events of one campaign; return how many."""
    get_campaign(session, sender_id, campaign_id)
    count = 0
    for event in events:
        session.add(
            DeliveryEvent(
                sender_id=sender_id,
                campaign_id=campaign_id,
                contact_id=event.contact_id,
                blind_index=event.blind_index,
                kind=event.kind.value,
                occurred_at=event.occurred_at,
            )
        )
        count += 1
    session.flush()
    return count


def inactive_window(session: Session, sender_id: str) -> list[str]:
    """Return the ids of the sender's last INACTIVE_WINDOW sent campaigns, newest first."""
    return list(
        session.exec(
            select(Campaign.id)
            .where(Campaign.sender_id == sender_id, col(Campaign.sent_at).is_not(None))
            .order_by(col(Campaign.sent_at).desc())
            .limit(INACTIVE_WINDOW)
        )
    )


def inactive_indexes(
    session: Session,
    sender_id: str,
    digests: Sequence[str],
    window: Sequence[str] | None = None,
) -> set[str]:
    """Return the digests among ``digests`` that are inactive (see INACTIVE_WINDOW).

    ``window`` is what inactive_window returns, for a caller that asks for
    many batches; it is read here when not given.
    """
    if window is None:
        window = inactive_window(session, sender_id)
    if len(window) < INACTIVE_WINDOW or not digests:
        return set()

    inactive: set[str] = set()
    for start in range(0, len(digests), 500):
        chunk = list(digests[start : start + 500])
        received = session.exec(
            select(DeliveryEvent.blind_index, func.count(func.distinct(DeliveryEvent.campaign_id)))
            .where(
                DeliveryEvent.sender_id == sender_id,
                col(DeliveryEvent.campaign_id).in_(list(window)),
                col(DeliveryEvent.blind_index).in_(chunk),
                DeliveryEvent.kind == EventKind.DELIVERED.value,
            )
            .group_by(col(DeliveryEvent.blind_index))
        ).all()
        engaged = set(
            session.exec(
                select(DeliveryEvent.blind_index).where(
                    DeliveryEvent.sender_id == sender_id,
                    col(DeliveryEvent.campaign_id).in_(list(window)),
                    col(DeliveryEvent.blind_index).in_(chunk),
                    col(DeliveryEvent.kind).in_([EventKind.OPEN.value, EventKind.CLICK.value]),
                )
            ).all()
        )
        inactive |= {
            digest
            for digest, campaigns in received
            if campaigns >= INACTIVE_WINDOW and digest not in engaged
        }
    return inactive


def delete_contact_events(
    session: Session,
    contact_id: str,
    digests: Sequence[str],
    sender_id: str,
    limit: int | None = None,
) -> int:
    """Delete a contact's delivery and bounce events (erasure), found by contact id or blind index.

    Set-based deletes: a subject with 10,000 events would otherwise load
    10,000 ORM objects. With ``limit``, at most that many rows go in this
    transaction, so that a subject with a long history does not hold the
    write lock for long. The caller repeats until fewer than ``limit`` go.
    """
    conditions = [[col(DeliveryEvent.contact_id) == contact_id]]
    if digests:
        conditions.append(
            [
                col(DeliveryEvent.sender_id) == sender_id,
                col(DeliveryEvent.blind_index).in_(list(digests)),
                col(DeliveryEvent.contact_id).is_(None),
            ]
        )
    targets: list[tuple[type[DeliveryEvent] | type[BounceEvent], list[Any]]] = [
        (DeliveryEvent, where) for where in conditions
    ]
    if digests:
        # Bounce and complaint events are by blind index only, but they
        # still describe the person: they go too.
        targets.append(
            (
                BounceEvent,
                [
                    col(BounceEvent.sender_id) == sender_id,
                    col(BounceEvent.blind_index).in_(list(digests)),
                ],
            )
        )

    deleted = 0
    for table, where in targets:
        statement = delete(table).where(*where)
        if limit is not None:
            if deleted >= limit:
                break
            # PostgreSQL has no DELETE ... LIMIT: pick the ids first.
            ids = select(table.id).where(*where).limit(limit - deleted)
            statement = delete(table).where(col(table.id).in_(ids))
        result = session.exec(statement.execution_options(synchronize_session=False))
        deleted += result.rowcount
    return deleted
