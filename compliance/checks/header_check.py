"""Message headers: From and Reply-To addresses, Message-ID, Date and header injection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import getaddresses, parsedate_to_datetime

from email_validator import EmailNotValidError, validate_email

from compliance.checks.findings import MB_06, US_09, Finding, Severity, make_finding
from compliance.checks.i18n import N_

# RFC 5322 section 3.6.4: msg-id is "<" id-left "@" id-right ">".
_MESSAGE_ID = re.compile(r"^\s*<[^<>@\s]+@[^<>@\s]+>\s*$")
# RFC 5322 section 2.2: a field name is printable ASCII except the colon.
_FIELD_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")


def check_headers(headers: Mapping[str, str], *, complete: bool) -> tuple[Finding, ...]:
    """Check the headers given with the message.

    ``complete`` is True for a whole message (an .eml file), where a missing
    From, Date or Message-ID is a fault. Headers given beside HTML and text
    parts are partial, because the ESP writes the rest, so a missing one is
    only reported as not checked. With no header at all a single INFO
    finding says so.
    """
    if not headers:
        return (
            make_finding(
                MB_06,
                "headers.not_given",
                N_("No headers were given: From, Reply-To, Message-ID and Date were not checked."),
                severity=Severity.INFO,
                fix=N_("Give the headers, or the whole .eml file, to check them."),
            ),
        )

    findings = list(_injection(headers))
    findings += _address_header(headers, "From", required=complete)
    findings += _address_header(headers, "Reply-To", required=False)
    if not complete:
        absent = [name for name in ("From", "Message-ID", "Date") if name not in headers]
        if absent:
            findings.append(
                make_finding(
                    MB_06,
                    "headers.partial",
                    N_("Headers not given, so not checked: %(headers)s."),
                    severity=Severity.INFO,
                    facts={"headers": ", ".join(absent)},
                    fix=N_("Give the headers, or the whole .eml file, to check them."),
                )
            )

    message_id = headers.get("Message-ID")
    if message_id is None:
        if complete:
            findings.append(
                make_finding(
                    MB_06,
                    "headers.message_id_missing",
                    N_("The Message-ID header is missing."),
                    fix=N_(
                        "Let the sending server or ESP add a Message-ID (RFC 5322 section 3.6.4)."
                    ),
                    location="header Message-ID",
                )
            )
    elif not _MESSAGE_ID.match(message_id):
        findings.append(
            make_finding(
                MB_06,
                "headers.message_id_invalid",
                N_("The Message-ID header is not of the form <id@domain>."),
                fix=N_("Write the Message-ID as <unique-id@sending-domain> (RFC 5322)."),
                location="header Message-ID",
            )
        )

    date = headers.get("Date")
    if date is None:
        if complete:
            findings.append(
                make_finding(
                    MB_06,
                    "headers.date_missing",
                    N_("The Date header is missing, although RFC 5322 requires it."),
                    fix=N_("Let the sending server or ESP add the Date header."),
                    location="header Date",
                )
            )
    elif not _valid_date(date):
        findings.append(
            make_finding(
                MB_06,
                "headers.date_invalid",
                N_("The Date header is not a valid RFC 5322 date."),
                fix=N_("Write the date as in: Tue, 02 Dec 2025 10:00:00 +0100."),
                location="header Date",
            )
        )
    return tuple(findings)


def _injection(headers: Mapping[str, str]) -> list[Finding]:
    # A line break inside a value given separately would start a new header
    # (Bcc:, a second From:) when the message is assembled.
    findings = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\x00" in value or not _FIELD_NAME.match(name):
            findings.append(
                make_finding(
                    MB_06,
                    "headers.injection",
                    N_(
                        "The header %(header)s contains a line break, a NUL byte or an invalid "
                        "name: it could inject other headers."
                    ),
                    severity=Severity.BLOCK,
                    facts={"header": name if _FIELD_NAME.match(name) else "?"},
                    fix=N_("Remove line breaks and control characters from header values."),
                    location=f"header {name}" if _FIELD_NAME.match(name) else "headers",
                )
            )
    return findings


def _address_header(headers: Mapping[str, str], name: str, *, required: bool) -> list[Finding]:
    value = headers.get(name)
    location = f"header {name}"
    if value is None:
        if not required:
            return []
        return [
            make_finding(
                US_09,
                "headers.from_missing",
                N_("The From header is missing."),
                fix=N_("Set From to an address of the sender's domain."),
                location=location,
            )
        ]

    addresses = [address for _display, address in getaddresses([value]) if address]
    valid = len(addresses) == 1 and _valid_address(addresses[0])
    if valid:
        return []
    # An invalid From misleads about the sender (CAN-SPAM 7704(a)(1)); an
    # invalid Reply-To only loses the answers.
    rule_severity = Severity.BLOCK if name == "From" else Severity.WARN
    return [
        make_finding(
            US_09,
            "headers.address_invalid",
            N_("The %(header)s header does not hold exactly one valid email address."),
            severity=rule_severity,
            facts={"header": name, "count": len(addresses)},
            fix=N_("Write one address, for example: Example News <news@example.org>."),
            location=location,
        )
    ]


def _valid_address(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
        Address(addr_spec=address)
    except (EmailNotValidError, ValueError, IndexError):
        return False
    return True


def _valid_date(value: str) -> bool:
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return True
