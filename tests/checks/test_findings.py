"""Findings, the rule catalogue and the report's JSON form."""

from __future__ import annotations

import json

import pytest

from compliance.checks.findings import (
    MB_03,
    RULES,
    US_01,
    CheckReport,
    Severity,
    make_finding,
)
from compliance.checks.i18n import N_, UnsupportedLocaleError


def test_severity_values() -> None:
    assert [str(severity) for severity in Severity] == ["block", "warn", "info"]


def test_rule_catalogue_ids_and_sources() -> None:
    assert set(RULES) == {
        *("US-01", "US-02", "US-03", "US-07", "US-08", "US-09"),
        *("CA-05", "CA-06", "EU-08", "EP-05"),
        *("MB-01", "MB-02", "MB-03", "MB-05", "MB-06"),
        *("DQ-01", "DQ-02", "DQ-03", "DQ-04", "DQ-05"),
    }
    assert RULES["US-01"].source == "15 U.S.C. 7704(a)(5)(A)(iii)"
    assert RULES["US-03"].source == "15 U.S.C. 7704(a)(5)(A)(ii)"
    assert "RFC 8058" in RULES["MB-01"].source
    assert "RFC 7208" in RULES["MB-03"].source
    assert "RFC 7489" in RULES["MB-03"].source
    legal_blocking = ("US-01", "US-03", "US-09", "CA-05", "CA-06", "MB-01", "MB-02", "MB-03")
    assert all(RULES[rule_id].severity is Severity.BLOCK for rule_id in legal_blocking)
    # Sendguard's own heuristics never block a send on their own.
    assert all(
        rule.severity is Severity.WARN
        for rule_id, rule in RULES.items()
        if rule_id.startswith("DQ")
    )


def test_make_finding_renders_both_languages() -> None:
    finding = make_finding(
        MB_03,
        "spf.found",
        N_("SPF record found for %(domain)s: %(record)s"),
        severity=Severity.INFO,
        facts={"domain": "example.org", "record": "v=spf1 -all"},
    )

    assert finding.rule == "MB-03"
    assert finding.source == MB_03.source
    assert finding.severity is Severity.INFO
    assert finding.message_en == "SPF record found for example.org: v=spf1 -all"
    assert finding.message_fr == "Enregistrement SPF trouvé pour example.org : v=spf1 -all"
    assert finding.message("fr_FR") == finding.message_fr
    assert finding.message("en-GB") == finding.message_en


def test_make_finding_defaults_to_rule_severity() -> None:
    finding = make_finding(US_01, "address.missing", N_("the send is blocked."))
    assert finding.severity is Severity.BLOCK


def test_finding_message_rejects_other_locale() -> None:
    finding = make_finding(US_01, "address.missing", N_("the send is blocked."))
    with pytest.raises(UnsupportedLocaleError, match="'de'"):
        finding.message("de")


def test_make_finding_translates_parameters() -> None:
    finding = make_finding(
        US_01,
        "address.missing_in_part",
        N_(
            "The %(part_name)s part shows no postal address although the other part does: "
            "add it to both parts."
        ),
        translated={"part_name": N_("plain-text")},
    )

    assert "The plain-text part" in finding.message_en
    assert "La partie texte brut" in finding.message_fr
    assert "part_name" not in finding.facts


def test_report_blocked_only_with_block_finding() -> None:
    info = make_finding(MB_03, "spf.skipped", N_("timed out"), severity=Severity.INFO)
    warn = make_finding(MB_03, "spf.unknown", N_("timed out"), severity=Severity.WARN)
    block = make_finding(MB_03, "spf.missing", N_("timed out"))

    assert not CheckReport("example.org", (info, warn)).blocked
    assert CheckReport("example.org", (info, block)).blocked
    assert not CheckReport("example.org", ()).blocked


def test_report_to_dict_shape() -> None:
    finding = make_finding(
        MB_03, "spf.unknown", N_("timed out"), severity=Severity.WARN, facts={"count": 2}
    )
    report = CheckReport("example.org", (finding,))

    data = report.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["from_domain"] == "example.org"
    assert data["blocked"] is False
    assert data["summary"] == {"block": 0, "warn": 1, "info": 0}
    assert data["findings"] == [
        {
            "rule": "MB-03",
            "severity": "warn",
            "source": MB_03.source,
            "check": "spf.unknown",
            "message": {"fr": "délai dépassé", "en": "timed out"},
            "facts": {"count": 2},
            "area": "authentication",
            "location": "",
            "fix": {"fr": "", "en": ""},
        }
    ]
    assert data["decision"] == "warn"
    assert data["areas"] == {
        "authentication": [0],
        "content": [],
        "recipients": [],
        "reputation": [],
    }
