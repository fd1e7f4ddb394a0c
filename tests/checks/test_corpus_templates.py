"""The 21 corpus templates: findings match the footer contents listed in the corpus's SOURCES.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from compliance.checks.findings import CheckReport, Severity
from compliance.checks.report import run_parts_check


@dataclass(frozen=True)
class Expected:
    """What a template's footer holds: an unsubscribe link or not, and its address."""

    unsubscribe: bool
    # "found" is a complete address (real or fictitious) in the footer,
    # "merge_tag" an ESP address tag, "absent" a placeholder, a partial address or none.
    address: str
    country: str = ""


TEMPLATES = {
    "leemunroe__email.html": Expected(True, "found", "GB"),
    "mailchimp-blueprints__2col-1-2.html": Expected(True, "merge_tag"),
    "postmark__basic-full_welcome.html": Expected(False, "absent"),
    "sendgrid__news_feed.html": Expected(True, "merge_tag"),
    "sendgrid__paste_welcome.html": Expected(True, "absent"),
    "foundation-emails__newsletter.html": Expected(True, "absent"),
    "listmonk__default.tpl.html": Expected(True, "absent"),
    "mautic__aurora_email.html.twig": Expected(True, "found", "US"),
    "mautic__brienz_email.html.twig": Expected(True, "absent"),
    "mautic__oxygen_email.html.twig": Expected(False, "absent"),
    "mosaico__template-tedc15.html": Expected(True, "found", "US"),
    # NOTE: the next three hold fictitious demo addresses, which presence
    # detection accepts. Only a placeholder list can flag them.
    "sendwithus__cerberus_hybrid.html": Expected(True, "found", "US"),
    "sendwithus__cleave_confirm.html": Expected(False, "found", "CA"),
    "antwort__single-column_build.html": Expected(True, "found", "US"),
    "sendwithus__neopolitan_confirm.html": Expected(True, "absent"),
    "mailgun__billing.html": Expected(False, "absent"),
    "colorlib__21.html": Expected(True, "found", "US"),
    "colorlib__24.html": Expected(True, "absent"),
    "colorlib__05.html": Expected(True, "absent"),
    "resend__stripe-email.html": Expected(False, "found", "US"),
    "sunlight__base.html": Expected(True, "found", "US"),
}


def _report(corpus_dir: Path, name: str) -> CheckReport:
    html = (corpus_dir / "templates" / name).read_text(encoding="utf-8", errors="replace")
    return run_parts_check(html, None, {}, "example.org", None)


def _rule_findings(report: CheckReport, rule: str) -> list[tuple[str, Severity]]:
    return [(f.check, f.severity) for f in report.findings if f.rule == rule]


def test_every_template_listed(corpus_dir: Path) -> None:
    names = {path.name for path in (corpus_dir / "templates").iterdir()} - {"SOURCES.md"}
    assert names == set(TEMPLATES)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_unsubscribe(corpus_dir: Path, name: str) -> None:
    findings = _rule_findings(_report(corpus_dir, name), "US-03")

    if TEMPLATES[name].unsubscribe:
        assert findings == [("unsubscribe.found", Severity.INFO)]
    else:
        assert findings == [("unsubscribe.missing", Severity.BLOCK)]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_address(corpus_dir: Path, name: str) -> None:
    expected = TEMPLATES[name]
    report = _report(corpus_dir, name)
    findings = [f for f in report.findings if f.rule == "US-01"]
    checks = [(f.check, f.severity) for f in findings]

    if expected.address == "found":
        assert checks == [("address.found", Severity.INFO)]
        assert findings[0].facts["country"] == expected.country
    elif expected.address == "merge_tag":
        assert checks == [("address.merge_tag", Severity.WARN)]
    else:
        assert len(checks) == 1
        assert checks[0] in {
            ("address.missing", Severity.BLOCK),
            ("address.outside_footer", Severity.WARN),
        }


def test_template_pmb_kind(corpus_dir: Path) -> None:
    report = _report(corpus_dir, "colorlib__21.html")
    address = next(f for f in report.findings if f.check == "address.found")

    assert address.facts["kind"] == "pmb"
    assert address.facts["address"] == "548 Market St #28475, San Francisco, CA 94104"


def test_template_customer_address_only_a_lead(corpus_dir: Path) -> None:
    # The order confirmation shows the customer's address in the body, not a
    # sender address in the footer.
    report = _report(corpus_dir, "sendwithus__neopolitan_confirm.html")
    checks = _rule_findings(report, "US-01")
    assert checks == [("address.outside_footer", Severity.WARN)]


def test_template_without_headers_blocks_one_click(corpus_dir: Path) -> None:
    report = _report(corpus_dir, "leemunroe__email.html")

    assert _rule_findings(report, "MB-01") == [("list_unsubscribe.missing", Severity.BLOCK)]
    assert report.blocked
