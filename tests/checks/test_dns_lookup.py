"""TXT lookups over a resolver and from a zone file: found, empty, unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.checks.dns_lookup import (
    ResolverTxtLookup,
    TxtReason,
    TxtResult,
    TxtStatus,
    ZoneFileError,
    ZoneTxtLookup,
    parse_nameserver,
)
from tests.checks.conftest import BROKEN_NAME, SLOW_NAME, ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer

SPF_JOINED = "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 mx include:_spf.example.net -all"


def test_resolver_joins_txt_strings(lookup: ResolverTxtLookup) -> None:
    result = lookup.txt("example.org")

    assert result.status is TxtStatus.FOUND
    assert sorted(result.records) == ["google-site-verification=fixture", SPF_JOINED]


def test_resolver_follows_cname(lookup: ResolverTxtLookup) -> None:
    result = lookup.txt("alias.example.org")
    assert result.records == ("v=spf1 include:_spf.example.net ~all",)


def test_resolver_nxdomain_is_empty(lookup: ResolverTxtLookup) -> None:
    assert lookup.txt("nothing.example.org") == TxtResult.empty(TxtReason.NXDOMAIN)


def test_resolver_no_answer_is_empty(lookup: ResolverTxtLookup) -> None:
    assert lookup.txt("mail.example.org") == TxtResult.empty(TxtReason.NO_ANSWER)


def test_resolver_timeout_is_unknown(lookup: ResolverTxtLookup) -> None:
    assert lookup.txt(SLOW_NAME) == TxtResult.unknown(TxtReason.TIMEOUT)


def test_resolver_servfail_is_unknown(lookup: ResolverTxtLookup) -> None:
    assert lookup.txt(BROKEN_NAME) == TxtResult.unknown(TxtReason.SERVER_FAILURE)


def test_resolver_unreachable_server_is_unknown() -> None:
    # A port that was just freed, so no server listens there.
    server = LoopbackDnsServer()
    server.start()
    port = server.port
    server.stop()

    lookup = ResolverTxtLookup.from_nameservers([f"127.0.0.1:{port}"], timeout=0.3)
    assert lookup.txt("example.org").status is TxtStatus.UNKNOWN


def test_resolver_over_ipv6_nameserver() -> None:
    try:
        server = LoopbackDnsServer(ZONES_DIR / "example.org.zone", host="::1")
        server.start()
    except OSError:
        pytest.skip("IPv6 loopback is not available on this machine")
    try:
        lookup = ResolverTxtLookup.from_nameservers([server.nameserver], timeout=1.0)
        assert lookup.txt("news.example.org").status is TxtStatus.FOUND
    finally:
        server.stop()


def test_from_system_sets_timeout() -> None:
    # Builds the resolver from /etc/resolv.conf without sending a query.
    lookup = ResolverTxtLookup.from_system(timeout=1.5)
    assert lookup._resolver.lifetime == 1.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        (" 192.0.2.1:53 ", ("192.0.2.1", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("dns.example.org:53", "IP address"),
        ("127.0.0.1:0", "invalid port"),
        ("127.0.0.1:70000", "invalid port"),
        ("127.0.0.1:abc", "invalid port"),
        ("[::1", "[address]:port"),
        ("[::1]5353", "[address]:port"),
    ],
)
def test_parse_nameserver_rejects(text: str, fault: str) -> None:
    with pytest.raises(ValueError, match=fault.replace("[", r"\[").replace("]", r"\]")):
        parse_nameserver(text)


def test_from_nameservers_rejects_empty_list() -> None:
    with pytest.raises(ValueError, match="nameservers is empty"):
        ResolverTxtLookup.from_nameservers([])


def test_from_nameservers_rejects_zero_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        ResolverTxtLookup.from_nameservers(["127.0.0.1:53"], timeout=0)


def test_zone_file_lookup_found() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")

    assert lookup.origin == "example.org"
    assert SPF_JOINED in lookup.txt("example.org").records


def test_zone_file_lookup_follows_cname() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")
    assert lookup.txt("alias.example.org").records == ("v=spf1 include:_spf.example.net ~all",)


def test_zone_file_lookup_empty_results() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")

    assert lookup.txt("nothing.example.org") == TxtResult.empty(TxtReason.NXDOMAIN)
    assert lookup.txt("mail.example.org") == TxtResult.empty(TxtReason.NO_ANSWER)
    assert lookup.txt("_domainkey.example.org") == TxtResult.empty(TxtReason.NO_ANSWER)


def test_zone_file_lookup_outside_zone_unknown() -> None:
    lookup = ZoneTxtLookup.from_file(ZONES_DIR / "example.org.zone")
    assert lookup.txt("example.com") == TxtResult.unknown(TxtReason.OUTSIDE_ZONE)


def test_zone_file_lookup_cname_loop_unknown() -> None:
    text = "a IN CNAME b.example.net.\nb IN CNAME a.example.net.\n"
    lookup = ZoneTxtLookup.from_text(text, origin="example.net")
    assert lookup.txt("a.example.net") == TxtResult.unknown(TxtReason.CNAME_LOOP)


def test_zone_file_origin_argument(tmp_path: Path) -> None:
    zone = tmp_path / "bare.zone"
    zone.write_text('@ 300 IN TXT "v=spf1 -all"\n', encoding="utf-8")

    lookup = ZoneTxtLookup.from_file(zone, origin="example.net")
    assert lookup.txt("example.net").records == ("v=spf1 -all",)


def test_zone_file_without_origin_rejected(tmp_path: Path) -> None:
    zone = tmp_path / "bare.zone"
    zone.write_text('@ 300 IN TXT "v=spf1 -all"\n', encoding="utf-8")

    with pytest.raises(ZoneFileError, match=r"no \$ORIGIN line"):
        ZoneTxtLookup.from_file(zone)


def test_zone_file_syntax_error_rejected() -> None:
    with pytest.raises(ZoneFileError, match="not a valid zone file"):
        ZoneTxtLookup.from_text("@ 300 IN TXT\n", origin="example.net")


def test_zone_file_missing_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ZoneTxtLookup.from_file(tmp_path / "absent.zone")


def test_zone_generate_within_bound_accepted() -> None:
    # dnspython reads the record data as one token, so it has no space.
    text = "$ORIGIN example.net.\n$GENERATE 1-100 host$ 300 IN TXT v=spf1/$\n"

    lookup = ZoneTxtLookup.from_text(text)

    assert lookup.txt("host42.example.net").records == ("v=spf1/42",)


def test_zone_generate_over_bound_rejected() -> None:
    # One line once asked dnspython for 100 million names.
    text = (
        "$ORIGIN example.net.\n"
        "$GENERATE 1-5000 a$ 300 IN TXT x\n"
        "$GENERATE 1-100000000 b$ 300 IN TXT x\n"
    )

    with pytest.raises(ZoneFileError, match=r"zone text:3: \$GENERATE lines add more than 10000"):
        ZoneTxtLookup.from_text(text)
