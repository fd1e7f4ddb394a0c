"""Counts that the reputation score reads: sent campaigns, reports, spam traps, unsubscribe delay.

Read-only functions: the score never changes what it measures.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from suppression.models import (
    BounceEvent,
    Campaign,
    CampaignReport,
    SuppressionEntry,
    SuppressionReason,
)


def sent_campaigns(session: Session, sender_id: str, limit: int) -> list[Campaign]:
    """Return the sender's latest sent campaigns, newest first."""
    return list(
        session.exec(
            select(Campaign)
            .where(Campaign.sender_id == sender_id, col(Campaign.sent_at).is_not(None))
            .order_by(col(Campaign.sent_at).desc(), col(Campaign.id))
            .limit(limit)
        ).all()
    )


def latest_reports(
    session: Session, sender_id: str, limit: int
) -> list[tuple[CampaignReport, Campaign]]:
    """Return the latest stored pre-send report of each campaign, newest first."""
    newest = (
        select(CampaignReport.campaign_id, func.max(CampaignReport.created_at).label("created"))
        .where(CampaignReport.sender_id == sender_id)
        .group_by(col(CampaignReport.campaign_id))
        .subquery()
    )
    rows = session.exec(
        select(CampaignReport, Campaign)
        .join(
            newest,
            (col(CampaignReport.campaign_id) == newest.c.campaign_id)
            & (col(CampaignReport.created_at) == newest.c.created),
        )
        .join(Campaign, col(Campaign.id) == col(CampaignReport.campaign_id))
        .where(CampaignReport.sender_id == sender_id)
        .order_by(col(CampaignReport.created_at).desc(), col(CampaignReport.id))
        .limit(limit)
    ).all()
    return [(report, campaign) for report, campaign in rows]


def spam_trap_count(session: Session, sender_id: str, since: datetime) -> int:
    """Addresses suppressed as suspected spam traps since ``since``."""
    return session.exec(
        select(func.count())
        .select_from(SuppressionEntry)
        .where(
            SuppressionEntry.sender_id == sender_id,
            SuppressionEntry.reason == SuppressionReason.SPAM_TRAP.value,
            col(SuppressionEntry.created_at) >= since,
        )
    ).one()


def worst_unsubscribe_delay_hours(
    session: Session, sender_id: str, since: datetime
) -> float | None:
    """Return the slowest unsubscribe handled since ``since``, in hours, or None without one.

    An emailed or ESP-reported unsubscribe is suppressed when Sendguard
    ingests it, so its delay is ingestion time minus the time of the
    request. A click on Sendguard's own link is suppressed in the same
    request (delay 0).
    """
    events = session.exec(
        select(BounceEvent.occurred_at, BounceEvent.created_at).where(
            BounceEvent.sender_id == sender_id,
            BounceEvent.bounce_class == "unsubscribe",
            col(BounceEvent.created_at) >= since,
        )
    ).all()
    delays = [max((created - occurred).total_seconds(), 0.0) / 3600 for occurred, created in events]
    own_links = session.exec(
        select(func.count())
        .select_from(SuppressionEntry)
        .where(
            SuppressionEntry.sender_id == sender_id,
            SuppressionEntry.reason == SuppressionReason.UNSUBSCRIBE.value,
            col(SuppressionEntry.created_at) >= since,
        )
    ).one()
    if own_links:
        delays.append(0.0)
    return max(delays) if delays else None
