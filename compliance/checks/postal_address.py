"""Presence of the sender's postal address in the message footer (CAN-SPAM US-01).

The method: render the body to lines, find the footer zone around its
anchors (unsubscribe wording, copyright, "our mailing address is"...),
slide windows of one to four lines over it and match each window against
per-country address shapes. An ESP merge tag that the ESP fills with the
account's address counts as present but unverified.

This checks presence only. Telling placeholders (123 Main St, Anytown)
from real addresses and comparing with the sender profile come later.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from compliance.checks.address_patterns import AddressMatch, match_address
from compliance.checks.findings import US_01, Finding, Severity, make_finding
from compliance.checks.html_text import parse_html, visible_lines
from compliance.checks.i18n import N_
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


class Presence(enum.StrEnum):
    """Outcome of the address search in one body part."""

    FOUND = "found"
    MERGE_TAG = "merge_tag"
    MISSING = "missing"


@dataclass(frozen=True)
class PartAddress:
    """Address search result of one body part.

    ``in_footer`` is False for an address found outside the footer zone.
    """

    part: str
    presence: Presence
    address: AddressMatch | None = None
    merge_tag: str = ""
    in_footer: bool = False


def find_address_in_lines(lines: list[str]) -> tuple[AddressMatch | None, bool]:
    """Return the first address in the footer zone of ``lines``, else in all of them.

    The flag is True when the address was found in the footer zone.
    """
    lines = [_INLINE_SEPARATORS.sub(", ", line) for line in lines]
    zone = footer_zone(lines)
    found = _search_windows([lines[index] for index in zone])
    if found is not None:
        return found, True
    if len(zone) < len(lines):
        return _search_windows(lines), False
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


def _search_windows(lines: list[str]) -> AddressMatch | None:
    # Smaller windows first, so that the reported text is the tightest one.
    for size in range(1, MAX_WINDOW_LINES + 1):
        for start in range(0, max(0, len(lines) - size) + 1):
            found = match_address(", ".join(lines[start : start + size]))
            if found is not None:
                return _extend_upwards(lines, start, size, found)
    return None


def _extend_upwards(lines: list[str], start: int, size: int, found: AddressMatch) -> AddressMatch:
    # A locality line alone can be complete (a French CEDEX line) while the
    # line above contains the box or street, which is kept when it adds to
    # the match.
    if start == 0:
        return found
    wider = match_address(", ".join(lines[start - 1 : start + size]))
    if wider is not None and wider.country == found.country and len(wider.text) > len(found.text):
        return wider
    return found


def find_in_part(part: str, lines: list[str]) -> PartAddress:
    """Look for an address, then for an address merge tag, in the lines of one part."""
    address, in_footer = find_address_in_lines(lines)
    if address is not None:
        return PartAddress(part, Presence.FOUND, address=address, in_footer=in_footer)
    tag = ADDRESS_MERGE_TAGS.search("\n".join(lines))
    if tag is not None:
        return PartAddress(part, Presence.MERGE_TAG, merge_tag=tag.group())
    return PartAddress(part, Presence.MISSING)


def html_lines(html: str) -> list[str]:
    """Render the visible text of an HTML body as lines."""
    root = parse_html(html)
    return visible_lines(root) if root is not None else []


def check_postal_address(html: str | None, text: str | None) -> tuple[Finding, ...]:
    """Check that the body parts present show a postal address (presence only)."""
    results = []
    if html is not None:
        results.append(find_in_part("html", html_lines(html)))
    if text is not None:
        results.append(find_in_part("text", text.splitlines()))

    found = [result for result in results if result.presence is Presence.FOUND]
    tagged = [result for result in results if result.presence is Presence.MERGE_TAG]
    missing = [result for result in results if result.presence is Presence.MISSING]
    in_footer = [result for result in found if result.in_footer]

    if in_footer:
        findings = [_found_finding(in_footer[0])]
        if missing:
            findings.append(
                make_finding(
                    US_01,
                    "address.missing_in_part",
                    N_(
                        "The %(part_name)s part shows no postal address although the other "
                        "part does: add it to both parts."
                    ),
                    severity=Severity.WARN,
                    facts={"part": missing[0].part},
                    translated={"part_name": _PART_NAMES[missing[0].part]},
                )
            )
        return tuple(findings)

    if tagged:
        return (
            make_finding(
                US_01,
                "address.merge_tag",
                N_(
                    "The postal address is the merge tag %(merge_tag)s, filled in by the ESP: "
                    "it is present but unverified. Check the address set in the ESP account."
                ),
                severity=Severity.WARN,
                facts={"merge_tag": tagged[0].merge_tag, "part": tagged[0].part},
            ),
        )

    # An address far from the footer is often the customer's (an order
    # confirmation), so it is only a lead.
    if found:
        return (
            make_finding(
                US_01,
                "address.outside_footer",
                N_(
                    "No postal address in the footer; an address appears elsewhere in the "
                    "message (%(address)s). If it is the sender's, show it in the footer."
                ),
                severity=Severity.WARN,
                facts=_address_facts(found[0]),
            ),
        )

    return (
        make_finding(
            US_01,
            "address.missing",
            N_(
                "No postal address found in the message: add the sender's valid postal address "
                "(street address, PO Box or private mailbox) to the footer."
            ),
        ),
    )


def _found_finding(result: PartAddress) -> Finding:
    return make_finding(
        US_01,
        "address.found",
        N_("Postal address found in the footer: %(address)s"),
        severity=Severity.INFO,
        facts=_address_facts(result),
    )


def _address_facts(result: PartAddress) -> dict[str, str | int]:
    assert result.address is not None
    return {
        "address": result.address.text[:MAX_SHOWN_CHARACTERS],
        "country": result.address.country,
        "kind": str(result.address.kind),
        "part": result.part,
    }


_PART_NAMES = {"html": N_("HTML"), "text": N_("plain-text")}
