"""Contact information beside the postal address in the footer (CASL CA-06).

CASL s. 6(2)(b) and CRTC Regulations SOR/2012-36 s. 2(1)(d) ask for a
mailing address and at least one of a telephone number, an email address or
a web address. The postal address half is :mod:`compliance.checks.postal_address`.
This module looks for the other half in the footer zone of each body part.
Findings name the kinds of contact found, never the number or address itself.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import phonenumbers
from lxml import etree

from compliance.checks.address_search import footer_zone
from compliance.checks.findings import CA_06, Finding, Severity, make_finding
from compliance.checks.html_text import parse_html, visible_elements, visible_lines
from compliance.checks.i18n import N_
from compliance.checks.unsubscribe import (
    UNSUBSCRIBE_MERGE_TAGS,
    UNSUBSCRIBE_URL_WORDING,
    UNSUBSCRIBE_WORDING,
)

__all__ = ["ContactMethod", "PartContacts", "check_contact_information", "find_contacts"]


class ContactMethod(enum.StrEnum):
    """A way to reach the sender that CASL accepts beside the mailing address."""

    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"


@dataclass(frozen=True)
class PartContacts:
    """The contact methods found in the footer zone of one body part."""

    part: str
    methods: frozenset[ContactMethod]


# Regions whose national number formats are recognised without a "+" prefix.
# CA covers every NANP number, the US included. Numbers written with their
# country code are recognised whatever the region.
PHONE_REGIONS = ("CA", "FR", "GB", "DE", "BE", "CH")

# Links that are no contact point of the sender: a copy of the message in
# a browser, or the credit line of the tool that built the message.
_OTHER_LINK_WORDING = re.compile(
    r"view\s+(?:it\s+|this\s+(?:email|message)\s+)?(?:in|on)\s+(?:your\s+|a\s+)?browser"
    r"|web\s+version|version\s+(?:en\s+ligne|web|navigateur)"
    r"|afficher\s+dans\s+(?:le|votre)\s+navigateur|voir\s+(?:la\s+)?version\s+en\s+ligne"
    r"|powered\s+by|propuls[ée]\s+par|sent\s+(?:with|via|using)\s",
    re.IGNORECASE,
)
# Template syntax left in a link: the ESP fills it in, so its target is unknown.
_TEMPLATE_SYNTAX = re.compile(r"\*\||\{\{|\{%|\[\[|%%|<%|\{[a-z_]+\}", re.IGNORECASE)
# Company registration numbers look like phone numbers to a phone parser.
_REGISTRATION_WORDING = re.compile(
    r"\b(?:SIRET|SIREN|RCS|TVA|VAT|NAF|APE|EIN|NEQ|IBAN|BIC|company\s+(?:no|number)"
    r"|registered\s+(?:no|number)|registration)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# Marks a contact link in the rendered lines, so that its line can be
# placed in or out of the footer zone. Mathematical brackets do not occur
# in email templates.
_MARKER = re.compile("\u27e6(\\d+)\u27e7")

_METHOD_NAMES = {
    ContactMethod.PHONE: N_("telephone number"),
    ContactMethod.EMAIL: N_("email address"),
    ContactMethod.WEB: N_("web address"),
}
_PART_NAMES = {"html": N_("HTML"), "text": N_("plain-text")}


def find_contacts(html: str | None, text: str | None) -> list[PartContacts]:
    """Return the contact methods of each body part present, HTML first."""
    results = []
    if html is not None:
        results.append(PartContacts("html", _html_methods(html)))
    if text is not None:
        results.append(PartContacts("text", _text_methods(text.splitlines())))
    return results


def check_contact_information(
    html: str | None, text: str | None, recipient_countries: Collection[str] | None
) -> tuple[Finding, ...]:
    """Check that the footer gives a telephone number, an email address or a web address.

    CASL applies to messages accessed in Canada, so a footer without any
    of them blocks only when ``recipient_countries`` contains ``CA``. When
    the countries are unknown (None) the finding is INFO, a point to check
    that does not change the decision, and when they are known and none is
    Canada no finding is made.
    """
    if html is None and text is None:
        return ()
    canadian = None if recipient_countries is None else "CA" in recipient_countries
    results = find_contacts(html, text)
    found = [result for result in results if result.methods]
    facts: dict[str, str | int] = {
        f"methods.{result.part}": ", ".join(sorted(result.methods)) or "none" for result in results
    }

    if not found:
        if canadian is False:
            return ()
        return (
            make_finding(
                CA_06,
                "contact_info.missing",
                N_(
                    "The footer gives no telephone number, email address or web address "
                    "besides the postal address: CASL requires one of them in messages "
                    "sent to Canada."
                )
                if canadian
                else N_(
                    "The footer gives no telephone number, email address or web address "
                    "besides the postal address: CASL requires one of them if any "
                    "recipient is in Canada."
                ),
                severity=Severity.BLOCK if canadian else Severity.INFO,
                facts=facts,
                fix=N_(
                    "Add a telephone number, a contact email address or the sender's web "
                    "address to the footer of both parts; it must still work 60 days after "
                    "the send."
                ),
            ),
        )

    all_methods = sorted(
        {method for result in found for method in result.methods}, key=list(ContactMethod).index
    )
    findings = [
        make_finding(
            CA_06,
            "contact_info.found",
            N_("Contact information found in the footer: %(methods)s."),
            severity=Severity.INFO,
            facts=facts,
            translated={"methods": [_METHOD_NAMES[method] for method in all_methods]},
            location=", ".join(result.part for result in found),
        )
    ]
    missing = [result for result in results if not result.methods]
    if missing and canadian:
        findings.append(
            make_finding(
                CA_06,
                "contact_info.missing_in_part",
                N_(
                    "The %(part_name)s part gives no telephone number, email address or web "
                    "address although the other part does."
                ),
                severity=Severity.WARN,
                facts={**facts, "part": missing[0].part},
                translated={"part_name": _PART_NAMES[missing[0].part]},
                fix=N_("Add the same contact information to the footer of both parts."),
                location=missing[0].part,
            )
        )
    return tuple(findings)


def _html_methods(html: str) -> frozenset[ContactMethod]:
    root = parse_html(html)
    if root is None:
        return frozenset()

    link_methods: list[ContactMethod] = []
    for anchor in visible_elements(root, "a"):
        method = _link_method(anchor.get("href") or "", " ".join(visible_lines(anchor)))
        if method is None:
            continue
        # The marker is rendered on the link's line, so footer_zone places it.
        _append_text(anchor, f"\u27e6{len(link_methods)}\u27e7")
        link_methods.append(method)

    lines = visible_lines(root)
    zone = [lines[index] for index in footer_zone(lines)]
    methods = {link_methods[int(found)] for line in zone for found in _MARKER.findall(line)}
    return frozenset(methods | _text_methods_in_zone([_MARKER.sub("", line) for line in zone]))


def _text_methods(lines: list[str]) -> frozenset[ContactMethod]:
    lines = [line.strip() for line in lines if line.strip()]
    return frozenset(_text_methods_in_zone([lines[index] for index in footer_zone(lines)]))


def _text_methods_in_zone(lines: list[str]) -> set[ContactMethod]:
    methods: set[ContactMethod] = set()
    for index, line in enumerate(lines):
        # A URL on an unsubscribe, web-version or credit line, or on the line
        # after one, is that link and not a contact point.
        previous = lines[index - 1] if index else ""
        excluded_line = _names_other_link(line) or (
            _names_other_link(previous) and not _URL.search(previous)
        )
        for match in _URL.finditer(line):
            if not excluded_line and not _is_excluded_target(match.group()):
                methods.add(ContactMethod.WEB)
        for match in _EMAIL.finditer(line):
            if not UNSUBSCRIBE_URL_WORDING.search(match.group()):
                methods.add(ContactMethod.EMAIL)
        if _has_phone_number(_URL.sub(" ", _EMAIL.sub(" ", line))):
            methods.add(ContactMethod.PHONE)
    return methods


def _link_method(href: str, text: str) -> ContactMethod | None:
    """Return the contact method a link offers, or None for any other link."""
    href = href.strip()
    if not href or _names_other_link(text):
        return None
    scheme = urlsplit(href).scheme.lower()
    if scheme == "tel":
        return ContactMethod.PHONE if _digits(href) >= 6 else None
    if scheme == "mailto":
        return None if _is_excluded_target(href) or "@" not in href else ContactMethod.EMAIL
    if scheme in ("http", "https") and urlsplit(href).hostname:
        return None if _is_excluded_target(href) else ContactMethod.WEB
    return None


def _names_other_link(text: str) -> bool:
    return bool(UNSUBSCRIBE_WORDING.search(text) or _OTHER_LINK_WORDING.search(text))


def _is_excluded_target(target: str) -> bool:
    decoded = unquote(target)
    return bool(
        UNSUBSCRIBE_MERGE_TAGS.search(decoded)
        or UNSUBSCRIBE_URL_WORDING.search(decoded)
        or _TEMPLATE_SYNTAX.search(decoded)
    )


def _has_phone_number(line: str) -> bool:
    if _REGISTRATION_WORDING.search(line):
        return False
    for region in PHONE_REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(
            line, region, leniency=phonenumbers.Leniency.VALID
        )
        if matcher.has_next():
            return True
    return False


def _digits(value: str) -> int:
    return sum(character.isdigit() for character in value)


def _append_text(element: etree._Element, text: str) -> None:
    children = list(element)
    if children:
        children[-1].tail = (children[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text
