"""The factors of the reputation score: weights, thresholds and one builder per factor.

Every subscore is a piecewise-linear ramp between a target (subscore 1) and a
zero point (subscore 0), so a small change of a rate moves it a little and a
worse value never raises it. A factor without data has status "unknown",
value None and subscore 0, and the score leaves its weight out.
See docs/reputation.md for the formula and the reasons behind each number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from compliance.core.i18n import N_
from compliance.reputation.model import Factor, FactorStatus, ReputationInputs

# Weights, out of 100 when every factor has data. Deliverability comes first:
# mailbox providers filter on complaints and bounces before anything else.
BOUNCE_WEIGHT = 20.0
COMPLAINT_WEIGHT = 20.0
GMAIL_SPAM_WEIGHT = 10.0
AUTHENTICATION_WEIGHT = 10.0
CONSENT_WEIGHT = 8.0
UNSUBSCRIBE_WEIGHT = 6.0
OPEN_WEIGHT = 6.0
INACTIVE_WEIGHT = 5.0
SPAM_TRAP_WEIGHT = 5.0
FOOTER_WEIGHT = 4.0
UNSUBSCRIBE_DELAY_WEIGHT = 3.0
DSR_WEIGHT = 3.0

# Thresholds in percent: (target, zero point). The limits of bounces and
# complaints are also where their caps reach their floor (see score.py).
BOUNCE_TARGET, BOUNCE_LIMIT = 0.5, 2.0
# Gmail's sender guidelines (2024): keep the Postmaster Tools spam rate below
# 0.1 % and never reach 0.3 %.
COMPLAINT_TARGET, COMPLAINT_LIMIT = 0.05, 0.3
UNSUBSCRIBE_TARGET, UNSUBSCRIBE_ZERO = 0.75, 2.0
OPEN_TARGET, OPEN_ZERO = 15.0, 5.0
FOOTER_TARGET, FOOTER_ZERO = 100.0, 80.0
CONSENT_TARGET, CONSENT_ZERO = 100.0, 90.0
INACTIVE_TARGET, INACTIVE_ZERO = 20.0, 50.0
DSR_TARGET, DSR_ZERO = 100.0, 80.0
# Gmail and Yahoo bulk-sender rules: honour an unsubscribe within 2 days.
# CAN-SPAM allows 10 business days, which is never less than 240 hours.
UNSUBSCRIBE_DELAY_TARGET, UNSUBSCRIBE_DELAY_ZERO = 48.0, 240.0
# Each suspected spam trap costs a quarter of the factor.
SPAM_TRAP_ZERO = 4.0
# Machine opens above this share of opens make the open rate unreliable. The
# open weight then shrinks linearly to nothing at the second share (see score.py).
MACHINE_SHARE_FLAG, MACHINE_SHARE_NO_WEIGHT = 50.0, 75.0

# DMARC: p=none only monitors, so it earns part of the DMARC component.
_AUTH_COMPONENT_WEIGHTS = {"SPF": 0.3, "DKIM": 0.3, "DMARC": 0.4}
_AUTH_RESULT_SCORES = {"pass": 1.0, "fail": 0.0, "missing": 0.0}
_DMARC_RESULT_SCORES = {"enforced": 1.0, "monitoring": 0.5, "missing": 0.0, "invalid": 0.0}

_NO_SENDS = N_("No emails were sent in the window, so this rate is unknown.")
_NO_SCREENING = N_("No recipient list was screened in the window, so this share is unknown.")
_COMPLAINT_TARGET_TEXT = N_("at most 0.05 %; Gmail's hard limit is 0.3 %")

Messages = Mapping[FactorStatus, str]


def descending(value: float, target: float, zero: float) -> float:
    """Score a lower-is-better value: 1 at or below ``target``, 0 at or above ``zero``."""
    if value <= target:
        return 1.0
    if value >= zero:
        return 0.0
    return (zero - value) / (zero - target)


def ascending(value: float, zero: float, target: float) -> float:
    """Score a higher-is-better value: 0 at or below ``zero``, 1 at or above ``target``."""
    if value >= target:
        return 1.0
    if value <= zero:
        return 0.0
    return (value - zero) / (target - zero)


def percent(part: int, total: int) -> float | None:
    """Return ``part`` as a percentage of ``total``, at most 100, or None when ``total`` is 0."""
    if total <= 0:
        return None
    # Late events can count more bounces than sends in the window, so cap at 100 %.
    return min(100.0, 100.0 * part / total)


def status_for(subscore: float) -> FactorStatus:
    if subscore >= 1.0:
        return "good"
    if subscore <= 0.0:
        return "bad"
    return "warn"


def format_value(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


@dataclass(frozen=True)
class Ramp:
    """A factor whose subscore is a linear ramp between a target and a zero point."""

    key: str
    weight: float
    # Subscore 1 at ``target`` or better, 0 at ``zero`` or worse. A target
    # below the zero point means that lower values are better.
    target: float
    zero: float
    target_text: str
    messages: Messages
    # Decimals of the value in the sentence.
    digits: int = 2
    unit: str = "percent"

    def subscore(self, value: float) -> float:
        if self.target < self.zero:
            return descending(value, self.target, self.zero)
        return ascending(value, self.zero, self.target)

    def factor(self, value: float | None) -> Factor:
        if value is None:
            return unknown_factor(self.key, self.unit, self.target_text, self.weight, self.messages)
        subscore = self.subscore(value)
        status = status_for(subscore)
        params = (("value", format_value(value, self.digits)),)
        return Factor(
            self.key, value, self.unit, self.target_text, self.weight, subscore, status,
            self.messages[status], params,
        )  # fmt: skip


def unknown_factor(key: str, unit: str, target: str, weight: float, messages: Messages) -> Factor:
    return Factor(key, None, unit, target, weight, 0.0, "unknown", messages["unknown"])


BOUNCES = Ramp(
    "bounces", BOUNCE_WEIGHT, BOUNCE_TARGET, BOUNCE_LIMIT, N_("at most 0.5 %, never above 2 %"),
    {
        "good": N_("Hard bounces are %(value)s %% of emails sent, within the target."),
        "warn": N_(
            "Hard bounces are %(value)s %% of emails sent, above the 0.5 %% target: "
            "remove invalid addresses before the next send."
        ),
        "bad": N_(
            "Hard bounces are %(value)s %% of emails sent, at or above the 2 %% limit: "
            "stop sending to this list until invalid addresses are removed."
        ),
        "unknown": _NO_SENDS,
    },
)  # fmt: skip
COMPLAINTS = Ramp(
    "complaints", COMPLAINT_WEIGHT, COMPLAINT_TARGET, COMPLAINT_LIMIT, _COMPLAINT_TARGET_TEXT,
    {
        "good": N_("Complaints are %(value)s %% of emails sent, within the 0.05 %% target."),
        "warn": N_(
            "Complaints are %(value)s %% of emails sent, above the 0.05 %% target: "
            "check consent and send only what recipients asked for."
        ),
        "bad": N_(
            "Complaints are %(value)s %% of emails sent, at or above Gmail's 0.3 %% limit: "
            "pause campaigns and confirm consent again before the next send."
        ),
        "unknown": _NO_SENDS,
    },
    digits=3,
)  # fmt: skip
GMAIL_SPAM = Ramp(
    "gmail_spam_rate", GMAIL_SPAM_WEIGHT, COMPLAINT_TARGET, COMPLAINT_LIMIT,
    _COMPLAINT_TARGET_TEXT,
    {
        "good": N_("Gmail reports a spam rate of %(value)s %%, within the 0.05 %% target."),
        "warn": N_(
            "Gmail reports a spam rate of %(value)s %%, above the 0.05 %% target: "
            "stop mailing recipients who no longer open."
        ),
        "bad": N_(
            "Gmail reports a spam rate of %(value)s %%, at or above its 0.3 %% limit: "
            "Gmail may reject or filter your mail until the rate falls."
        ),
        "unknown": N_("No Gmail Postmaster Tools spam rate was recorded for the window."),
    },
    digits=3,
)  # fmt: skip
UNSUBSCRIBES = Ramp(
    "unsubscribes", UNSUBSCRIBE_WEIGHT, UNSUBSCRIBE_TARGET, UNSUBSCRIBE_ZERO,
    N_("at most 0.75 %"),
    {
        "good": N_("Unsubscribes are %(value)s %% of emails sent, within the target."),
        "warn": N_(
            "Unsubscribes are %(value)s %% of emails sent, above the 0.75 %% target: "
            "review how often you send and to whom."
        ),
        "bad": N_(
            "Unsubscribes are %(value)s %% of emails sent, 2 %% or more: "
            "many recipients do not want these emails."
        ),
        "unknown": _NO_SENDS,
    },
)  # fmt: skip
OPENS = Ramp(
    "opens", OPEN_WEIGHT, OPEN_TARGET, OPEN_ZERO, N_("at least 15 %"),
    {
        "good": N_("Opens are %(value)s %% of emails sent, at or above the target."),
        "warn": N_(
            "Opens are %(value)s %% of emails sent, below the 15 %% target: "
            "stop mailing recipients who have not opened for months."
        ),
        "bad": N_(
            "Opens are %(value)s %% of emails sent, 5 %% or less: "
            "most recipients ignore these emails."
        ),
        "unknown": _NO_SENDS,
    },
)  # fmt: skip
_FOOTER_FIX = N_(
    "%(value)s %% of the checked campaigns have a compliant footer: add the "
    "unsubscribe link and the postal address to the others."
)
FOOTERS = Ramp(
    "footers", FOOTER_WEIGHT, FOOTER_TARGET, FOOTER_ZERO, N_("every checked campaign"),
    {
        "good": N_(
            "Every checked campaign has a compliant footer (unsubscribe link and postal address)."
        ),
        "warn": _FOOTER_FIX,
        "bad": _FOOTER_FIX,
        "unknown": N_("No campaign footer was checked in the window."),
    },
    digits=0,
)  # fmt: skip
_CONSENT_FIX = N_(
    "%(value)s %% of the screened recipients have a valid lawful basis: do not send to the others."
)
CONSENT = Ramp(
    "consent", CONSENT_WEIGHT, CONSENT_TARGET, CONSENT_ZERO,
    N_("a lawful basis for every recipient"),
    {
        "good": N_("Every screened recipient has a valid lawful basis."),
        "warn": _CONSENT_FIX,
        "bad": _CONSENT_FIX,
        "unknown": _NO_SCREENING,
    },
    digits=1,
)  # fmt: skip
INACTIVE = Ramp(
    "inactive", INACTIVE_WEIGHT, INACTIVE_TARGET, INACTIVE_ZERO, N_("at most 20 %"),
    {
        "good": N_("%(value)s %% of the screened recipients are inactive, within the target."),
        "warn": N_(
            "%(value)s %% of the screened recipients have not opened any of the last 30 "
            "campaigns: send them a re-engagement campaign, then remove those who stay silent."
        ),
        "bad": N_(
            "%(value)s %% of the screened recipients are inactive, 50 %% or more: "
            "remove them, because abandoned addresses can become spam traps."
        ),
        "unknown": _NO_SCREENING,
    },
    digits=1,
)  # fmt: skip
_TRAPS_FOUND = N_(
    "Addresses suppressed as suspected spam traps in the window: %(value)s. "
    "Find the source that added them and confirm its addresses again."
)
SPAM_TRAPS = Ramp(
    "spam_traps", SPAM_TRAP_WEIGHT, 0.0, SPAM_TRAP_ZERO, N_("no suspected spam trap"),
    {
        "good": N_("No address was suppressed as a suspected spam trap in the window."),
        "warn": _TRAPS_FOUND,
        "bad": _TRAPS_FOUND,
        "unknown": N_(
            "No emails were sent and no list was screened in the window, "
            "so spam-trap hits are unknown."
        ),
    },
    digits=0,
    unit="count",
)  # fmt: skip
UNSUBSCRIBE_DELAY = Ramp(
    "unsubscribe_delay", UNSUBSCRIBE_DELAY_WEIGHT, UNSUBSCRIBE_DELAY_TARGET,
    UNSUBSCRIBE_DELAY_ZERO,
    N_("at most 48 hours (Gmail and Yahoo); CAN-SPAM allows 10 business days"),
    {
        "good": N_("The slowest unsubscribe took %(value)s hours, within 2 days."),
        "warn": N_(
            "The slowest unsubscribe took %(value)s hours, more than the 2 days that Gmail "
            "and Yahoo allow: apply unsubscribes as soon as they arrive."
        ),
        "bad": N_(
            "The slowest unsubscribe took %(value)s hours, 10 days or more: this is at or "
            "near the CAN-SPAM limit of 10 business days."
        ),
        "unknown": N_("No unsubscribe was handled in the window."),
    },
    digits=0,
    unit="hours",
)  # fmt: skip
_DSR_LATE = N_(
    "Data-subject requests closed late or overdue: %(late)s of %(total)s. "
    "Answer the overdue ones first: the GDPR allows one month."
)
DSR = Ramp(
    "dsr", DSR_WEIGHT, DSR_TARGET, DSR_ZERO, N_("every request within its deadline"),
    {
        "good": N_("Every data-subject request in the window was handled within its deadline."),
        "warn": _DSR_LATE,
        "bad": _DSR_LATE,
        "unknown": N_("No data-subject request was closed or overdue in the window."),
    },
    digits=0,
)  # fmt: skip


def machine_share(inputs: ReputationInputs) -> float | None:
    """Return machine opens as a percentage of opens, or None when the ESP does not report them."""
    if inputs.machine_opens is None:
        return None
    if inputs.opens <= 0:
        # Machine opens without any open are inconsistent counts: trust none.
        return 100.0 if inputs.machine_opens > 0 else 0.0
    return min(100.0, 100.0 * inputs.machine_opens / inputs.opens)


def open_factor(inputs: ReputationInputs) -> Factor:
    factor = OPENS.factor(percent(inputs.opens, inputs.sent))
    share = machine_share(inputs)
    if factor.status == "unknown" or share is None or share <= MACHINE_SHARE_FLAG:
        return factor

    # Apple Mail Privacy Protection and link scanners open every message, so a
    # high rate proves little, while a low rate stays a warning even so.
    message = N_(
        "Opens are %(value)s %% of emails sent, but machines made %(machine_share)s %% "
        "of them, so the rate is unreliable: a high rate counts for less, a low one "
        "still counts in full."
    )
    params = (*factor.message_params, ("machine_share", format_value(share, 0)))
    status: FactorStatus = "bad" if factor.subscore <= 0.0 else "warn"
    return replace(factor, status=status, message=message, message_params=params)


def authentication_factor(inputs: ReputationInputs) -> Factor:
    results: list[tuple[str, float, str]] = []
    if inputs.spf is not None:
        results.append(("SPF", _AUTH_RESULT_SCORES[inputs.spf], "SPF"))
    if inputs.dkim is not None:
        results.append(("DKIM", _AUTH_RESULT_SCORES[inputs.dkim], "DKIM"))
    if inputs.dmarc is not None:
        label = "DMARC p=none" if inputs.dmarc == "monitoring" else "DMARC"
        results.append(("DMARC", _DMARC_RESULT_SCORES[inputs.dmarc], label))

    target = N_("SPF and DKIM pass, DMARC at p=quarantine or p=reject")
    if not results:
        unknown: Messages = {
            "unknown": N_("No domain check has run yet, so authentication is unknown.")
        }
        return unknown_factor("authentication", "status", target, AUTHENTICATION_WEIGHT, unknown)

    # Components that were not checked are left out, as whole factors are.
    points = sum(_AUTH_COMPONENT_WEIGHTS[name] * score for name, score, _ in results)
    subscore = points / sum(_AUTH_COMPONENT_WEIGHTS[name] for name, _, _ in results)
    passing = ", ".join(label for _, score, label in results if score >= 1.0)
    failing = ", ".join(label for _, score, label in results if score < 1.0)
    if not failing:
        message = N_("%(passing)s pass in the latest domain check.")
        params: tuple[tuple[str, str], ...] = (("passing", passing),)
    elif not passing:
        message = N_("To fix in the latest domain check: %(failing)s.")
        params = (("failing", failing),)
    else:
        message = N_("To fix in the latest domain check: %(failing)s. Passing: %(passing)s.")
        params = (("failing", failing), ("passing", passing))
    status = status_for(subscore)
    return Factor(
        "authentication", subscore, "status", target, AUTHENTICATION_WEIGHT, subscore, status,
        message, params,
    )  # fmt: skip


def spam_trap_factor(inputs: ReputationInputs) -> Factor:
    # Hits are known whenever the window had a list to judge, so that a higher
    # count never turns an unknown factor into a known one.
    known = inputs.sent > 0 or inputs.recipients_screened > 0
    return SPAM_TRAPS.factor(float(inputs.spam_trap_hits) if known else None)


def dsr_factor(inputs: ReputationInputs) -> Factor:
    # An overdue request counts as late. A sender whose only request is
    # overdue gets subscore 0, so a new overdue request never raises the score.
    total = inputs.dsr_closed + inputs.dsr_open_overdue
    late = min(total, inputs.dsr_closed_late + inputs.dsr_open_overdue)
    factor = DSR.factor(percent(total - late, total))
    if factor.status in ("good", "unknown"):
        return factor
    return replace(factor, message_params=(("late", str(late)), ("total", str(total))))


def build_factors(inputs: ReputationInputs) -> tuple[Factor, ...]:
    """Build every factor at its full weight, in the order the dashboard lists them."""
    gmail_rate = inputs.gmail_spam_rate
    return (
        BOUNCES.factor(percent(inputs.hard_bounces, inputs.sent)),
        COMPLAINTS.factor(percent(inputs.complaints, inputs.sent)),
        # Postmaster Tools reports a fraction (0.003); the factor shows percent.
        GMAIL_SPAM.factor(None if gmail_rate is None else 100.0 * gmail_rate),
        UNSUBSCRIBES.factor(percent(inputs.unsubscribes, inputs.sent)),
        open_factor(inputs),
        authentication_factor(inputs),
        FOOTERS.factor(percent(inputs.footers_compliant, inputs.footers_checked)),
        CONSENT.factor(percent(inputs.recipients_with_basis, inputs.recipients_screened)),
        INACTIVE.factor(percent(inputs.recipients_inactive, inputs.recipients_screened)),
        spam_trap_factor(inputs),
        UNSUBSCRIBE_DELAY.factor(inputs.unsubscribe_delay_hours),
        dsr_factor(inputs),
    )
