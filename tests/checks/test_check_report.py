"""End to end: .eml fixtures through every check, with the loopback DNS server."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage

import pytest

from compliance.checks.dns_lookup import ResolverTxtLookup, ZoneTxtLookup
from compliance.checks.domain import InvalidDomainError
from compliance.checks.findings import CheckReport, Severity
from compliance.checks.i18n import UnsupportedLocaleError
from compliance.checks.report import render_text, run_message_check, run_parts_check
from tests.checks.conftest import MESSAGES_DIR, SLOW_NAME, ZONES_DIR


def _read(name: str) -> bytes:
    return (MESSAGES_DIR / name).read_bytes()


def _checks(report: CheckReport) -> list[tuple[str, str, Severity]]:
    return [(f.rule, f.check, f.severity) for f in report.findings]


def test_compliant_french_newsletter_passes(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_fr_compliant.eml"), "example.org", lookup)

    assert _checks(report)[:6] == [
        ("MB-03", "spf.found", Severity.INFO),
        ("MB-03", "dmarc.found", Severity.INFO),
        ("MB-01", "list_unsubscribe.one_click", Severity.INFO),
        ("US-03", "unsubscribe.found", Severity.INFO),
        ("MB-02", "unsubscribe.found", Severity.INFO),
        ("US-01", "address.found", Severity.INFO),
    ]
    # The fixture has no privacy-policy link, the only warning.
    assert [
        (rule, check) for rule, check, severity in _checks(report) if severity is Severity.WARN
    ] == [("EU-08", "links.privacy.missing")]
    assert not report.blocked
    address = report.findings[5]
    assert address.facts["address"] == "12 rue de la Paix, 75002 Paris"
    assert address.facts["country"] == "FR"


def test_compliant_english_newsletter_passes(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_en_compliant.eml"), "example.org", lookup)

    assert not report.blocked
    warnings = [f.check for f in report.findings if f.severity is Severity.WARN]
    assert warnings == ["links.privacy.missing"]
    assert report.findings[3].facts["parts"] == "html,text"


def test_message_without_footer_blocks(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_no_footer.eml"), "example.org", lookup)
    blocking = [
        (rule, check) for rule, check, severity in _checks(report) if severity is Severity.BLOCK
    ]

    assert blocking == [
        ("MB-01", "list_unsubscribe.missing"),
        ("US-03", "unsubscribe.missing"),
        ("MB-02", "unsubscribe.missing"),
        ("US-01", "address.missing"),
        ("CA-06", "address.missing"),
    ]
    assert report.blocked


def test_hidden_unsubscribe_link_blocks(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_hidden_unsubscribe.eml"), "example.org", lookup)
    checks = _checks(report)

    assert ("US-03", "unsubscribe.missing", Severity.BLOCK) in checks
    assert ("MB-01", "list_unsubscribe.http_only", Severity.WARN) in checks
    assert ("US-01", "address.found", Severity.INFO) in checks


def test_merge_tags_warn(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_mailchimp_tags.eml"), "example.org", lookup)
    checks = _checks(report)

    assert ("MB-01", "list_unsubscribe.mailto_only", Severity.WARN) in checks
    assert ("US-03", "unsubscribe.found", Severity.INFO) in checks
    assert ("US-01", "address.merge_tag", Severity.WARN) in checks
    assert not report.blocked


def test_text_only_notice_and_cedex(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("notice_latin1_text_only.eml"), "example.org", lookup)
    checks = _checks(report)

    assert ("US-03", "unsubscribe.no_link", Severity.WARN) in checks
    address = next(f for f in report.findings if f.check == "address.found")
    assert address.facts["kind"] == "po_box"
    assert address.facts["address"] == "TSA 80715, 75334 Paris Cedex 07"


def test_email_message_input(lookup: ResolverTxtLookup) -> None:
    message = email.message_from_bytes(
        _read("newsletter_fr_compliant.eml"), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)

    report = run_message_check(message, "example.org", lookup)
    assert not report.blocked


def test_dns_timeout_reported_not_failed(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_fr_compliant.eml"), SLOW_NAME, lookup)
    spf = report.findings[0]

    assert (spf.check, spf.severity) == ("spf.unknown", Severity.WARN)
    assert not report.blocked


def test_zone_file_lookup_end_to_end() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")
    report = run_message_check(_read("newsletter_en_compliant.eml"), "plusall.example.org", lookup)

    assert ("MB-03", "spf.pass_all", Severity.BLOCK) in _checks(report)
    assert report.blocked


def test_no_lookup_skips_dns() -> None:
    report = run_message_check(_read("newsletter_fr_compliant.eml"), "example.org", None)

    assert _checks(report)[:2] == [
        ("MB-03", "spf.skipped", Severity.INFO),
        ("MB-03", "dmarc.skipped", Severity.INFO),
    ]
    assert not report.blocked


def test_parts_check_matches_message_check(lookup: ResolverTxtLookup) -> None:
    html = '<p>Acme, 1 Main Street, Boston, MA 02110 <a href="https://example.org/u/1">Unsubscribe</a></p>'
    headers = {
        "List-Unsubscribe": "<https://example.org/u/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }

    report = run_parts_check(html, None, headers, "Example.ORG.", lookup)

    assert report.from_domain == "example.org"
    assert not report.blocked
    content = {f.check: f.severity for f in report.findings}
    assert content["address.found"] is Severity.INFO
    # Headers given beside the parts are partial: the absent ones are not faults.
    assert content["headers.partial"] is Severity.INFO
    assert report.findings[-1].facts["headers"] == "From, Message-ID, Date"


def test_idn_domain_normalised() -> None:
    report = run_parts_check(None, None, {}, "bücher.example", None)
    assert report.from_domain == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("", "from_domain is empty"),
        ("   ", "from_domain is empty"),
        ("news@example.org", "not an email address"),
        ("192.0.2.1", "is an IP address"),
        ("localhost", "single label"),
        ("exa mple.org", "not a valid domain name"),
        ("-bad.example.org", "not a valid domain name"),
    ],
)
def test_invalid_from_domain_rejected(value: str, fault: str) -> None:
    with pytest.raises(InvalidDomainError, match=fault):
        run_parts_check(None, None, {}, value, None)


def test_invalid_from_domain_error_hides_address() -> None:
    with pytest.raises(InvalidDomainError) as raised:
        run_parts_check(None, None, {}, "jane.doe@example.org", None)
    assert "jane.doe" not in str(raised.value)


def test_render_text_english(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_no_footer.eml"), "example.org", lookup)
    lines = render_text(report, "en").splitlines()

    assert len(lines) == len(report.findings) + 1
    assert lines[0].startswith("INFO   MB-03  SPF record found for example.org")
    assert lines[2].startswith("BLOCK  MB-01  The List-Unsubscribe header is missing")
    summary = report.to_dict()["summary"]
    assert lines[-1] == (
        f"example.org - block: {summary['block']}, warn: {summary['warn']}, "
        f"info: {summary['info']}; the send is blocked."
    )
    assert summary["block"] == 5


def test_render_text_french(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_fr_compliant.eml"), "example.org", lookup)
    lines = render_text(report, "fr_FR").splitlines()

    assert lines[0].startswith("INFORMATION    MB-03  Enregistrement SPF trouvé")
    assert lines[-1] == (
        "example.org - bloquant : 0, avertissement : 1, information : 10 ; "
        "l'envoi peut partir après examen des avertissements."
    )


def test_render_text_warning_verdict(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_mailchimp_tags.eml"), "example.org", lookup)
    last = render_text(report, "en").splitlines()[-1]
    assert last.endswith("the send may go ahead after the warnings are reviewed.")


def test_render_text_rejects_unknown_locale() -> None:
    report = run_parts_check(None, None, {}, "example.org", None)
    with pytest.raises(UnsupportedLocaleError):
        render_text(report, "de")


def test_report_json_never_contains_recipient(lookup: ResolverTxtLookup) -> None:
    report = run_message_check(_read("newsletter_fr_compliant.eml"), "example.org", lookup)
    serialised = json.dumps(report.to_dict(), ensure_ascii=False)

    assert "abonne@example.com" not in serialised
    assert "eyJ0eXAiOiJKV1QifQ" not in serialised
