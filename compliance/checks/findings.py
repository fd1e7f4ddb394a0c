"""Findings of the pre-send checks, the rules they cite and the report that contains them."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from compliance.checks.i18n import language_of, translate


class Severity(enum.StrEnum):
    """How much a finding weighs on the decision to send."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Rule:
    """A row of the rule table: its stable id, the text it rests on and its proposed severity."""

    id: str
    source: str
    severity: Severity


# Ids and sources follow the project's rule table. The severity is the one a
# failed check gets. A passed check is reported at INFO under the same rule.
US_01 = Rule("US-01", "15 U.S.C. 7704(a)(5)(A)(iii)", Severity.BLOCK)
US_03 = Rule("US-03", "15 U.S.C. 7704(a)(5)(A)(ii)", Severity.BLOCK)
MB_01 = Rule(
    "MB-01",
    "RFC 8058 sections 3-4; Gmail and Yahoo bulk-sender requirements (February 2024)",
    Severity.BLOCK,
)
MB_02 = Rule(
    "MB-02",
    "Google email sender guidelines (support.google.com/a/answer/81126)",
    Severity.BLOCK,
)
MB_03 = Rule(
    "MB-03",
    "Google email sender guidelines; RFC 7208 (SPF); RFC 7489 (DMARC)",
    Severity.BLOCK,
)

US_02 = Rule("US-02", "15 U.S.C. 7704(a)(5)(A)(iii); FTC CAN-SPAM compliance guide", Severity.WARN)
US_07 = Rule("US-07", "15 U.S.C. 7704(a)(5)(A)(i) and (a)(5)(B)", Severity.WARN)
US_08 = Rule("US-08", "15 U.S.C. 7704(a)(2)", Severity.WARN)
US_09 = Rule("US-09", "15 U.S.C. 7704(a)(1)", Severity.BLOCK)
CA_05 = Rule(
    "CA-05", "CASL s. 6(2)(a); CRTC Regulations SOR/2012-36 s. 2(1)(a)-(c)", Severity.BLOCK
)
CA_06 = Rule(
    "CA-06", "CASL s. 6(2)(b), 6(3); CRTC Regulations SOR/2012-36 s. 2(1)(d)", Severity.BLOCK
)
EU_08 = Rule("EU-08", "GDPR art. 13 and 14", Severity.WARN)
EP_05 = Rule("EP-05", "Directive 2000/31/EC art. 6(a)-(b); LCEN art. 20", Severity.WARN)
MB_05 = Rule("MB-05", "Google email sender guidelines (spam complaint rate)", Severity.WARN)
MB_06 = Rule(
    "MB-06",
    "Google email sender guidelines; RFC 5322 (message format); RFC 2045-2046 (MIME)",
    Severity.WARN,
)

# Sendguard's own deliverability heuristics, which no law or provider rule
# fixes: their ids start with DQ so that they are never taken for legal rules.
DQ_01 = Rule(
    "DQ-01", "Deliverability practice: subject lines cut at 50-60 characters", Severity.WARN
)
DQ_02 = Rule(
    "DQ-02",
    "Deliverability practice: text-to-image balance, WCAG 2.1 SC 1.1.1 (alt)",
    Severity.WARN,
)
DQ_03 = Rule("DQ-03", "Gmail clips HTML bodies past about 102 KB", Severity.WARN)
DQ_04 = Rule("DQ-04", "Deliverability practice: deceptive or shortened links", Severity.WARN)
DQ_05 = Rule(
    "DQ-05",
    "ePrivacy Directive 2002/58/EC art. 5(3); CNIL guidance on e-mail tracking pixels",
    Severity.WARN,
)

RULES: Mapping[str, Rule] = {
    rule.id: rule
    for rule in (
        US_01, US_02, US_03, US_07, US_08, US_09, CA_05, CA_06, EU_08, EP_05,
        MB_01, MB_02, MB_03, MB_05, MB_06, DQ_01, DQ_02, DQ_03, DQ_04, DQ_05,
    )
}  # fmt: skip


class Area(enum.StrEnum):
    """The part of the send a finding is about, as the report groups them."""

    AUTHENTICATION = "authentication"
    CONTENT = "content"
    RECIPIENTS = "recipients"
    REPUTATION = "reputation"


# Check-name prefixes of the domain authentication checks; every other
# check of this package reads the message and belongs to CONTENT.
_AUTHENTICATION_PREFIXES = ("spf", "dkim", "dmarc", "mx", "ptr", "auth", "esp", "domain")


def area_of(check: str) -> Area:
    """Return the report area of the check named ``check``."""
    prefix = check.split(".", 1)[0].split("_", 1)[0]
    return Area.AUTHENTICATION if prefix in _AUTHENTICATION_PREFIXES else Area.CONTENT


# Rule MB-03 with the source of each part of the domain check, so that a
# finding cites the specification it applies.
MB_03_SPF = Rule("MB-03", "Google email sender guidelines; RFC 7208 (SPF)", Severity.BLOCK)
MB_03_DKIM = Rule(
    "MB-03",
    "Google email sender guidelines; RFC 6376 (DKIM); RFC 8301 section 3.2 (key sizes)",
    Severity.BLOCK,
)
MB_03_DMARC = Rule(
    "MB-03",
    "Google email sender guidelines; RFC 7489 (DMARC); DMARCbis (DNS tree walk)",
    Severity.BLOCK,
)
MB_03_PTR = Rule(
    "MB-03",
    "Google email sender guidelines (forward and reverse DNS of sending IPs)",
    Severity.BLOCK,
)
MB_03_MX = Rule("MB-03", "RFC 5321 section 5.1 (MX); RFC 7505 (null MX)", Severity.WARN)


@dataclass(frozen=True)
class Finding:
    """One result of one check, with its message in French and English.

    ``facts`` contains non-personal context only (a domain, a DNS record, a
    header name, a business address), never a recipient's address or a token.
    """

    rule: str
    severity: Severity
    source: str
    check: str
    message_en: str
    message_fr: str
    facts: dict[str, str | int] = field(default_factory=dict)
    # Where the finding applies ("header Subject", "HTML <img> #2", "text
    # line 14"), and how to fix it in each language; empty when not known.
    location: str = ""
    fix_en: str = ""
    fix_fr: str = ""

    @property
    def area(self) -> Area:
        """The report area of this finding."""
        return area_of(self.check)

    def fix(self, locale: str) -> str:
        """Return how to fix the finding in ``locale``, or an empty string.

        :raises UnsupportedLocaleError: for a language other than French or English.
        """
        return self.fix_fr if language_of(locale) == "fr" else self.fix_en

    def message(self, locale: str) -> str:
        """Return the message in ``locale`` (``fr`` or ``en``, regional variants accepted).

        :raises UnsupportedLocaleError: for any other language.
        """
        return self.message_fr if language_of(locale) == "fr" else self.message_en

    def to_dict(self) -> dict[str, object]:
        """Return the finding as a JSON-ready dictionary."""
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "source": self.source,
            "check": self.check,
            "message": {"fr": self.message_fr, "en": self.message_en},
            "facts": dict(self.facts),
            "area": str(self.area),
            "location": self.location,
            "fix": {"fr": self.fix_fr, "en": self.fix_en},
        }


def make_finding(
    rule: Rule,
    check: str,
    msgid: str,
    *,
    severity: Severity | None = None,
    facts: Mapping[str, str | int] | None = None,
    translated: Mapping[str, str | Sequence[str]] | None = None,
    fix: str | None = None,
    location: str = "",
) -> Finding:
    """Build a finding under ``rule`` and render ``msgid`` in French and English.

    The message parameters are the ``facts`` plus the ``translated`` values,
    which are msgids themselves (a reason, a part name) and are translated
    into each language before they are inserted. A sequence of msgids is
    translated item by item and joined with commas.
    ``severity`` defaults to the rule's severity. ``fix`` is the msgid of
    how to fix the finding, rendered with the same parameters.
    """
    facts = dict(facts or {})

    def params_in(locale: str) -> dict[str, str | int]:
        params: dict[str, str | int] = dict(facts)
        for name, value in (translated or {}).items():
            if isinstance(value, str):
                params[name] = translate(locale, value)
            else:
                params[name] = ", ".join(translate(locale, item) for item in value)
        return params

    def render(locale: str) -> str:
        return translate(locale, msgid, **params_in(locale))

    def render_fix(locale: str) -> str:
        if fix is None:
            return ""
        return translate(locale, fix, **params_in(locale))

    return Finding(
        rule=rule.id,
        severity=severity if severity is not None else rule.severity,
        source=rule.source,
        check=check,
        message_en=render("en"),
        message_fr=render("fr"),
        facts=facts,
        location=location,
        fix_en=render_fix("en"),
        fix_fr=render_fix("fr"),
    )


@dataclass(frozen=True)
class CheckReport:
    """Every finding of one pre-send check of one message for one From domain."""

    from_domain: str
    findings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        """True when at least one finding blocks the send."""
        return any(finding.severity is Severity.BLOCK for finding in self.findings)

    @property
    def unknown(self) -> bool:
        """True when a check could not complete (DNS timeout or SERVFAIL), so no pass is claimed."""
        return any(finding.check.endswith(".unknown") for finding in self.findings)

    @property
    def verdict(self) -> str:
        """``blocked``, ``unknown`` when nothing blocks but a check could not run, or ``pass``."""
        if self.blocked:
            return "blocked"
        return "unknown" if self.unknown else "pass"

    @property
    def decision(self) -> str:
        """``block``, ``warn`` when a warning needs review, or ``pass``."""
        if self.blocked:
            return "block"
        return "warn" if self.count(Severity.WARN) or self.unknown else "pass"

    def grouped(self) -> dict[Area, list[Finding]]:
        """Return the findings by area, every area present, findings in report order."""
        groups: dict[Area, list[Finding]] = {area: [] for area in Area}
        for finding in self.findings:
            groups[finding.area].append(finding)
        return groups

    def count(self, severity: Severity) -> int:
        """Return the number of findings of ``severity``."""
        return sum(1 for finding in self.findings if finding.severity is severity)

    def to_dict(self) -> dict[str, object]:
        """Return the report as a JSON-ready dictionary."""
        return {
            "from_domain": self.from_domain,
            "blocked": self.blocked,
            "verdict": self.verdict,
            "summary": {str(severity): self.count(severity) for severity in Severity},
            "findings": [finding.to_dict() for finding in self.findings],
            "decision": self.decision,
            # Indexes into "findings", per area, so that each finding is listed once.
            "areas": {
                str(area): [
                    index for index, finding in enumerate(self.findings) if finding.area is area
                ]
                for area in Area
            },
        }
