"""Classify the postal address of one body part: street, PO Box, private mailbox or a failure.

Detection (:mod:`compliance.checks.postal_address`) finds the window that
has the shape of an address. This module judges it: demo and editor
placeholders, a US ZIP or Canadian postal code that does not belong to the
state or province, a virtual-mailbox building without its box number, and
partial addresses (a street without postcode, a ZIP without state).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from compliance.checks.address_denylist import find_placeholder, is_cmra_building
from compliance.checks.address_parse import parse_us, postcode_matches_region
from compliance.checks.address_patterns import (
    CA_PROVINCE_POSTCODE,
    ENGLISH_STREET,
    FR_STREET,
    PO_BOX,
    US_STATE_ZIP,
    AddressKind,
    AddressMatch,
)
from compliance.checks.address_search import ADDRESS_MERGE_TAGS, find_address_in_lines, footer_zone


class AddressVerdict(enum.StrEnum):
    """What the footer shows as the sender's postal address."""

    STREET = "street"
    PO_BOX = "po_box"
    PMB = "pmb"
    MERGE_TAG = "merge_tag"
    PLACEHOLDER = "placeholder"
    INCOMPLETE = "incomplete"
    NONE = "none"


VALID_VERDICTS = frozenset({AddressVerdict.STREET, AddressVerdict.PO_BOX, AddressVerdict.PMB})


class Reason(enum.StrEnum):
    """Why an address was judged a placeholder or incomplete."""

    DEMO_ADDRESS = "demo_address"
    POSTCODE_MISMATCH = "postcode_mismatch"
    CMRA_WITHOUT_BOX = "cmra_without_box"
    NO_POSTCODE = "no_postcode"
    NO_STREET = "no_street"
    NONE = ""


@dataclass(frozen=True)
class AddressAssessment:
    """The address verdict of one body part.

    ``span`` is the character range of the address in the part's rendered
    text (its lines joined with newlines), for highlighting; ``detail`` is the
    placeholder phrase or merge tag that decided the verdict.
    """

    part: str
    verdict: AddressVerdict
    country: str = ""
    text: str = ""
    span: tuple[int, int] | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    reason: Reason = Reason.NONE
    detail: str = ""
    in_footer: bool = True

    @property
    def is_valid(self) -> bool:
        """True for a complete street, PO Box or private-mailbox address."""
        return self.verdict in VALID_VERDICTS

    @property
    def outcome(self) -> str:
        """``valid``, ``merge_tag`` or ``fail``: the three outcomes the corpus labels use."""
        if self.is_valid:
            return "valid"
        return "merge_tag" if self.verdict is AddressVerdict.MERGE_TAG else "fail"


_KIND_VERDICTS = {
    AddressKind.STREET: AddressVerdict.STREET,
    AddressKind.PO_BOX: AddressVerdict.PO_BOX,
    AddressKind.PMB: AddressVerdict.PMB,
}

# A house number and capitalised street words, then a five-digit code with
# no state before it: "123 Van Ness, San Francisco 94102".
_NUMBERED_STREET_AND_ZIP = re.compile(
    r"\b\d{1,5}\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)*,[^\n]*?\b\d{5}(?:-\d{4})?\b"
)


def assess_lines(part: str, lines: list[str]) -> AddressAssessment:
    """Find and classify the postal address shown in the rendered ``lines`` of one part."""
    rendered = "\n".join(lines)
    found, in_footer = find_address_in_lines(lines)
    if found is not None:
        return _assess_found(part, found, in_footer, rendered)

    tag = ADDRESS_MERGE_TAGS.search(rendered)
    if tag is not None:
        return AddressAssessment(
            part, AddressVerdict.MERGE_TAG, detail=tag.group(), span=(tag.start(), tag.end())
        )

    zone_text = "\n".join(lines[index] for index in footer_zone(lines))
    placeholder = find_placeholder(zone_text)
    if placeholder is not None:
        return AddressAssessment(
            part,
            AddressVerdict.PLACEHOLDER,
            reason=Reason.DEMO_ADDRESS,
            detail=placeholder,
            span=_span_of(rendered, placeholder),
        )
    return _assess_partial(part, zone_text, rendered)


def _assess_found(
    part: str, found: AddressMatch, in_footer: bool, rendered: str
) -> AddressAssessment:
    verdict = _KIND_VERDICTS[found.kind]
    fields: dict[str, str] = {}
    reason = Reason.NONE
    detail = ""

    placeholder = find_placeholder(found.text)
    if found.country == "US":
        fields = parse_us(found.text)
        state_zip = US_STATE_ZIP.search(found.text)
        if state_zip is not None:
            state, postcode = _split_region_postcode(state_zip.group())
            fields.setdefault("StateName", state)
            fields.setdefault("ZipCode", postcode)
        if fields.get("SubaddressType", "").upper() == "PMB":
            verdict = AddressVerdict.PMB
    elif found.country == "CA":
        province_postcode = CA_PROVINCE_POSTCODE.search(found.text)
        if province_postcode is not None:
            province, postcode = _split_region_postcode(province_postcode.group(), postcode_words=2)
            fields = {"province": province, "postal_code": postcode}

    region = fields.get("StateName") or fields.get("province", "")
    postcode = fields.get("ZipCode") or fields.get("postal_code", "")
    if placeholder is not None:
        verdict, reason, detail = AddressVerdict.PLACEHOLDER, Reason.DEMO_ADDRESS, placeholder
    elif region and postcode and postcode_matches_region(found.country, region, postcode) is False:
        verdict, reason = AddressVerdict.PLACEHOLDER, Reason.POSTCODE_MISMATCH
        detail = f"{region} {postcode}"
    elif verdict is AddressVerdict.STREET and is_cmra_building(
        fields.get("AddressNumber", ""), fields.get("StreetName", "")
    ):
        verdict, reason = AddressVerdict.INCOMPLETE, Reason.CMRA_WITHOUT_BOX

    return AddressAssessment(
        part,
        verdict,
        country=found.country,
        text=found.text,
        span=_span_of(rendered, found.text),
        fields=fields,
        reason=reason,
        detail=detail,
        in_footer=in_footer,
    )


def _assess_partial(part: str, zone_text: str, rendered: str) -> AddressAssessment:
    # A street or box line with no postcode, or a ZIP with no state: the
    # sender tried to give an address but it cannot be delivered to.
    street = (
        ENGLISH_STREET.search(zone_text)
        or FR_STREET.search(zone_text)
        or _NUMBERED_STREET_AND_ZIP.search(zone_text)
    )
    box = PO_BOX.search(zone_text)
    if street is not None or box is not None:
        piece = (street or box).group()  # type: ignore[union-attr]
        return AddressAssessment(
            part,
            AddressVerdict.INCOMPLETE,
            text=piece,
            span=_span_of(rendered, piece),
            reason=Reason.NO_POSTCODE,
        )
    return AddressAssessment(part, AddressVerdict.NONE)


def _split_region_postcode(text: str, postcode_words: int = 1) -> tuple[str, str]:
    words = text.replace(",", " ").split()
    region = " ".join(words[:-postcode_words]).rstrip(".")
    return region, " ".join(words[-postcode_words:])


def _span_of(rendered: str, text: str) -> tuple[int, int] | None:
    """Locate ``text`` in ``rendered``, where its ", " joins may be newlines or separators."""
    pieces = [piece for piece in re.split(r",\s*", text) if piece]
    if not pieces:
        return None
    start = rendered.find(pieces[0])
    if start < 0:
        return None
    end_piece = rendered.find(pieces[-1], start)
    end = end_piece + len(pieces[-1]) if end_piece >= 0 else start + len(pieces[0])
    return (start, end)
