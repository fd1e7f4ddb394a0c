"""SPF record syntax (RFC 7208 section 12): valid records parse, invalid ones name the term."""

from __future__ import annotations

import pytest

from compliance.checks.spf_record import (
    Mechanism,
    Modifier,
    Qualifier,
    SpfErrorKind,
    SpfSyntaxError,
    is_spf_record,
    parse_spf_record,
)


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1",
        "v=spf1 -all",
        "V=SPF1 ~ALL",
        "v=spf1  ip4:192.0.2.0/24   -all  ",
        "v=spf1 ip6:2001:db8::/32 ip6:::1 ?all",
        "v=spf1 a mx a:mail.example.org a:mail.example.org/24//64 mx//64 a/0 -all",
        "v=spf1 ptr ptr:example.org include:_spf.example.net -all",
        "v=spf1 exists:%{i}.%{l1r+-}._spf.%{d} -all",
        "v=spf1 include:example.org. -all",
        "v=spf1 redirect=_spf.example.org",
        "v=spf1 exp=explain._spf.%{d} -all",
        "v=spf1 custom-modifier=%{c}%{r}%{t}%%%_%- -all",
        "v=spf1 a:example.123-456 -all",
    ],
)
def test_valid_records_parse(record: str) -> None:
    assert parse_spf_record(record).text == record


def test_terms_are_typed() -> None:
    record = parse_spf_record("v=spf1 -ip4:192.0.2.0/24 mx:example.org/28//64 redirect=x.example")

    ip4, mx, redirect = record.terms
    assert ip4 == Mechanism(Qualifier.FAIL, "ip4", "192.0.2.0", 24, None, 8, "-ip4:192.0.2.0/24")
    assert isinstance(mx, Mechanism)
    assert (mx.value, mx.ip4_prefix, mx.ip6_prefix) == ("example.org", 28, 64)
    assert redirect == Modifier("redirect", "x.example", 48, "redirect=x.example")


def test_all_mechanism_and_modifier_lookup() -> None:
    record = parse_spf_record("v=spf1 include:a.example ~all -all exp=e.example")

    assert record.all_mechanism is not None
    assert record.all_mechanism.qualifier is Qualifier.SOFTFAIL
    assert record.modifier("exp") is not None
    assert record.modifier("redirect") is None


def test_dns_lookup_count() -> None:
    record = parse_spf_record(
        "v=spf1 a mx ptr include:a.example exists:b.example ip4:192.0.2.1 redirect=c.example"
    )
    assert record.dns_lookup_count == 6


@pytest.mark.parametrize(
    ("record", "kind", "position", "term"),
    [
        ("v=spf2 -all", SpfErrorKind.NOT_SPF, 1, "v=spf2"),
        ("v=spf1 -all \u00e9", SpfErrorKind.INVALID_CHARACTER, 13, "\u00e9"),
        ("v=spf1 ipv4:192.0.2.1", SpfErrorKind.UNKNOWN_MECHANISM, 8, "ipv4:192.0.2.1"),
        ("v=spf1 mx5", SpfErrorKind.UNKNOWN_MECHANISM, 8, "mx5"),
        ("v=spf1 include", SpfErrorKind.MISSING_DOMAIN, 8, "include"),
        ("v=spf1 include:", SpfErrorKind.MISSING_DOMAIN, 8, "include:"),
        ("v=spf1 exists", SpfErrorKind.MISSING_DOMAIN, 8, "exists"),
        ("v=spf1 redirect=", SpfErrorKind.MISSING_DOMAIN, 8, "redirect="),
        ("v=spf1 all/24", SpfErrorKind.UNEXPECTED_ARGUMENT, 8, "all/24"),
        ("v=spf1 ptr/24", SpfErrorKind.UNEXPECTED_ARGUMENT, 8, "ptr/24"),
        ("v=spf1 include:com", SpfErrorKind.INVALID_DOMAIN_SPEC, 8, "include:com"),
        ("v=spf1 a:192.0.2.1", SpfErrorKind.INVALID_DOMAIN_SPEC, 8, "a:192.0.2.1"),
        (
            "v=spf1 include:example.org/24",
            SpfErrorKind.INVALID_DOMAIN_SPEC,
            8,
            "include:example.org/24",
        ),
        ("v=spf1 a:50%.example.org", SpfErrorKind.INVALID_MACRO, 8, "a:50%.example.org"),
        (
            "v=spf1 exists:%{x}.example.org",
            SpfErrorKind.INVALID_MACRO,
            8,
            "exists:%{x}.example.org",
        ),
        (
            "v=spf1 exists:%{d0}.example.org",
            SpfErrorKind.INVALID_MACRO,
            8,
            "exists:%{d0}.example.org",
        ),
        ("v=spf1 a:%{c}.example.org", SpfErrorKind.INVALID_MACRO, 8, "a:%{c}.example.org"),
        ("v=spf1 ip4:192.0.2.300", SpfErrorKind.INVALID_IP4, 8, "ip4:192.0.2.300"),
        ("v=spf1 ip4:010.0.0.1", SpfErrorKind.INVALID_IP4, 8, "ip4:010.0.0.1"),
        ("v=spf1 ip4", SpfErrorKind.INVALID_IP4, 8, "ip4"),
        ("v=spf1 ip6:fe80::1%eth0", SpfErrorKind.INVALID_IP6, 8, "ip6:fe80::1%eth0"),
        ("v=spf1 ip4:192.0.2.0/33", SpfErrorKind.INVALID_CIDR, 8, "ip4:192.0.2.0/33"),
        ("v=spf1 ip6:2001:db8::/129", SpfErrorKind.INVALID_CIDR, 8, "ip6:2001:db8::/129"),
        ("v=spf1 a/024", SpfErrorKind.INVALID_CIDR, 8, "a/024"),
        ("v=spf1 mx/24/64", SpfErrorKind.INVALID_CIDR, 8, "mx/24/64"),
        (
            "v=spf1 -redirect=example.org",
            SpfErrorKind.QUALIFIED_MODIFIER,
            8,
            "-redirect=example.org",
        ),
        (
            "v=spf1 redirect=a.example redirect=b.example",
            SpfErrorKind.DUPLICATE_MODIFIER,
            27,
            "redirect=b.example",
        ),
        (
            "v=spf1 -all exp=a.example exp=b.example",
            SpfErrorKind.DUPLICATE_MODIFIER,
            27,
            "exp=b.example",
        ),
    ],
)
def test_invalid_records_report_first_error(
    record: str, kind: SpfErrorKind, position: int, term: str
) -> None:
    with pytest.raises(SpfSyntaxError) as raised:
        parse_spf_record(record)

    assert raised.value.kind is kind
    assert raised.value.position == position
    assert raised.value.term == term


def test_first_error_wins() -> None:
    with pytest.raises(SpfSyntaxError) as raised:
        parse_spf_record("v=spf1 ip4:192.0.2.0/24 ip4:bad include:com")
    assert raised.value.term == "ip4:bad"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=spf1", True),
        ("v=spf1 -all", True),
        ("V=Spf1 -all", True),
        ("v=spf10 -all", False),
        ("v=spf1\t-all", False),
        ("spf2.0/pra -all", False),
        ("google-site-verification=abc", False),
    ],
)
def test_is_spf_record(text: str, expected: bool) -> None:
    assert is_spf_record(text) is expected
