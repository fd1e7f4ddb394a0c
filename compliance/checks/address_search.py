"""Location of a postal address block in the rendered lines of a message body.

The method: find the footer zone around its anchors (unsubscribe wording,
copyright, "our mailing address is"...), slide windows of one to four lines
over it and match each window against per-country address shapes.
"""

from __future__ import annotations

import re

from compliance.checks.address_patterns import AddressMatch, match_address
from compliance.checks.unsubscribe import UNSUBSCRIBE_WORDING

# Merge tags that ESPs replace with the postal address of the account.
# NOTE: [[POSTAL_ADDRESS]], seen in mjml templates, is left out because no
# ESP documentation naming it was found, so it counts as unfilled.
ADDRESS_MERGE_TAGS = re.compile(
    r"\*\|(?:HTML:)?LIST:?_?ADDRESS(?:_HTML)?\|\*"  # Mailchimp
    r"|\[Sender_Address\]"  # SendGrid
    r"|%%account_address%%"  # Salesforce Account Engagement (Pardot)
    r"|%%Member_Addr%%"  # Salesforce Marketing Cloud
    r"|\{\{\s*unsubscribe_address\s*\}\}"
    r"|\{\{\s*(?:site_settings\.)?company_street_address_1\s*\}\}",  # HubSpot
    re.IGNORECASE,
)

# Lines that mark the footer, in English, French and German.
FOOTER_ANCHORS = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|all rights reserved|tous droits r[ée]serv[ée]s"
    r"|our (?:mailing|postal) address|notre adresse|adresse postale|mailing address"
    r"|you (?:are )?receiv|vous recevez|impressum|\bRCS\b|\bSIRET\b|registered in"
    r"|view (?:it )?in (?:your )?browser|privacy policy|politique de confidentialit[ée]",
    re.IGNORECASE,
)

# The footer zone is the last 35 % of the lines plus 12 lines around each
# anchor. The whole text is searched only when the zone has no address.
FOOTER_SHARE = 0.35
ANCHOR_RADIUS = 12
MAX_WINDOW_LINES = 4
MAX_SHOWN_CHARACTERS = 200

# Separators that footers put between the lines of one address.
_INLINE_SEPARATORS = re.compile(r"\s*(?:\||\u00b7|\u2022|\u30fb|\s[\u2013\u2014-]\s|\s/\s)\s*")


def find_address_in_lines(lines: list[str]) -> tuple[AddressMatch | None, bool]:
    """Return the first address in the footer zone of ``lines``, else in all of them.

    The flag is True when the address was found in the footer zone.
    """
    lines = [_INLINE_SEPARATORS.sub(", ", line) for line in lines]
    zone = footer_zone(lines)
    located = _search_windows([lines[index] for index in zone])
    if located is not None:
        found, start, size = located
        first, last = zone[start], zone[start + size - 1]
        if last - first == size - 1:
            # The lines just above the zone can hold the street or box line
            # of an address whose locality line is inside it.
            found = _extend_upwards(lines, first, size, found)
        return found, True
    if len(zone) < len(lines):
        anywhere = _search_windows(lines)
        if anywhere is None:
            return None, False
        found, start, size = anywhere
        return _extend_upwards(lines, start, size, found), False
    return None, False


def footer_zone(lines: list[str]) -> list[int]:
    """Return the indexes of the footer lines, in order."""
    first_of_tail = int(len(lines) * (1 - FOOTER_SHARE))
    indexes = set(range(first_of_tail, len(lines)))
    for index, line in enumerate(lines):
        if FOOTER_ANCHORS.search(line) or UNSUBSCRIBE_WORDING.search(line):
            low = max(0, index - ANCHOR_RADIUS)
            indexes.update(range(low, min(len(lines), index + ANCHOR_RADIUS + 1)))
    return sorted(indexes)


def _search_windows(lines: list[str]) -> tuple[AddressMatch, int, int] | None:
    """Return the first address in ``lines`` with its window's first line and line count."""
    # Smaller windows first, so that the reported text is the tightest one.
    for size in range(1, MAX_WINDOW_LINES + 1):
        for start in range(0, max(0, len(lines) - size) + 1):
            found = match_address(", ".join(lines[start : start + size]))
            if found is not None:
                return found, start, size
    return None


def _extend_upwards(lines: list[str], start: int, size: int, found: AddressMatch) -> AddressMatch:
    # A locality line alone can be complete (a French CEDEX line) while the
    # lines above contain the box and the street, which are kept while they
    # add to the match, up to the window limit.
    while start > 0 and size < MAX_WINDOW_LINES:
        wider = match_address(", ".join(lines[start - 1 : start + size]))
        if wider is None or wider.country != found.country or len(wider.text) <= len(found.text):
            break
        start, size, found = start - 1, size + 1, wider
    return found
