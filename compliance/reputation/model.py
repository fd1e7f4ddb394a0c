"""The inputs of the reputation score and what the score returns.

Counts, not rates, are the inputs: a rate over zero sends means "no data",
which the score treats differently from a rate of zero. ``None`` always
means that Sendguard has no data for that input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

AuthResult = Literal["pass", "fail", "missing"]
# DMARC: "enforced" is p=quarantine or p=reject, "monitoring" is p=none.
DmarcResult = Literal["enforced", "monitoring", "missing", "invalid"]
FactorStatus = Literal["good", "warn", "bad", "unknown"]


@dataclass(frozen=True)
class ReputationInputs:
    """Inputs of the score, over one campaign or a rolling window of campaigns."""

    # Delivery: from campaign counts and ingested bounces and complaints.
    sent: int = 0
    hard_bounces: int = 0
    complaints: int = 0
    # Gmail's user-reported spam rate from Postmaster Tools (0.003 = 0.3 %):
    # Gmail sends no feedback-loop reports to most senders.
    gmail_spam_rate: float | None = None
    unsubscribes: int = 0
    # Unique opens, and how many of them machines made (Apple Mail Privacy
    # Protection and security scanners), when the ESP reports it.
    opens: int = 0
    machine_opens: int | None = None
    # Authentication of the From domain in the latest domain check.
    spf: AuthResult | None = None
    dkim: AuthResult | None = None
    dmarc: DmarcResult | None = None
    # Footer compliance: latest campaigns checked, and those with no
    # blocking footer finding (unsubscribe link, postal address).
    footers_checked: int = 0
    footers_compliant: int = 0
    # The latest screened recipient lists: how many, how many with a valid
    # lawful basis, how many without an open in the last 30 campaigns.
    recipients_screened: int = 0
    recipients_with_basis: int = 0
    recipients_inactive: int = 0
    # Addresses suppressed as suspected spam traps in the window.
    spam_trap_hits: int = 0
    # The slowest unsubscribe handled in the window, in hours from the
    # request (an emailed or ESP-reported unsubscribe) to the suppression.
    unsubscribe_delay_hours: float | None = None
    # Data-subject requests: closed in the window, closed after their
    # deadline, and open ones already past it.
    dsr_closed: int = 0
    dsr_closed_late: int = 0
    dsr_open_overdue: int = 0


@dataclass(frozen=True)
class Factor:
    """One line of the score: its value, target, weight and the points it earned."""

    key: str
    # The measured value in the factor's unit, or None without data.
    value: float | None
    # "percent" (value 0.42 means 0.42 %), "hours", "count" or "status".
    unit: str
    # The target as an English gettext id, translated where the page is rendered.
    target: str
    weight: float
    # 0 (worst) to 1 (best); points = weight * subscore, over the weights of
    # the factors that have data.
    subscore: float
    status: FactorStatus
    # The sentence for this value: an English gettext id and its parameters.
    message: str
    message_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reputation:
    score: float
    # 1 (worst) to 8 (best).
    grade: int
    factors: tuple[Factor, ...]
    # Hard limits that capped the score, by factor key (for example
    # "complaints" above Gmail's 0.3 %).
    caps: tuple[str, ...]
    # Factor keys in the order to fix them: most points lost first.
    fix_first: tuple[str, ...]


@dataclass(frozen=True)
class CampaignPoint:
    """One campaign of the history: its own score and rates, for the plots."""

    campaign_id: str
    name: str
    sent_at: datetime
    sent: int
    score: float
    grade: int
    bounce_rate: float | None
    complaint_rate: float | None
    unsubscribe_rate: float | None


@dataclass(frozen=True)
class ReportSummary:
    """A stored pre-send report, as the dashboard lists it."""

    campaign_id: str
    campaign_name: str
    created_at: datetime
    # "pass", "warn" or "block", as the pre-send report's verdict.
    verdict: str
    blocking: int
    warnings: int


@dataclass(frozen=True)
class OpenRequest:
    """An open data-subject request and its deadline."""

    request_id: str
    type: str
    status: str
    due_at: datetime
    days_left: int
    overdue: bool


@dataclass(frozen=True)
class DashboardData:
    """Everything the sender's dashboard page shows, gathered in one read."""

    sender_name: str
    generated_at: datetime
    # The score over the rolling window of the latest campaigns.
    current: Reputation
    window_campaigns: int
    # Oldest first, at most the last 30 sent campaigns.
    history: tuple[CampaignPoint, ...]
    reports: tuple[ReportSummary, ...]
    open_requests: tuple[OpenRequest, ...]
