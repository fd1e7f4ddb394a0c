"""The 21 corpus templates: unsubscribe and address verdicts match the expectations table."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.checks.findings import CheckReport, Severity
from compliance.checks.postal_address import assess_parts
from compliance.checks.report import run_parts_check
from tests.checks.address_expectations import TEMPLATE_VERDICTS

# US-01 check name for each expected verdict.
_ADDRESS_CHECKS = {
    "street": ("address.found", Severity.INFO),
    "po_box": ("address.found", Severity.INFO),
    "pmb": ("address.found", Severity.INFO),
    "merge_tag": ("address.merge_tag", Severity.WARN),
    "placeholder": ("address.placeholder", Severity.BLOCK),
    "incomplete": ("address.incomplete", Severity.WARN),
    "none": ("address.missing", Severity.BLOCK),
    "outside_footer": ("address.outside_footer", Severity.WARN),
}
MIN_ACCURACY = 0.95


def _html(corpus_dir: Path, name: str) -> str:
    return (corpus_dir / "templates" / name).read_text(encoding="utf-8", errors="replace")


def _report(corpus_dir: Path, name: str) -> CheckReport:
    return run_parts_check(_html(corpus_dir, name), None, {}, "example.org", None)


def _verdict(corpus_dir: Path, name: str) -> str:
    result = assess_parts(_html(corpus_dir, name), None)[0]
    if result.is_valid and not result.in_footer:
        return "outside_footer"
    return str(result.verdict)


def test_every_template_listed(corpus_dir: Path) -> None:
    names = {path.name for path in (corpus_dir / "templates").iterdir()} - {"SOURCES.md"}
    assert names == set(TEMPLATE_VERDICTS)


@pytest.mark.parametrize("name", sorted(TEMPLATE_VERDICTS))
def test_template_unsubscribe(corpus_dir: Path, name: str) -> None:
    checks = [
        (f.check, f.severity) for f in _report(corpus_dir, name).findings if f.rule == "US-03"
    ]
    has_link, _verdict_name, _reason = TEMPLATE_VERDICTS[name]

    if has_link:
        assert checks == [("unsubscribe.found", Severity.INFO)]
    else:
        assert checks == [("unsubscribe.missing", Severity.BLOCK)]


@pytest.mark.parametrize("name", sorted(TEMPLATE_VERDICTS))
def test_template_address_finding(corpus_dir: Path, name: str) -> None:
    _has_link, expected, reason = TEMPLATE_VERDICTS[name]
    findings = [f for f in _report(corpus_dir, name).findings if f.rule == "US-01"]

    assert [(f.check, f.severity) for f in findings] == [_ADDRESS_CHECKS[expected]], reason


def test_template_address_accuracy(corpus_dir: Path) -> None:
    names = sorted(TEMPLATE_VERDICTS)
    correct = sum(_verdict(corpus_dir, name) == TEMPLATE_VERDICTS[name][1] for name in names)
    accuracy = correct / len(names)

    print(f"template address verdicts: {correct}/{len(names)} = {accuracy:.1%}")
    assert accuracy >= MIN_ACCURACY


def test_no_false_unsubscribe_missing(corpus_dir: Path) -> None:
    false_missing = [
        name
        for name, (has_link, _verdict_name, _reason) in TEMPLATE_VERDICTS.items()
        if has_link
        and any(f.check == "unsubscribe.missing" for f in _report(corpus_dir, name).findings)
    ]
    assert false_missing == []


def test_template_pmb_fields(corpus_dir: Path) -> None:
    report = _report(corpus_dir, "colorlib__21.html")
    address = next(f for f in report.findings if f.check == "address.found")

    assert address.facts["kind"] == "pmb"
    assert address.facts["address"] == "548 Market St #28475, San Francisco, CA 94104"
    assert address.facts["field.OccupancyIdentifier"] == "# 28475"
    assert address.facts["field.ZipCode"] == "94104"


def test_template_postcode_mismatch(corpus_dir: Path) -> None:
    report = _report(corpus_dir, "sendwithus__cleave_confirm.html")
    placeholder = next(f for f in report.findings if f.check == "address.placeholder")

    assert placeholder.facts["reason"] == "postcode_mismatch"
    assert placeholder.facts["detail"] == "BC A1B 2C3"


def test_template_without_headers_blocks_one_click(corpus_dir: Path) -> None:
    report = _report(corpus_dir, "leemunroe__email.html")
    checks = [(f.check, f.severity) for f in report.findings if f.rule == "MB-01"]

    assert checks == [("list_unsubscribe.missing", Severity.BLOCK)]
    assert report.blocked
