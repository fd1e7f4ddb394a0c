"""The sender's postal address in the message footer (CAN-SPAM US-01 and US-02, CASL CA-06).

Detection is in :mod:`compliance.checks.address_search`, the verdict in
:mod:`compliance.checks.address_validation`. This module turns the verdicts
of the HTML and text parts into findings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from compliance.checks.address_compare import same_address
from compliance.checks.address_patterns import AddressMatch
from compliance.checks.address_search import (
    ADDRESS_MERGE_TAGS,
    find_address_in_lines,
    footer_zone,
)
from compliance.checks.address_validation import (
    AddressAssessment,
    AddressVerdict,
    Reason,
    assess_lines,
)
from compliance.checks.findings import (
    CA_06,
    US_01,
    US_02,
    Finding,
    Rule,
    Severity,
    make_finding,
)
from compliance.checks.html_text import parse_html, visible_lines
from compliance.checks.i18n import N_

__all__ = [
    "ADDRESS_MERGE_TAGS",
    "PartAddress",
    "Presence",
    "assess_parts",
    "check_postal_address",
    "find_address_in_lines",
    "find_in_part",
    "footer_zone",
    "html_lines",
]

MAX_SHOWN_CHARACTERS = 200


class Presence(enum.StrEnum):
    """Outcome of the address search in one body part, before any validation."""

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


def find_in_part(part: str, lines: list[str]) -> PartAddress:
    """Look for an address shape, then for an address merge tag, in the lines of one part."""
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


def assess_parts(html: str | None, text: str | None) -> list[AddressAssessment]:
    """Return the address verdict of each body part present, HTML first."""
    results = []
    if html is not None:
        results.append(assess_lines("html", html_lines(html)))
    if text is not None:
        results.append(assess_lines("text", text.splitlines()))
    return results


def check_postal_address(
    html: str | None, text: str | None, registered_address: str | None = None
) -> tuple[Finding, ...]:
    """Check the postal address shown in the body parts present.

    ``registered_address`` is the sender's address on file. When given, the
    footer address is compared with it (US-02).
    """
    results = assess_parts(html, text)
    best = _best(results)
    if best is None:
        return (_missing_finding(US_01), _missing_finding(CA_06))

    findings = _verdict_findings(best)
    if best.is_valid and best.in_footer:
        missing = [result for result in results if result.outcome != "valid"]
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
                    location=missing[0].part,
                )
            )
        if registered_address:
            findings.append(_comparison_finding(best, registered_address))
    return tuple(findings)


# Order of preference between the verdicts of the two parts: the best
# evidence wins, so a text part without an address does not hide the HTML one.
_PREFERENCE = [
    AddressVerdict.STREET,
    AddressVerdict.PMB,
    AddressVerdict.PO_BOX,
    AddressVerdict.MERGE_TAG,
    AddressVerdict.INCOMPLETE,
    AddressVerdict.PLACEHOLDER,
]


def _best(results: list[AddressAssessment]) -> AddressAssessment | None:
    in_footer = [result for result in results if result.in_footer]
    for candidates in (in_footer, results):
        for verdict in _PREFERENCE:
            for result in candidates:
                if result.verdict is verdict:
                    return result
    return None


def _verdict_findings(result: AddressAssessment) -> list[Finding]:
    location = _location(result)
    if result.is_valid and not result.in_footer:
        # An address far from the footer is often the customer's (an order
        # confirmation), so it is only a lead.
        return [
            make_finding(
                US_01,
                "address.outside_footer",
                N_(
                    "No postal address in the footer; an address appears elsewhere in the "
                    "message (%(address)s). If it is the sender's, show it in the footer."
                ),
                severity=Severity.WARN,
                facts=_facts(result),
                fix=N_("Move the sender's postal address into the footer of both parts."),
                location=location,
            )
        ]

    if result.is_valid:
        return [
            make_finding(
                US_01,
                "address.found",
                N_("Postal address found in the footer: %(address)s"),
                severity=Severity.INFO,
                facts=_facts(result),
                fix=N_(
                    "Nothing to fix. Registration of a PO Box with USPS or of a private "
                    "mailbox with a CMRA cannot be checked offline: confirm it yourself."
                ),
                location=location,
            )
        ]

    if result.verdict is AddressVerdict.MERGE_TAG:
        return [
            make_finding(
                US_01,
                "address.merge_tag",
                N_(
                    "The postal address is the merge tag %(merge_tag)s, filled in by the ESP: "
                    "it is present but unverified. Check the address set in the ESP account."
                ),
                severity=Severity.WARN,
                facts={"merge_tag": result.detail, "part": result.part},
                fix=N_(
                    "Check that the ESP account holds the sender's current postal address, "
                    "or write the address in the template."
                ),
                location=location,
            )
        ]

    if result.verdict is AddressVerdict.INCOMPLETE:
        msgid = (
            N_(
                "The address %(address)s is a virtual-mailbox building: without the private "
                "mailbox number (PMB or #) mail cannot reach the sender."
            )
            if result.reason is Reason.CMRA_WITHOUT_BOX
            else N_(
                "The footer shows a partial address (%(address)s): the postcode, the "
                "locality or the state is missing."
            )
        )
        return [
            make_finding(
                US_01,
                "address.incomplete",
                msgid,
                severity=Severity.WARN,
                facts=_facts(result),
                fix=N_(
                    "Give the full address: street and number (or box), postcode, locality "
                    "and, in the US and Canada, the state or province."
                ),
                location=location,
            )
        ]

    # Placeholder: a demo address, an editor placeholder or a postcode that
    # does not belong to the state or province.
    if result.reason is Reason.POSTCODE_MISMATCH:
        msgid = N_(
            "The postcode and the state or province of %(address)s do not match "
            "(%(detail)s): the address cannot be valid."
        )
    else:
        msgid = N_(
            "The footer address is a placeholder or a demo address (%(detail)s): replace it "
            "with the sender's real postal address."
        )
    fix = N_("Write the sender's real postal address in the footer of both parts.")
    facts = {**_facts(result), "detail": result.detail[:MAX_SHOWN_CHARACTERS]}
    return [
        make_finding(US_01, "address.placeholder", msgid, facts=facts, fix=fix, location=location),
        make_finding(CA_06, "address.placeholder", msgid, facts=facts, fix=fix, location=location),
    ]


def _missing_finding(rule: Rule) -> Finding:
    return make_finding(
        rule,
        "address.missing",
        N_(
            "No postal address found in the message: add the sender's valid postal address "
            "(street address, PO Box or private mailbox) to the footer."
        ),
        fix=N_(
            "Add the sender's postal address to the footer of the HTML and text parts, "
            "or the ESP's address merge tag."
        ),
    )


def _comparison_finding(result: AddressAssessment, registered: str) -> Finding:
    if same_address(result.text, registered):
        return make_finding(
            US_02,
            "address.matches_registered",
            N_("The footer address is the sender's registered address."),
            severity=Severity.INFO,
            facts=_facts(result),
            location=_location(result),
        )
    return make_finding(
        US_02,
        "address.differs_from_registered",
        N_("The footer address (%(address)s) differs from the sender's registered address."),
        facts=_facts(result),
        fix=N_(
            "Show the registered address in the footer, or update the sender profile if "
            "the sender has moved."
        ),
        location=_location(result),
    )


def _facts(result: AddressAssessment) -> dict[str, str | int]:
    facts: dict[str, str | int] = {
        "address": result.text[:MAX_SHOWN_CHARACTERS],
        "country": result.country,
        "kind": str(result.verdict),
        "part": result.part,
    }
    if result.reason:
        facts["reason"] = str(result.reason)
    if result.span is not None:
        facts["span_start"], facts["span_end"] = result.span
    for label, value in result.fields.items():
        if label != "Recipient":  # company names and sentences, not address fields
            facts[f"field.{label}"] = value[:MAX_SHOWN_CHARACTERS]
    return facts


def _location(result: AddressAssessment) -> str:
    if result.span is None:
        return result.part
    return f"{result.part} [{result.span[0]}:{result.span[1]}]"


_PART_NAMES = {"html": N_("HTML"), "text": N_("plain-text")}
