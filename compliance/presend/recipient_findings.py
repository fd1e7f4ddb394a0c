"""Turn a recipient screening into report findings in the recipients area."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from compliance.checks.findings import Area, Finding, Rule, Severity, make_finding
from compliance.core.i18n import N_
from compliance.presend.recipients import SUPPRESSION_REASONS, RecipientScreening
from suppression.screening import DUPLICATE, INACTIVE, INVALID_SYNTAX, ROLE_ADDRESS

US_06 = Rule("US-06", "15 U.S.C. 7704(a)(4)(A); FTC CAN-SPAM compliance guide", Severity.BLOCK)
EU_02 = Rule("EU-02", "GDPR art. 6(1)(a), 6(1)(f) and recital 47", Severity.BLOCK)
CA_01 = Rule("CA-01", "CASL s. 6(1)(a) and s. 10", Severity.BLOCK)
EP_06 = Rule("EP-06", "GDPR art. 21(3); CNIL guidance on suppression lists", Severity.BLOCK)
# Sendguard's own list-hygiene practice, which no law fixes (hence DQ).
DQ_06 = Rule("DQ-06", "Deliverability practice: list hygiene", Severity.WARN)

# At most this many positions are listed in a finding; the count is always complete.
MAX_POSITIONS = 20


@dataclass(frozen=True)
class RecipientFinding(Finding):
    """A finding about the recipient list.

    The pure checks derive a finding's area from its check name and know
    only authentication and content, so this subclass fixes the area.
    """

    @property
    def area(self) -> Area:
        return Area.RECIPIENTS


def as_recipient_finding(finding: Finding) -> RecipientFinding:
    return RecipientFinding(**{item.name: getattr(finding, item.name) for item in fields(finding)})


def positions_text(positions: Sequence[int]) -> str:
    """List positions as ``#0, #4, #9``, with ``…`` when some were left out."""
    shown = ", ".join(f"#{position}" for position in sorted(positions)[:MAX_POSITIONS])
    return shown + (", …" if len(positions) > MAX_POSITIONS else "")


def counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{code}: {count}" for code, count in sorted(counts.items()))


def _finding(
    rule: Rule,
    check: str,
    msgid: str,
    positions: Sequence[int],
    *,
    severity: Severity | None = None,
    facts: Mapping[str, str | int] | None = None,
    fix: str | None = None,
    show_positions: bool = True,
) -> RecipientFinding:
    return as_recipient_finding(
        make_finding(
            rule,
            f"recipients.{check}",
            msgid,
            severity=severity,
            facts={"count": len(positions), **(facts or {})},
            fix=fix,
            location=positions_text(positions) if show_positions else "",
        )
    )


def _basis_findings(screening: RecipientScreening, positions: Sequence[int]) -> list[Finding]:
    # Codes of the CASL rules start with casl_; every other code is a GDPR
    # or ePrivacy verdict (see docs/lawful-basis.md).
    casl = {code: n for code, n in screening.basis_codes.items() if code.startswith("casl_")}
    other = {code: n for code, n in screening.basis_codes.items() if code not in casl}
    show_positions = screening.positions_shown
    findings: list[Finding] = []
    fix = N_(
        "Remove these recipients from the send, or record a valid consent for them first; "
        "the codes are explained in docs/lawful-basis.md."
    )
    if other:
        findings.append(
            as_recipient_finding(
                make_finding(
                    EU_02,
                    "recipients.no_basis",
                    N_(
                        "%(count)s recipients have no lawful basis for marketing email (%(codes)s)."
                    ),
                    facts={"count": sum(other.values()), "codes": counts_text(other)},
                    fix=fix,
                    location=positions_text(positions) if show_positions and not casl else "",
                )
            )
        )
    if casl:
        findings.append(
            as_recipient_finding(
                make_finding(
                    CA_01,
                    "recipients.no_consent_casl",
                    N_("%(count)s recipients have no valid consent under CASL (%(codes)s)."),
                    facts={"count": sum(casl.values()), "codes": counts_text(casl)},
                    fix=fix,
                    location=positions_text(positions) if show_positions and not other else "",
                )
            )
        )
    return findings


def recipient_findings(screening: RecipientScreening) -> tuple[Finding, ...]:
    """Build the findings of the recipients area: opt-out age, basis, removals and flags."""
    positions = screening.positions
    kept = screening.counts.get("kept", 0)
    screened: dict[str, str | int] = {
        "total": screening.total,
        "kept": kept,
        "removed": screening.total - kept,
    }
    if screening.list_count:
        # Members of stored lists: how many lists, and how many erased
        # members could not be read and so were not screened.
        screened |= {"lists": screening.list_count, "unreadable": screening.members_unreadable}
    findings: list[Finding] = [
        as_recipient_finding(
            make_finding(
                DQ_06,
                "recipients.screened",
                N_("%(total)s recipients screened: %(kept)s may be mailed, %(removed)s removed."),
                severity=Severity.INFO,
                facts=screened,
            )
        )
    ]

    if screening.opt_outs_overdue:
        findings.append(
            _finding(
                US_06,
                "opt_out_overdue",
                N_(
                    "%(count)s recipients unsubscribed more than 10 US business days before "
                    "the send date and are still in the list."
                ),
                screening.opt_outs_overdue,
                show_positions=screening.positions_shown,
                fix=N_(
                    "Remove them from the list and from the send: after 10 business days "
                    "CAN-SPAM forbids any further mail to them."
                ),
            )
        )
    if screening.opt_outs_recent:
        findings.append(
            _finding(
                US_06,
                "opt_out_recent",
                N_(
                    "%(count)s recipients unsubscribed less than 10 US business days before "
                    "the send date and are still in the list."
                ),
                screening.opt_outs_recent,
                show_positions=screening.positions_shown,
                severity=Severity.WARN,
                fix=N_("Remove them from the list now rather than at the deadline."),
            )
        )

    if screening.basis_codes:
        findings += _basis_findings(screening, positions.get("no_basis", []))

    suppressed = {
        reason: len(found) for reason, found in positions.items() if reason in SUPPRESSION_REASONS
    }
    if suppressed:
        suppressed_positions = [
            position
            for reason, found in positions.items()
            if reason in SUPPRESSION_REASONS
            for position in found
        ]
        findings.append(
            _finding(
                EP_06,
                "suppressed",
                N_(
                    "%(count)s recipients are on the suppression list (%(reasons)s) and were "
                    "removed from the send."
                ),
                suppressed_positions,
                show_positions=screening.positions_shown,
                severity=Severity.INFO,
                facts={"reasons": counts_text(suppressed)},
            )
        )

    findings += _hygiene_findings(screening)
    return tuple(findings)


def _hygiene_findings(screening: RecipientScreening) -> list[Finding]:
    positions = screening.positions
    findings: list[Finding] = []
    hygiene = (
        (INVALID_SYNTAX, Severity.INFO, N_("%(count)s addresses are not valid and were removed.")),
        (DUPLICATE, Severity.INFO, N_("%(count)s duplicate addresses were removed.")),
        (
            f"flagged_{ROLE_ADDRESS}",
            Severity.WARN,
            N_("%(count)s role addresses (such as info@ or contact@) are in the list."),
        ),
        (
            f"flagged_{INACTIVE}",
            Severity.WARN,
            N_("%(count)s recipients have not opened or clicked any recent campaign."),
        ),
    )
    for reason, severity, msgid in hygiene:
        if positions.get(reason):
            check = reason.removeprefix("flagged_")
            findings.append(
                _finding(
                    DQ_06,
                    check,
                    msgid,
                    positions[reason],
                    severity=severity,
                    show_positions=screening.positions_shown,
                )
            )
    if screening.basis_flags:
        findings.append(
            _finding(
                EU_02,
                "basis_warning",
                N_("%(count)s recipients have a lawful basis with a warning (%(codes)s)."),
                positions.get("flagged_basis_warning", []),
                show_positions=screening.positions_shown,
                severity=Severity.WARN,
                facts={"codes": counts_text(screening.basis_flags)},
            )
        )
    return findings
