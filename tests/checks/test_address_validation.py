"""Address verdicts: parsing, placeholders, merge tags, postcodes and the registered address."""

from __future__ import annotations

import pytest
import usaddress

from compliance.checks.address_compare import same_address
from compliance.checks.address_denylist import find_placeholder
from compliance.checks.address_parse import parse_us, postcode_matches_region
from compliance.checks.address_validation import AddressVerdict, Reason, assess_lines
from compliance.checks.findings import Severity
from compliance.checks.postal_address import check_postal_address


def _verdict(*lines: str) -> AddressVerdict:
    return assess_lines("text", list(lines)).verdict


def test_repeated_label_retry_finds_fields() -> None:
    window = (
        "Notre adresse postale est : Wikimedia Foundation, Inc., P.O. Box 98204, "
        "Washington, DC 20090-8204, États-Unis."
    )
    with pytest.raises(usaddress.RepeatedLabelError):
        usaddress.tag(window)

    fields = parse_us(window)

    assert fields["USPSBoxID"] == "98204"
    assert fields["StateName"] == "DC"
    assert fields["ZipCode"] == "20090-8204"


def test_french_sentence_before_po_box() -> None:
    result = assess_lines(
        "text",
        ["Notre adresse postale est : Wikimedia Foundation, Inc., P.O. Box 98204, "
         "Washington, DC 20090-8204, États-Unis."],
    )  # fmt: skip

    assert result.verdict is AddressVerdict.PO_BOX
    assert result.country == "US"


def test_cedex_with_delivery_service() -> None:
    result = assess_lines(
        "text", ["Défenseur des droits", "Libre réponse 71120", "75342 Paris CEDEX 07"]
    )

    assert result.verdict is AddressVerdict.PO_BOX
    assert result.country == "FR"
    assert "CEDEX 07" in result.text


def test_bp_line_is_po_box() -> None:
    assert _verdict("Exemple SA", "BP 1234", "69001 Lyon") is AddressVerdict.PO_BOX


def test_street_and_cs_is_street() -> None:
    assert _verdict("CNIL", "8 rue Vivienne", "CS 30223", "75083 PARIS cedex 02") is (
        AddressVerdict.STREET
    )


def test_pmb_keyword() -> None:
    result = assess_lines("text", ["1 Main St PMB 456, Dover, DE 19901-1234"])

    assert result.verdict is AddressVerdict.PMB
    assert result.fields["SubaddressType"] == "PMB"


def test_hash_box_is_pmb_suite_is_street() -> None:
    assert _verdict("2093 Philadelphia Pike #3222, Claymont, DE 19703") is AddressVerdict.PMB
    assert _verdict("1818 N Street NW, Suite 300, Washington, DC 20036") is AddressVerdict.STREET


def test_cmra_building_without_box_incomplete() -> None:
    result = assess_lines("text", ["Northbound Goods · 548 Market St · San Francisco, CA 94104"])

    assert result.verdict is AddressVerdict.INCOMPLETE
    assert result.reason is Reason.CMRA_WITHOUT_BOX


@pytest.mark.parametrize(
    "text",
    [
        "[Address]",
        "[[POSTAL_ADDRESS]]",
        "[Company Name, LLC]",
        "123 Main St., Springfield, MA 12345",
        "123 Fake Street, Portland, OR 97201",
        "City, State 12345",
        "Anytown, USA",
        "Tech City, CA 94102",
    ],
)
def test_placeholder_denylist(text: str) -> None:
    assert find_placeholder(text) is not None
    assert _verdict("© 2025", text) is AddressVerdict.PLACEHOLDER


@pytest.mark.parametrize(
    "text",
    [
        "123 North Leroux Street, Flagstaff, AZ 86001",
        "1234 Elm Avenue, Springfield, IL 62701",
        "12 rue de la Paix, 75002 Paris",
    ],
)
def test_real_addresses_not_denied(text: str) -> None:
    assert find_placeholder(text) is None
    assert assess_lines("text", [text]).is_valid


def test_postcode_region_mismatch_is_placeholder() -> None:
    result = assess_lines("text", ["1337 Swuby Lane", "Victoria, BC A1B 2C3"])

    assert result.verdict is AddressVerdict.PLACEHOLDER
    assert result.reason is Reason.POSTCODE_MISMATCH


def test_zip_state_consistency() -> None:
    assert postcode_matches_region("US", "DC", "20240") is True
    assert postcode_matches_region("US", "CA", "20240") is False
    assert postcode_matches_region("CA", "ON", "M4C 2W8") is True
    assert postcode_matches_region("US", "Atlantis", "20240") is None


@pytest.mark.parametrize(
    "tag",
    ["*|HTML:LIST_ADDRESS_HTML|*", "[Sender_Address]", "%%account_address%%"],
)
def test_merge_tag_present_unverified(tag: str) -> None:
    result = assess_lines("text", ["Our mailing address is:", tag])

    assert result.verdict is AddressVerdict.MERGE_TAG
    assert result.detail == tag
    assert result.outcome == "merge_tag"


@pytest.mark.parametrize(
    "line",
    [
        "10 Cabot Road | Medford, MA | 02155",
        "U.S. National Park Service • 1849 C Street N.W. • Washington, DC 20240",
        "GitHub, Inc. ・88 Colin P Kelly Jr Street ・San Francisco, CA 94107",
        "Lume Inc · 548 Market St #28475 · San Francisco, CA 94104",
    ],
)
def test_pipes_and_bullets_separate_lines(line: str) -> None:
    assert assess_lines("text", [line]).is_valid


def test_partial_address_incomplete() -> None:
    result = assess_lines("text", ["Acme Inc. 123 Van Ness, San Francisco 94102"])

    assert result.verdict is AddressVerdict.INCOMPLETE
    assert result.reason is Reason.NO_POSTCODE


def test_no_address_none() -> None:
    assert _verdict("Unsubscribe · View in browser") is AddressVerdict.NONE


def test_span_points_at_address() -> None:
    lines = ["Hello", "Acme Inc.", "100 Market Street", "San Francisco, CA 94105"]
    result = assess_lines("text", lines)

    assert result.span is not None
    start, end = result.span
    assert "\n".join(lines)[start:end] == "100 Market Street\nSan Francisco, CA 94105"


_MARKET = "100 Market Street, San Francisco, CA 94105"


@pytest.mark.parametrize(
    ("found", "registered", "same"),
    [
        (_MARKET + ", Suite 5", "100 MARKET ST STE 5 SAN FRANCISCO CA 94105", True),
        ("12 rue de la Paix, 75002 Paris", "12 Rue de la Paix 75002 PARIS France", True),
        (_MARKET, "101 Market Street, San Francisco, CA 94105", False),
        (_MARKET, "100 Mission Street, Boston, MA 02110", False),
    ],
)
def test_registered_address_comparison(found: str, registered: str, same: bool) -> None:
    assert same_address(found, registered) is same


def test_registered_address_findings() -> None:
    html = "<p>Acme Inc., 100 Market Street, San Francisco, CA 94105</p>"

    matching = check_postal_address(html, None, "100 MARKET ST, SAN FRANCISCO CA 94105")
    different = check_postal_address(html, None, "1 Infinite Loop, Cupertino, CA 95014")

    assert [(f.rule, f.check, f.severity) for f in matching][-1] == (
        "US-02", "address.matches_registered", Severity.INFO
    )  # fmt: skip
    assert [(f.rule, f.check, f.severity) for f in different][-1] == (
        "US-02", "address.differs_from_registered", Severity.WARN
    )  # fmt: skip


def test_placeholder_blocks_under_us_and_casl() -> None:
    findings = check_postal_address("<p>© Acme</p><p>123 Main St., Springfield, MA 12345</p>", None)

    assert [(f.rule, f.check, f.severity) for f in findings] == [
        ("US-01", "address.placeholder", Severity.BLOCK),
        ("CA-06", "address.placeholder", Severity.BLOCK),
    ]
    assert findings[0].fix_fr
    assert findings[0].location.startswith("html [")


def test_incomplete_warns() -> None:
    findings = check_postal_address(
        None, "© Acme\n44 Montgomery Street, Suite 300 San Francisco, CA"
    )

    assert [(f.check, f.severity) for f in findings] == [("address.incomplete", Severity.WARN)]
