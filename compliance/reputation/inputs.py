"""Gather the score's inputs from campaigns, stored pre-send reports, suppression and DSRs.

The rolling window is the sender's 10 latest sent campaigns: a sender who
mails monthly and one who mails daily are both judged on recent sends.
Spam traps, unsubscribe delays, DSRs and Gmail's rate look back 90 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from compliance.core.models import utcnow
from compliance.reputation.model import AuthResult, DmarcResult, ReputationInputs
from compliance.reputation.models import GmailSpamRate
from dsr.queries import timeliness
from suppression.models import Campaign
from suppression.statistics import (
    latest_reports,
    sent_campaigns,
    spam_trap_count,
    worst_unsubscribe_delay_hours,
)

WINDOW_CAMPAIGNS = 10
LOOKBACK = timedelta(days=90)
# Gmail's sender guidelines set 0.3 % as a rate never to reach, so the worst recent day counts.
GMAIL_LOOKBACK = timedelta(days=7)

_FOOTER_PREFIXES = ("unsubscribe.", "address.")


@dataclass(frozen=True)
class ReportFacts:
    """Facts that one stored pre-send report gives the score."""

    spf: AuthResult | None = None
    dkim: AuthResult | None = None
    dmarc: DmarcResult | None = None
    # None when the report did not look at a message (recipients only).
    footer_compliant: bool | None = None
    recipients_screened: int = 0
    recipients_with_basis: int = 0
    recipients_inactive: int = 0


def _findings(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    findings = report.get("findings", [])
    return [item for item in findings if isinstance(item, Mapping)]


def _count(finding: Mapping[str, Any], key: str) -> int:
    facts = finding.get("facts") or {}
    try:
        return int(facts.get(key, 0))
    except (TypeError, ValueError):
        return 0


def _auth(checks: Mapping[str, str], prefix: str, found: Iterable[str]) -> AuthResult | None:
    mine = {check: severity for check, severity in checks.items() if check.startswith(prefix)}
    if not mine:
        return None
    if f"{prefix}missing" in mine or f"{prefix}no_selector" in mine:
        return "missing"
    if any(severity == "block" for severity in mine.values()):
        return "fail"
    return "pass" if any(check in mine for check in found) else "fail"


def _dmarc(checks: Mapping[str, str]) -> DmarcResult | None:
    mine = {check for check in checks if check.startswith("dmarc.")}
    if not mine or mine == {"dmarc.skipped"}:
        return None
    if "dmarc.missing" in mine:
        return "missing"
    if mine & {"dmarc.invalid", "dmarc.multiple", "dmarc.misplaced", "dmarc.invalid_tags"}:
        return "invalid"
    if "dmarc.policy_none" in mine:
        return "monitoring"
    return "enforced" if "dmarc.found" in mine else None


def report_facts(report: Mapping[str, Any]) -> ReportFacts:
    """Read authentication, footer and recipient facts out of a stored report."""
    findings = _findings(report)
    checks: dict[str, str] = {}
    for finding in findings:
        check, severity = str(finding.get("check", "")), str(finding.get("severity", ""))
        # A check's maximum severity decides: a block finding is never replaced.
        if checks.get(check) != "block":
            checks[check] = severity

    footer_checks = [check for check in checks if check.startswith(_FOOTER_PREFIXES)]
    footer_ok = (
        not any(checks[check] == "block" for check in footer_checks) if footer_checks else None
    )

    screened = with_basis = inactive = 0
    no_basis = 0
    for finding in findings:
        check = str(finding.get("check", ""))
        if check == "recipients.screened":
            screened = _count(finding, "total")
        elif check in ("recipients.no_basis", "recipients.no_consent_casl"):
            no_basis += _count(finding, "count")
        elif check.startswith("recipients.") and "inactive" in check:
            inactive += _count(finding, "count")
    if screened:
        with_basis = max(screened - no_basis, 0)

    return ReportFacts(
        spf=_auth(checks, "spf.", ("spf.pass", "spf.found")),
        dkim=_auth(checks, "dkim.", ("dkim.found",)),
        dmarc=_dmarc(checks),
        footer_compliant=footer_ok,
        recipients_screened=screened,
        recipients_with_basis=min(with_basis, screened),
        recipients_inactive=min(inactive, screened),
    )


def delivery_inputs(campaigns: Sequence[Campaign]) -> ReputationInputs:
    """Sum the delivery counts of ``campaigns``."""
    return ReputationInputs(
        sent=sum(campaign.sent_count for campaign in campaigns),
        hard_bounces=sum(campaign.hard_bounce_count for campaign in campaigns),
        complaints=sum(campaign.complaint_count for campaign in campaigns),
        unsubscribes=sum(campaign.unsubscribe_count for campaign in campaigns),
        opens=sum(campaign.open_count for campaign in campaigns),
    )


def with_report_facts(inputs: ReputationInputs, facts: Sequence[ReportFacts]) -> ReputationInputs:
    """Add authentication (newest report that has it), footers and recipients (newest screening)."""
    spf = next((item.spf for item in facts if item.spf is not None), None)
    dkim = next((item.dkim for item in facts if item.dkim is not None), None)
    dmarc = next((item.dmarc for item in facts if item.dmarc is not None), None)
    footers = [item.footer_compliant for item in facts if item.footer_compliant is not None]
    screening = next((item for item in facts if item.recipients_screened), None)
    return replace(
        inputs,
        spf=spf,
        dkim=dkim,
        dmarc=dmarc,
        footers_checked=len(footers),
        footers_compliant=sum(1 for ok in footers if ok),
        recipients_screened=screening.recipients_screened if screening else 0,
        recipients_with_basis=screening.recipients_with_basis if screening else 0,
        recipients_inactive=screening.recipients_inactive if screening else 0,
    )


def gmail_spam_rate(session: Session, sender_id: str, now: datetime) -> float | None:
    """Return the worst day of the last 7 of Gmail's spam rate, over every sending domain."""
    since = (now - GMAIL_LOOKBACK).date()
    worst = session.exec(
        select(func.max(GmailSpamRate.spam_rate)).where(
            GmailSpamRate.sender_id == sender_id, col(GmailSpamRate.day) >= since
        )
    ).one()
    return float(worst) if worst is not None else None


@dataclass(frozen=True)
class Window:
    inputs: ReputationInputs
    campaigns: list[Campaign]


def window_inputs(session: Session, sender_id: str, now: datetime | None = None) -> Window:
    """Gather the inputs over the rolling window, with the sender-wide facts of the last 90 days."""
    moment = now or utcnow()
    since = moment - LOOKBACK
    campaigns = sent_campaigns(session, sender_id, WINDOW_CAMPAIGNS)
    reports = latest_reports(session, sender_id, WINDOW_CAMPAIGNS)
    inputs = with_report_facts(
        delivery_inputs(campaigns), [report_facts(report.report) for report, _ in reports]
    )
    requests = timeliness(session, sender_id, since)
    inputs = replace(
        inputs,
        gmail_spam_rate=gmail_spam_rate(session, sender_id, moment),
        spam_trap_hits=spam_trap_count(session, sender_id, since),
        unsubscribe_delay_hours=worst_unsubscribe_delay_hours(session, sender_id, since),
        dsr_closed=requests.closed,
        dsr_closed_late=requests.closed_late,
        dsr_open_overdue=requests.open_overdue,
    )
    return Window(inputs, campaigns)
