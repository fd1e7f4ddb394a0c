"""Regression cases reported against public SPF and DMARC checkers, each over a zone fixture."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from compliance.checks.dmarc import check_dmarc
from compliance.checks.findings import Finding, Severity
from compliance.checks.resolver import DnsResolver
from compliance.checks.spf_check import check_spf
from compliance.checks.spf_eval import SpfResult, SpfVerdict, check_host
from tests.checks.conftest import ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer

ZONE = ZONES_DIR / "regressions.example.net.zone"


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    """The regression zone, with the one record a zone file cannot hold."""
    dns_server = LoopbackDnsServer(ZONE)
    dns_server.add_record("_dmarc.bothdmarc.example.net", "CNAME", "dmarc-target.example.net.")
    with dns_server:
        yield dns_server


@pytest.fixture
def resolver(server: LoopbackDnsServer) -> DnsResolver:
    return DnsResolver.from_nameservers([server.nameserver], timeout=1.0)


def _evaluate(resolver: DnsResolver, ip: str, domain: str) -> SpfResult:
    return asyncio.run(check_host(ip, domain, f"postmaster@{domain}", domain, resolver=resolver))


def _checks(findings: tuple[Finding, ...]) -> dict[str, Severity]:
    return {finding.check: finding.severity for finding in findings}


@pytest.mark.parametrize("domain", ["void.example.net", "voidinc.example.net"])
def test_void_lookups_counted_once_across_chain(resolver: DnsResolver, domain: str) -> None:
    ip = "192.0.2.10" if domain.startswith("void.") else "192.0.2.11"
    result = _evaluate(resolver, ip, domain)

    assert result.verdict is SpfVerdict.PASS
    assert result.void_lookups == 2


def test_mx_address_lookups_not_counted(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.12", "mxcount.example.net")

    assert result.verdict is SpfVerdict.PASS
    assert result.dns_lookups == 10


def test_qualifier_glued_to_address_rejected(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.1", "noseparator.example.net")
    findings = asyncio.run(check_spf("noseparator.example.net", resolver)).findings

    assert result.verdict is SpfVerdict.PERMERROR
    assert _checks(findings) == {"spf.syntax_error": Severity.BLOCK}
    assert findings[0].facts["term"] == "ip4:192.0.2.1~all"
    assert findings[0].facts["position"] == 8


def test_leading_space_is_not_spf(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.1", "leadingspace.example.net")
    findings = asyncio.run(check_spf("leadingspace.example.net", resolver)).findings

    assert result.verdict is SpfVerdict.NONE
    assert _checks(findings) == {
        "spf.missing": Severity.BLOCK,
        "spf.malformed_version": Severity.BLOCK,
    }


def test_redirect_only_record_valid(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.13", "redirectonly.example.net")
    checks = _checks(asyncio.run(check_spf("redirectonly.example.net", resolver)).findings)

    assert result.verdict is SpfVerdict.PASS
    assert "spf.syntax_error" not in checks
    assert "spf.no_all" not in checks
    assert checks["spf.found"] is Severity.INFO


def test_split_inside_term_joined_without_space(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.14", "split.example.net")
    findings = asyncio.run(check_spf("split.example.net", resolver)).findings
    split = next(finding for finding in findings if finding.check == "spf.split_inside_term")

    assert result.verdict is SpfVerdict.PASS
    assert split.facts["record"] == "v=spf1 ip4:192.0.2.14 -all"
    assert split.facts["position"] == 19


def test_repeated_include_is_not_loop(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.99", "repeat.example.net")
    findings = asyncio.run(check_spf("repeat.example.net", resolver)).findings
    lookups = next(finding for finding in findings if finding.check == "spf.lookups")

    assert result.verdict is SpfVerdict.FAIL
    assert "spf.include_loop" not in _checks(findings)
    assert lookups.facts["count"] == 4


def test_real_include_loop_reported(resolver: DnsResolver) -> None:
    result = _evaluate(resolver, "192.0.2.99", "loop.example.net")
    findings = asyncio.run(check_spf("loop.example.net", resolver)).findings

    assert result.verdict is SpfVerdict.PERMERROR
    assert _checks(findings)["spf.include_loop"] is Severity.BLOCK


def test_dmarc_txt_and_cname_reported(resolver: DnsResolver) -> None:
    check = asyncio.run(check_dmarc("bothdmarc.example.net", resolver))

    assert _checks(check.findings)["dmarc.cname_and_txt"] is Severity.BLOCK
    assert check.record is not None
    assert str(check.record.policy) == "quarantine"


def test_apex_dmarc_does_not_hide_real_one(resolver: DnsResolver) -> None:
    check = asyncio.run(check_dmarc("apexdmarc.example.net", resolver))
    checks = _checks(check.findings)

    assert check.record is not None
    assert str(check.record.policy) == "reject"
    assert check.record_domain == "apexdmarc.example.net"
    assert checks["dmarc.found"] is Severity.INFO
    assert checks["dmarc.misplaced"] is Severity.WARN
