"""Findings of the pre-send checks, the rules they cite and the report that contains them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
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

RULES: Mapping[str, Rule] = {rule.id: rule for rule in (US_01, US_03, MB_01, MB_02, MB_03)}

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
        }


def make_finding(
    rule: Rule,
    check: str,
    msgid: str,
    *,
    severity: Severity | None = None,
    facts: Mapping[str, str | int] | None = None,
    translated: Mapping[str, str] | None = None,
) -> Finding:
    """Build a finding under ``rule`` and render ``msgid`` in French and English.

    The message parameters are the ``facts`` plus the ``translated`` values,
    which are msgids themselves (a reason, a part name) and are translated
    into each language before they are inserted.
    ``severity`` defaults to the rule's severity.
    """
    facts = dict(facts or {})

    def render(locale: str) -> str:
        params: dict[str, str | int] = dict(facts)
        for name, value in (translated or {}).items():
            params[name] = translate(locale, value)
        return translate(locale, msgid, **params)

    return Finding(
        rule=rule.id,
        severity=severity if severity is not None else rule.severity,
        source=rule.source,
        check=check,
        message_en=render("en"),
        message_fr=render("fr"),
        facts=facts,
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
        }
