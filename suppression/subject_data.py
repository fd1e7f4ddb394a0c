"""The suppression package's records of one person, for an access export (GDPR Art. 15).

Everything here is found by contact id or by the blind index of the
person's address; nothing is by address in clear.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from compliance.core.models import iso_utc
from suppression.models import (
    BounceEvent,
    DeliveryEvent,
    ListMembership,
    MailingList,
    SuppressionEntry,
)


def subject_records(
    session: Session, sender_id: str, contact_id: str | None, digests: Sequence[str]
) -> dict[str, list[dict[str, object]]]:
    """Lists, suppression entries, engagement and bounce events of one person."""
    lists: list[dict[str, object]] = []
    if contact_id is not None:
        rows = session.exec(
            select(ListMembership, MailingList)
            .join(MailingList, col(MailingList.id) == col(ListMembership.list_id))
            .where(ListMembership.contact_id == contact_id)
            .order_by(col(MailingList.name))
        ).all()
        lists = [
            {
                "list_id": mailing_list.id,
                "list_name": mailing_list.name,
                "status": membership.status,
                "since": iso_utc(membership.created_at),
            }
            for membership, mailing_list in rows
        ]

    entries: list[dict[str, object]] = []
    bounces: list[dict[str, object]] = []
    engagement: list[dict[str, object]] = []
    if digests:
        for entry in session.exec(
            select(SuppressionEntry)
            .where(
                SuppressionEntry.sender_id == sender_id,
                col(SuppressionEntry.blind_index).in_(list(digests)),
            )
            .order_by(col(SuppressionEntry.created_at))
        ):
            entries.append(
                {
                    "reason": entry.reason,
                    "scope": entry.scope,
                    "scope_ref": entry.scope_ref,
                    "source": entry.source,
                    "created_at": iso_utc(entry.created_at),
                    "lifted_at": iso_utc(entry.lifted_at) if entry.lifted_at else None,
                }
            )
        for bounce in session.exec(
            select(BounceEvent)
            .where(
                BounceEvent.sender_id == sender_id,
                col(BounceEvent.blind_index).in_(list(digests)),
            )
            .order_by(col(BounceEvent.occurred_at))
        ):
            bounces.append(
                {
                    "class": bounce.bounce_class,
                    "reason": bounce.reason,
                    "status": bounce.status,
                    "campaign_id": bounce.campaign_id,
                    "occurred_at": iso_utc(bounce.occurred_at),
                }
            )
    query = select(DeliveryEvent).where(DeliveryEvent.sender_id == sender_id)
    if contact_id is not None and digests:
        query = query.where(
            (col(DeliveryEvent.contact_id) == contact_id)
            | col(DeliveryEvent.blind_index).in_(list(digests))
        )
    elif digests:
        query = query.where(col(DeliveryEvent.blind_index).in_(list(digests)))
    elif contact_id is not None:
        query = query.where(DeliveryEvent.contact_id == contact_id)
    else:
        query = query.where(col(DeliveryEvent.id) < 0)
    for event in session.exec(query.order_by(col(DeliveryEvent.occurred_at))):
        engagement.append(
            {
                "campaign_id": event.campaign_id,
                "kind": event.kind,
                "occurred_at": iso_utc(event.occurred_at),
            }
        )
    return {
        "lists": lists,
        "suppression_entries": entries,
        "delivery_events": engagement,
        "bounce_events": bounces,
    }
