"""The full DNS check of a sending domain over loopback DNS: DKIM, DMARC, MX, PTR, ESP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from compliance.checks.dkim import check_dkim
from compliance.checks.dmarc import check_dmarc
from compliance.checks.domain_options import DomainCheckOptions, build_options
from compliance.checks.domain_report import check_domain
from compliance.checks.findings import CheckReport, Finding, Severity
from compliance.checks.mx_ptr import check_mx, check_ptr
from compliance.checks.resolver import DnsResolver
from compliance.checks.spf_eval import parse_ip
from tests.checks.conftest import ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    """The sender zone, the ESP side and the reverse records of the sending IPs."""
    dns_server = LoopbackDnsServer(ZONES_DIR / "senders.example.com.zone")
    dns_server.load_zone(ZONES_DIR / "sendgrid.net.zone")
    dns_server.load_zone(ZONES_DIR / "2.0.192.in-addr.arpa.zone")
    dns_server.add_record("27.2.0.192.in-addr.arpa", "PTR", "mx.good.example.com.")
    dns_server.add_record("26.2.0.192.in-addr.arpa", "PTR", "mismatch.example.com.")
    dns_server.add_record(
        "both._domainkey.keys.example.com", "CNAME", "rsa1024._domainkey.keys.example.com."
    )
    dns_server.add_record("both._domainkey.keys.example.com", "TXT", '"v=DKIM1; p="')
    dns_server.add_zone("example.net.")
    dns_server.add_record(
        "external.example.com._report._dmarc.reports.example.net", "TXT", '"v=DMARC1"'
    )
    dns_server.add_zone("example.org.")
    dns_server.time_out("slow.example.com")
    dns_server.time_out("_dmarc.slow.example.com")
    dns_server.time_out("s1._domainkey.slow.example.com")
    with dns_server:
        yield dns_server


@pytest.fixture
def resolver(server: LoopbackDnsServer) -> DnsResolver:
    return DnsResolver.from_nameservers([server.nameserver], timeout=0.5)


def _checks(findings: tuple[Finding, ...]) -> dict[str, Severity]:
    return {finding.check: finding.severity for finding in findings}


def _report(resolver: DnsResolver, domain: str, options: DomainCheckOptions) -> CheckReport:
    return asyncio.run(check_domain(domain, resolver, options))


def test_sendgrid_domain_passes(resolver: DnsResolver) -> None:
    options = build_options(
        esp="SendGrid", sending_ips=["192.0.2.27"], account={"return_path_host": "em1234"}
    )
    report = _report(resolver, "good.example.com", options)
    checks = _checks(report.findings)

    assert not report.blocked, [f.message_en for f in report.findings if f.severity != "info"]
    assert checks["spf.pass"] is Severity.INFO
    assert checks["dkim.found"] is Severity.INFO
    assert checks["dmarc.found"] is Severity.INFO
    assert checks["dmarc.alignment_possible"] is Severity.INFO
    assert checks["ptr.found"] is Severity.INFO
    assert checks["esp.record_ok"] is Severity.INFO
    dkim = [f for f in report.findings if f.check == "dkim.found"]
    assert [f.facts["delegated_to"] for f in dkim] == [
        "s1.domainkey.u1234.wl001.sendgrid.net",
        "s2.domainkey.u1234.wl001.sendgrid.net",
    ]


def test_esp_missing_records_block(resolver: DnsResolver) -> None:
    report = _report(resolver, "keys.example.com", build_options(esp="mailchimp"))
    missing = [f for f in report.findings if f.check == "esp.record_missing"]

    assert report.blocked
    assert [f.facts["name"] for f in missing] == [
        "k2._domainkey.keys.example.com",
        "k3._domainkey.keys.example.com",
    ]
    assert all(f.source.startswith("https://mailchimp.com/") for f in missing)


def test_esp_account_value_missing_explained(resolver: DnsResolver) -> None:
    report = _report(resolver, "good.example.com", build_options(esp="amazon_ses"))
    missing = [f for f in report.findings if f.check == "esp.value_missing"]

    assert missing
    assert "dkim_tokens" in missing[0].message_en


@pytest.mark.parametrize(
    ("selector", "check", "severity"),
    [
        ("rsa2048", "dkim.found", Severity.INFO),
        ("ed", "dkim.found", Severity.INFO),
        ("rsa1024", "dkim.short_key", Severity.WARN),
        ("rsa512", "dkim.weak_key", Severity.BLOCK),
        ("revoked", "dkim.revoked", Severity.BLOCK),
        ("garbled", "dkim.invalid_key", Severity.BLOCK),
        ("testing", "dkim.testing", Severity.WARN),
        ("dangling", "dkim.missing", Severity.BLOCK),
        ("absent", "dkim.missing", Severity.BLOCK),
        ("both", "dkim.cname_and_txt", Severity.BLOCK),
    ],
)
def test_dkim_selector_cases(
    resolver: DnsResolver, selector: str, check: str, severity: Severity
) -> None:
    result = asyncio.run(check_dkim("keys.example.com", [selector], resolver))

    assert _checks(result.findings).get(check) is severity


def test_dkim_key_sizes_reported(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dkim("keys.example.com", ["rsa2048", "rsa1024"], resolver))

    assert [key.bits for key in result.keys] == [2048, 1024]


def test_dkim_dangling_cname_names_target(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dkim("keys.example.com", ["dangling"], resolver))

    assert result.findings[0].facts["delegated_to"] == "nothing.dkim.example.com"


def test_dkim_without_selector_warns(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dkim("keys.example.com", [], resolver))

    assert _checks(result.findings) == {"dkim.no_selector": Severity.WARN}


@pytest.mark.parametrize(
    ("domain", "check", "severity"),
    [
        ("weak.example.com", "dmarc.policy_none", Severity.WARN),
        ("pct.example.com", "dmarc.partial_pct", Severity.WARN),
        ("subweak.example.com", "dmarc.weak_subdomain_policy", Severity.WARN),
        ("external.example.com", "dmarc.report_unauthorised", Severity.WARN),
        ("news.example.com", "dmarc.found", Severity.INFO),
    ],
)
def test_dmarc_cases(resolver: DnsResolver, domain: str, check: str, severity: Severity) -> None:
    result = asyncio.run(check_dmarc(domain, resolver))

    assert _checks(result.findings).get(check) is severity


def test_dmarc_external_destination_authorised(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dmarc("external.example.com", resolver))
    unauthorised = [f for f in result.findings if f.check == "dmarc.report_unauthorised"]

    assert [f.facts["destination"] for f in unauthorised] == ["partner.example.org"]


def test_dmarc_tree_walk_gives_organizational_domain(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dmarc("news.example.com", resolver))

    assert result.record_domain == "example.com"
    assert result.organizational_domain == "example.com"


def test_dmarc_timeout_is_unknown(resolver: DnsResolver) -> None:
    result = asyncio.run(check_dmarc("slow.example.com", resolver))

    assert _checks(result.findings) == {"dmarc.unknown": Severity.WARN}
    assert result.record is None


@pytest.mark.parametrize(
    ("domain", "check", "severity"),
    [
        ("good.example.com", "mx.found", Severity.INFO),
        ("nullmx.example.com", "mx.null", Severity.WARN),
        ("implicitmx.example.com", "mx.implicit", Severity.INFO),
        ("nomail.example.com", "mx.none", Severity.WARN),
        ("absent.example.com", "mx.domain_missing", Severity.BLOCK),
        ("slow.example.com", "mx.unknown", Severity.WARN),
    ],
)
def test_mx_cases(resolver: DnsResolver, domain: str, check: str, severity: Severity) -> None:
    assert _checks(asyncio.run(check_mx(domain, resolver))) == {check: severity}


@pytest.mark.parametrize(
    ("ip", "check", "severity"),
    [
        ("192.0.2.27", "ptr.found", Severity.INFO),
        ("192.0.2.26", "ptr.not_confirmed", Severity.BLOCK),
        ("192.0.2.99", "ptr.missing", Severity.BLOCK),
    ],
)
def test_ptr_cases(resolver: DnsResolver, ip: str, check: str, severity: Severity) -> None:
    assert _checks(asyncio.run(check_ptr([parse_ip(ip)], resolver))) == {check: severity}


def test_freemail_from_domain_blocks(resolver: DnsResolver) -> None:
    options = build_options(skip=["spf", "dkim", "dmarc", "mx"])
    report = _report(resolver, "gmail.com", options)

    assert _checks(report.findings) == {"from.freemail": Severity.BLOCK}


def test_timeout_everywhere_is_unknown(resolver: DnsResolver) -> None:
    report = _report(resolver, "slow.example.com", build_options(dkim_selectors=["s1"]))
    checks = _checks(report.findings)

    assert checks["spf.unknown"] is Severity.WARN
    assert checks["dkim.unknown"] is Severity.WARN
    assert checks["dmarc.unknown"] is Severity.WARN
    assert checks["mx.unknown"] is Severity.WARN
    assert not report.blocked


def test_budget_exhausted_reported(resolver: DnsResolver) -> None:
    options = build_options(dkim_selectors=["s1"], budget_seconds=0.2)
    report = _report(resolver, "slow.example.com", options)
    checks = _checks(report.findings)

    assert checks["dns.budget_exhausted"] is Severity.WARN
    assert checks["spf.unknown"] is Severity.WARN


def test_alignment_impossible_blocks(resolver: DnsResolver) -> None:
    report = _report(resolver, "weak.example.com", build_options(esp="mailchimp"))

    assert _checks(report.findings)["dmarc.alignment_impossible"] is Severity.BLOCK


def test_messages_in_both_languages(resolver: DnsResolver) -> None:
    report = _report(resolver, "pct.example.com", build_options())
    partial = next(f for f in report.findings if f.check == "dmarc.partial_pct")

    assert "50% of failing mail" in partial.message_en
    assert "50 %" in partial.message_fr or "50%" in partial.message_fr
    assert partial.message_fr != partial.message_en
