"""Store pre-send reports per campaign and read the latest one back."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from compliance.checks.findings import CheckReport, Finding, Severity
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.presend.recipient_findings import RecipientFinding
from suppression.campaigns import get_campaign
from suppression.models import CampaignReport


def store_report(
    session: Session, sender_id: str, campaign_id: str, report: CheckReport
) -> CampaignReport:
    """Store ``report`` for the sender's campaign.

    :raises NotFound: when the campaign does not exist or belongs to another sender.
    """
    get_campaign(session, sender_id, campaign_id)
    row = CampaignReport(
        campaign_id=campaign_id,
        sender_id=sender_id,
        verdict=report.decision,
        report=report.to_dict(),
    )
    session.add(row)
    session.flush()
    return row


def latest_report(session: Session, sender_id: str, campaign_id: str) -> CampaignReport:
    """Return the latest stored report of the sender's campaign.

    :raises NotFound: when the campaign is not the sender's or has no report.
    """
    get_campaign(session, sender_id, campaign_id)
    row = session.exec(
        select(CampaignReport)
        .where(CampaignReport.campaign_id == campaign_id)
        .order_by(col(CampaignReport.created_at).desc(), col(CampaignReport.id).desc())
    ).first()
    if row is None:
        raise NotFound(
            N_(
                "Campaign %(campaign_id)s has no stored report; run POST /v1/checks with its "
                "campaign_id first."
            ),
            campaign_id=safe_id(campaign_id),
        )
    return row


def report_from_dict(data: dict[str, Any]) -> CheckReport:
    """Rebuild a report from its stored JSON, so that it renders as HTML again."""
    findings: list[Finding] = []
    for item in data["findings"]:
        kind = RecipientFinding if item.get("area") == "recipients" else Finding
        findings.append(
            kind(
                rule=item["rule"],
                severity=Severity(item["severity"]),
                source=item["source"],
                check=item["check"],
                message_en=item["message"]["en"],
                message_fr=item["message"]["fr"],
                facts=dict(item.get("facts", {})),
                location=item.get("location", ""),
                fix_en=item.get("fix", {}).get("en", ""),
                fix_fr=item.get("fix", {}).get("fr", ""),
            )
        )
    return CheckReport(from_domain=data["from_domain"], findings=tuple(findings))
