"""The sender's reputation now, per campaign, projected for a send, and for the dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from compliance.core.context import Services
from compliance.core.models import Sender, utcnow
from compliance.reputation.inputs import (
    Window,
    delivery_inputs,
    gmail_spam_rate,
    report_facts,
    window_inputs,
    with_report_facts,
)
from compliance.reputation.model import (
    CampaignPoint,
    DashboardData,
    OpenRequest,
    ReportSummary,
    Reputation,
)
from compliance.reputation.score import compute_score
from dsr.queries import list_requests
from suppression.models import CampaignReport
from suppression.statistics import latest_reports, sent_campaigns

HISTORY_CAMPAIGNS = 30
DASHBOARD_REPORTS = 10


def current(
    session: Session, sender_id: str, now: datetime | None = None
) -> tuple[Reputation, Window]:
    """Score the sender over the rolling window of its latest campaigns."""
    window = window_inputs(session, sender_id, now)
    return compute_score(window.inputs), window


def _rate(part: int, sent: int) -> float | None:
    return part / sent * 100 if sent else None


def history(
    session: Session, sender_id: str, limit: int = HISTORY_CAMPAIGNS
) -> list[CampaignPoint]:
    """Score each of the latest sent campaigns on its own counts and report, oldest first.

    A campaign's score reads its delivery counts and its own pre-send report
    only: sender-wide facts (Gmail's rate, DSRs, spam traps) belong to the
    current score.
    """
    campaigns = list(reversed(sent_campaigns(session, sender_id, limit)))
    points: list[CampaignPoint] = []
    for campaign in campaigns:
        report = session.exec(
            select(CampaignReport)
            .where(CampaignReport.campaign_id == campaign.id)
            .order_by(col(CampaignReport.created_at).desc(), col(CampaignReport.id).desc())
        ).first()
        facts = [report_facts(report.report)] if report else []
        reputation = compute_score(with_report_facts(delivery_inputs([campaign]), facts))
        assert campaign.sent_at is not None
        points.append(
            CampaignPoint(
                campaign_id=campaign.id,
                name=campaign.name,
                sent_at=campaign.sent_at,
                sent=campaign.sent_count,
                score=reputation.score,
                grade=reputation.grade,
                bounce_rate=_rate(campaign.hard_bounce_count, campaign.sent_count),
                complaint_rate=_rate(campaign.complaint_count, campaign.sent_count),
                unsubscribe_rate=_rate(campaign.unsubscribe_count, campaign.sent_count),
            )
        )
    return points


def projected(
    session: Session,
    sender_id: str,
    report: Mapping[str, Any],
    campaign_id: str | None = None,
) -> Reputation:
    """Score the sender as if a send with this pre-send report went ahead.

    The report's authentication, footer and screened list replace the
    window's. Delivery rates stay those of the window, because the send's
    own bounces and complaints are not known yet.
    """
    window = window_inputs(session, sender_id)
    facts = report_facts(report)
    # The campaign's stored report is this one: it counts once.
    reports = [
        report_facts(row.report)
        for row, _ in latest_reports(session, sender_id, 10)
        if row.campaign_id != campaign_id
    ]
    inputs = with_report_facts(window.inputs, [facts, *reports[:9]])
    # Fields that with_report_facts does not set come from the window.
    inputs = replace(
        inputs,
        gmail_spam_rate=window.inputs.gmail_spam_rate,
        spam_trap_hits=window.inputs.spam_trap_hits,
        unsubscribe_delay_hours=window.inputs.unsubscribe_delay_hours,
        dsr_closed=window.inputs.dsr_closed,
        dsr_closed_late=window.inputs.dsr_closed_late,
        dsr_open_overdue=window.inputs.dsr_open_overdue,
    )
    return compute_score(inputs)


def _summary(report: CampaignReport, name: str) -> ReportSummary:
    summary = report.report.get("summary") if isinstance(report.report, dict) else None
    counts = summary if isinstance(summary, dict) else {}
    return ReportSummary(
        campaign_id=report.campaign_id,
        campaign_name=name,
        created_at=report.created_at,
        verdict=report.verdict,
        blocking=int(counts.get("block", 0)),
        warnings=int(counts.get("warn", 0)),
    )


def dashboard_data(session: Session, services: Services, sender_id: str) -> DashboardData:
    """Gather what the dashboard shows, in one read."""
    sender = session.get(Sender, sender_id)
    if sender is None:
        raise LookupError(f"sender {sender_id} not found")
    now = utcnow()
    reputation, window = current(session, sender_id, now)
    reports = latest_reports(session, sender_id, DASHBOARD_REPORTS)
    open_requests = [
        OpenRequest(
            request_id=request.id,
            type=request.type,
            status=request.status,
            due_at=request.due_at,
            days_left=(request.due_at - now).days,
            overdue=request.due_at < now,
        )
        for request in list_requests(session, sender_id, open_only=True, limit=50)
    ]
    return DashboardData(
        sender_name=sender.name,
        generated_at=now,
        current=reputation,
        window_campaigns=len(window.campaigns),
        history=tuple(history(session, sender_id)),
        reports=tuple(_summary(report, campaign.name) for report, campaign in reports),
        open_requests=tuple(open_requests),
    )


def gmail_recent(session: Session, sender_id: str, now: datetime) -> float | None:
    """Gmail's worst daily spam rate of the last 7 days, as a fraction."""
    return gmail_spam_rate(session, sender_id, now)
