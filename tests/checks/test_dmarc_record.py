"""DMARC record syntax (RFC 7489 section 6.4)."""

from __future__ import annotations

import pytest

from compliance.checks.dmarc_record import (
    DmarcErrorKind,
    DmarcPolicy,
    DmarcSyntaxError,
    is_dmarc_record,
    parse_dmarc_record,
)


def test_minimal_record() -> None:
    record = parse_dmarc_record("v=DMARC1; p=none")

    assert record.policy is DmarcPolicy.NONE
    assert record.subdomain_policy is None
    assert record.invalid_tags == ()


def test_full_record() -> None:
    record = parse_dmarc_record(
        "v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; aspf=r; "
        "rua=mailto:reports@example.org,mailto:copy@example.net;"
    )

    assert record.policy is DmarcPolicy.REJECT
    assert record.subdomain_policy is DmarcPolicy.QUARANTINE
    assert record.tags["pct"] == "50"
    assert record.invalid_tags == ()


def test_spaces_and_case_tolerated() -> None:
    record = parse_dmarc_record("v = DMARC1 ;  P = Quarantine ;")
    assert record.policy is DmarcPolicy.QUARANTINE


def test_policy_for_subdomain() -> None:
    record = parse_dmarc_record("v=DMARC1; p=reject; sp=none")

    assert record.policy_for(subdomain=False) is DmarcPolicy.REJECT
    assert record.policy_for(subdomain=True) is DmarcPolicy.NONE


def test_policy_for_subdomain_defaults_to_p() -> None:
    record = parse_dmarc_record("v=DMARC1; p=quarantine")
    assert record.policy_for(subdomain=True) is DmarcPolicy.QUARANTINE


@pytest.mark.parametrize(
    ("text", "invalid"),
    [
        ("v=DMARC1; p=none; pct=150", ("pct",)),
        ("v=DMARC1; p=none; pct=abc", ("pct",)),
        ("v=DMARC1; p=none; adkim=x; aspf=y", ("adkim", "aspf")),
        ("v=DMARC1; p=none; sp=block", ("sp",)),
        ("v=DMARC1; p=none; rua=reports.example.org", ("rua",)),
        ("v=DMARC1; p=none; p=reject", ("p",)),
    ],
)
def test_invalid_optional_tags_listed(text: str, invalid: tuple[str, ...]) -> None:
    record = parse_dmarc_record(text)

    assert record.policy is DmarcPolicy.NONE
    assert record.invalid_tags == invalid


@pytest.mark.parametrize(
    ("text", "kind", "tag"),
    [
        ("v=DMARC1", DmarcErrorKind.MISSING_POLICY, "p"),
        ("v=DMARC1; rua=mailto:r@example.org", DmarcErrorKind.MISSING_POLICY, "p"),
        ("v=DMARC1; p=block", DmarcErrorKind.INVALID_POLICY, "p"),
        ("v=DMARC1; p=none; garbage", DmarcErrorKind.INVALID_TAG, "garbage"),
        ("v=dmarc1; p=none", DmarcErrorKind.NOT_DMARC, "v"),
        ("p=none; v=DMARC1", DmarcErrorKind.NOT_DMARC, "v"),
    ],
)
def test_unusable_records_rejected(text: str, kind: DmarcErrorKind, tag: str) -> None:
    with pytest.raises(DmarcSyntaxError) as raised:
        parse_dmarc_record(text)

    assert raised.value.kind is kind
    assert raised.value.tag == tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=none", True),
        ("v=DMARC1", True),
        ("v = DMARC1;p=none", True),
        ("v=DMARC10; p=none", False),
        ("v=DMARC2; p=none", False),
        ("v=spf1 -all", False),
    ],
)
def test_is_dmarc_record(text: str, expected: bool) -> None:
    assert is_dmarc_record(text) is expected
