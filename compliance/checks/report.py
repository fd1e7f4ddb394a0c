"""Run every pure pre-send check on one message and render the report."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage

from compliance.checks.auth_dns import check_authentication
from compliance.checks.body_check import check_body
from compliance.checks.contact_info import check_contact_information
from compliance.checks.dns_lookup import TxtLookup
from compliance.checks.domain import normalize_domain
from compliance.checks.findings import CheckReport, Severity
from compliance.checks.header_check import check_headers
from compliance.checks.i18n import N_, translate
from compliance.checks.identity_check import check_advertising_label, check_sender_identification
from compliance.checks.link_check import check_links
from compliance.checks.list_unsubscribe import check_list_unsubscribe
from compliance.checks.message import HeaderMap, parse_message
from compliance.checks.postal_address import check_postal_address, html_lines
from compliance.checks.sender_profile import SenderProfile
from compliance.checks.subject_check import check_subject
from compliance.checks.unsubscribe import check_unsubscribe

SEVERITY_LABELS: Mapping[Severity, str] = {
    Severity.BLOCK: N_("block"),
    Severity.WARN: N_("warn"),
    Severity.INFO: N_("info"),
}


def run_message_check(
    message: bytes | EmailMessage,
    from_domain: str,
    lookup: TxtLookup | None,
    *,
    sender: SenderProfile | None = None,
) -> CheckReport:
    """Check a message given as the raw bytes of an .eml file or as an ``EmailMessage``.

    ``lookup`` answers the DNS queries of the authentication checks; with
    None they are reported as skipped. ``sender`` gives the registered name
    and address and the recipients' consents that some checks compare with.

    :raises InvalidDomainError: when ``from_domain`` is not a valid domain name.
    :raises TypeError: when ``message`` is of another type.
    """
    domain = normalize_domain(from_domain)
    parts = parse_message(message)
    return _run(
        parts.html, parts.text, parts.headers, domain, lookup, sender or SenderProfile(),
        parts.defects, True,
    )  # fmt: skip


def run_parts_check(
    html: str | None,
    text: str | None,
    headers: Mapping[str, str],
    from_domain: str,
    lookup: TxtLookup | None,
    *,
    sender: SenderProfile | None = None,
) -> CheckReport:
    """Check a message given as its HTML body, text body and headers (None: part absent).

    :raises InvalidDomainError: when ``from_domain`` is not a valid domain name.
    """
    domain = normalize_domain(from_domain)
    return _run(
        html, text, HeaderMap(headers), domain, lookup, sender or SenderProfile(), (), False
    )


def _run(
    html: str | None,
    text: str | None,
    headers: HeaderMap,
    domain: str,
    lookup: TxtLookup | None,
    sender: SenderProfile,
    defects: tuple[str, ...],
    complete_headers: bool,
) -> CheckReport:
    body_lines = html_lines(html) if html is not None else []
    if text is not None:
        body_lines += text.splitlines()
    findings = (
        check_authentication(domain, lookup)
        + check_list_unsubscribe(headers)
        + check_unsubscribe(html, text)
        + check_postal_address(html, text, sender.postal_address)
        + check_contact_information(html, text, sender.recipient_countries)
        + check_sender_identification(body_lines, sender.legal_name)
        + check_advertising_label(headers.get("Subject"), body_lines, sender.advertising_consent)
        + check_links(html, text)
        + check_subject(headers)
        + check_body(html, text, defects=defects, tracking_consent=sender.tracking_consent)
        + check_headers(headers, complete=complete_headers)
    )
    return CheckReport(from_domain=domain, findings=findings)


def render_text(report: CheckReport, locale: str) -> str:
    """Render the report for a terminal: one line per finding, then a summary line.

    :raises UnsupportedLocaleError: when ``locale`` is neither French nor English.
    """
    labels = {severity: translate(locale, label) for severity, label in SEVERITY_LABELS.items()}
    width = max(len(label) for label in labels.values())

    lines = [
        f"{labels[finding.severity].upper():<{width}}  {finding.rule:<5}  {finding.message(locale)}"
        for finding in report.findings
    ]

    if report.blocked:
        verdict = N_("the send is blocked.")
    elif report.count(Severity.WARN):
        verdict = N_("the send may go ahead after the warnings are reviewed.")
    else:
        verdict = N_("the send may go ahead.")
    lines.append(
        translate(
            locale,
            N_("%(domain)s - block: %(block)s, warn: %(warn)s, info: %(info)s; %(verdict)s"),
            domain=report.from_domain,
            block=report.count(Severity.BLOCK),
            warn=report.count(Severity.WARN),
            info=report.count(Severity.INFO),
            verdict=translate(locale, verdict),
        )
    )
    return "\n".join(lines)
