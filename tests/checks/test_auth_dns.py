"""SPF and DMARC findings for the From domain, over the loopback DNS server."""

from __future__ import annotations

from compliance.checks.auth_dns import (
    check_authentication,
    check_dmarc,
    check_spf,
    dmarc_tree_walk,
)
from compliance.checks.dns_lookup import ResolverTxtLookup, ZoneTxtLookup
from compliance.checks.findings import Finding, Severity
from tests.checks.conftest import BROKEN_NAME, SLOW_DMARC_DOMAIN, SLOW_NAME, ZONES_DIR


def _checks(findings: tuple[Finding, ...]) -> list[tuple[str, Severity]]:
    return [(finding.check, finding.severity) for finding in findings]


def test_spf_found_is_info(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("example.org", lookup)

    assert _checks(findings) == [("spf.found", Severity.INFO)]
    assert findings[0].rule == "MB-03"
    assert findings[0].facts["record"] == (
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 mx include:_spf.example.net -all"
    )


def test_spf_missing_blocks(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("nospf.example.org", lookup)

    assert _checks(findings) == [("spf.missing", Severity.BLOCK)]
    assert "nospf.example.org" in findings[0].message_en


def test_spf_nxdomain_blocks(lookup: ResolverTxtLookup) -> None:
    assert _checks(check_spf("nothing.example.org", lookup)) == [("spf.missing", Severity.BLOCK)]


def test_spf_multiple_records_block(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("twospf.example.org", lookup)

    assert _checks(findings) == [("spf.multiple", Severity.BLOCK)]
    assert findings[0].facts["count"] == 2
    assert "permanent error" in findings[0].message_en


def test_spf_plus_all_blocks(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("plusall.example.org", lookup)
    assert _checks(findings) == [("spf.found", Severity.INFO), ("spf.pass_all", Severity.BLOCK)]


def test_spf_neutral_all_warns(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("neutral.example.org", lookup)
    assert _checks(findings) == [("spf.found", Severity.INFO), ("spf.neutral_all", Severity.WARN)]


def test_spf_without_all_warns(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("noall.example.org", lookup)
    assert _checks(findings) == [("spf.found", Severity.INFO), ("spf.no_all", Severity.WARN)]


def test_spf_redirect_needs_no_all() -> None:
    lookup = ZoneTxtLookup.from_text(
        '@ IN TXT "v=spf1 redirect=_spf.example.net"', origin="example.net"
    )
    assert _checks(check_spf("example.net", lookup)) == [("spf.found", Severity.INFO)]


def test_spf_syntax_error_names_term(lookup: ResolverTxtLookup) -> None:
    findings = check_spf("badspf.example.org", lookup)

    assert _checks(findings) == [("spf.syntax_error", Severity.BLOCK)]
    assert findings[0].facts["position"] == 25
    assert findings[0].facts["term"] == "ip4:192.0.2.300"
    assert findings[0].facts["error"] == "invalid_ip4"
    assert "the IPv4 address is invalid" in findings[0].message_en
    assert "l'adresse IPv4 est invalide" in findings[0].message_fr


def test_spf_too_many_lookups_blocks() -> None:
    # One include per string, because a TXT string is at most 255 bytes long.
    includes = " ".join(f'"include:_spf{number}.example.net "' for number in range(11))
    lookup = ZoneTxtLookup.from_text(f'@ IN TXT "v=spf1 " {includes} "-all"', origin="example.net")

    findings = check_spf("example.net", lookup)

    assert ("spf.too_many_lookups", Severity.BLOCK) in _checks(findings)
    assert findings[-1].facts["count"] == 11


def test_spf_timeout_warns_unknown(lookup: ResolverTxtLookup) -> None:
    findings = check_spf(SLOW_NAME, lookup)

    assert _checks(findings) == [("spf.unknown", Severity.WARN)]
    assert findings[0].facts["reason"] == "timeout"
    assert "could not run" in findings[0].message_en
    assert "délai dépassé" in findings[0].message_fr


def test_spf_servfail_warns_unknown(lookup: ResolverTxtLookup) -> None:
    findings = check_spf(BROKEN_NAME, lookup)

    assert _checks(findings) == [("spf.unknown", Severity.WARN)]
    assert findings[0].facts["reason"] == "server_failure"


def test_dmarc_reject_is_info(lookup: ResolverTxtLookup) -> None:
    findings = check_dmarc("example.org", lookup)

    assert _checks(findings) == [("dmarc.found", Severity.INFO)]
    assert findings[0].facts["policy"] == "reject"
    assert findings[0].facts["record_domain"] == "example.org"


def test_dmarc_inherited_through_tree_walk(lookup: ResolverTxtLookup) -> None:
    findings = check_dmarc("news.example.org", lookup)

    assert _checks(findings) == [("dmarc.found", Severity.INFO)]
    assert findings[0].facts["record_domain"] == "example.org"


def test_dmarc_policy_none_is_info(lookup: ResolverTxtLookup) -> None:
    findings = check_dmarc("nospf.example.org", lookup)

    assert _checks(findings) == [("dmarc.policy_none", Severity.INFO)]
    assert findings[0].facts["policy"] == "none"


def test_dmarc_missing_blocks() -> None:
    lookup = ZoneTxtLookup.from_text('@ IN TXT "v=spf1 -all"', origin="example.net")

    findings = check_dmarc("example.net", lookup)

    assert _checks(findings) == [("dmarc.missing", Severity.BLOCK)]
    assert "_dmarc.example.net" in findings[0].message_en


def test_dmarc_non_dmarc_txt_ignored() -> None:
    lookup = ZoneTxtLookup.from_text(
        '_dmarc IN TXT "some verification token"', origin="example.net"
    )
    assert _checks(check_dmarc("example.net", lookup)) == [("dmarc.missing", Severity.BLOCK)]


def test_dmarc_invalid_policy_blocks() -> None:
    lookup = ZoneTxtLookup.from_text('_dmarc IN TXT "v=DMARC1; p=block"', origin="example.net")

    findings = check_dmarc("example.net", lookup)

    assert _checks(findings) == [("dmarc.invalid", Severity.BLOCK)]
    assert findings[0].facts["error"] == "invalid_policy"
    assert "none, quarantine or reject" in findings[0].message_en


def test_dmarc_missing_policy_blocks() -> None:
    lookup = ZoneTxtLookup.from_text(
        '_dmarc IN TXT "v=DMARC1; rua=mailto:r@example.net"', origin="example.net"
    )
    findings = check_dmarc("example.net", lookup)
    assert findings[0].facts["error"] == "missing_policy"


def test_dmarc_multiple_records_block() -> None:
    zone = '_dmarc IN TXT "v=DMARC1; p=none"\n_dmarc IN TXT "v=DMARC1; p=reject"\n'
    lookup = ZoneTxtLookup.from_text(zone, origin="example.net")

    findings = check_dmarc("example.net", lookup)

    assert _checks(findings) == [("dmarc.multiple", Severity.BLOCK)]
    assert findings[0].facts["count"] == 2


def test_dmarc_invalid_tags_warn() -> None:
    lookup = ZoneTxtLookup.from_text(
        '_dmarc IN TXT "v=DMARC1; p=reject; pct=200"', origin="example.net"
    )

    findings = check_dmarc("example.net", lookup)

    assert _checks(findings) == [
        ("dmarc.found", Severity.INFO),
        ("dmarc.invalid_tags", Severity.WARN),
    ]
    assert findings[1].facts["tags"] == "pct"


def test_dmarc_subdomain_policy_applies_to_subdomain() -> None:
    lookup = ZoneTxtLookup.from_text(
        '_dmarc IN TXT "v=DMARC1; p=reject; sp=none"', origin="example.net"
    )

    findings = check_dmarc("mail.example.net", lookup)

    assert findings[0].facts["policy"] == "none"
    assert findings[0].check == "dmarc.policy_none"


def test_dmarc_timeout_warns_unknown(lookup: ResolverTxtLookup) -> None:
    findings = check_dmarc(SLOW_DMARC_DOMAIN, lookup)

    assert _checks(findings) == [("dmarc.unknown", Severity.WARN)]
    assert findings[0].facts["name"] == f"_dmarc.{SLOW_DMARC_DOMAIN}"


def test_dmarc_zone_outside_name_is_unknown() -> None:
    # The zone file cannot tell whether example.org publishes DMARC.
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")
    findings = check_dmarc("example.com", lookup)
    assert findings[0].facts["reason"] == "outside_zone"


def test_tree_walk_order() -> None:
    assert list(dmarc_tree_walk("a.b.example.org")) == [
        "a.b.example.org",
        "b.example.org",
        "example.org",
    ]


def test_tree_walk_stops_before_tld() -> None:
    assert list(dmarc_tree_walk("example.org")) == ["example.org"]


def test_tree_walk_bounded_to_eight_queries() -> None:
    names = list(dmarc_tree_walk("l1.l2.l3.l4.l5.l6.l7.l8.l9.example.org"))

    assert len(names) <= 8
    assert names[0] == "l1.l2.l3.l4.l5.l6.l7.l8.l9.example.org"
    assert names[1] == "l5.l6.l7.l8.l9.example.org"
    assert names[-1] == "example.org"


def test_authentication_without_lookup_skipped() -> None:
    findings = check_authentication("example.org", None)
    assert _checks(findings) == [
        ("spf.skipped", Severity.INFO),
        ("dmarc.skipped", Severity.INFO),
    ]


def test_authentication_with_zone_file() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")
    findings = check_authentication("example.org", lookup)
    assert _checks(findings) == [("spf.found", Severity.INFO), ("dmarc.found", Severity.INFO)]
