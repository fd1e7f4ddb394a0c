"""Find recipient addresses in report text and tell them from the mail system's own."""

from __future__ import annotations

import re

# RFC 5322 dot-atom local part and a DNS host name; quoted local parts are rare in bounces.
# The local part's quantifiers are possessive: the character after it must be "@", which
# no shorter local part can be followed by, so giving characters back never finds a match.
# Without that, every word of a report costs time that grows with its length squared.
ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]++(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]++)*+"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# A DSN field holds one address, so a quoted local part (RFC 5321 4.1.2) or one with
# repeated dots, which real mailboxes have, is accepted there.
_LOOSE_ADDRESS = re.compile(
    r'(?:"[^"\r\n]{1,64}"|[^\s<>"@;,()]{1,64})'
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# Local parts of the addresses a mail system reports from, never a recipient.
SYSTEM_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "root", "daemon", "nobody"}
)


def clean_address(value: str) -> str:
    """Return the bare address in a DSN field or header, or ``""`` when there is none.

    ``rfc822; <user@example.org>`` becomes ``user@example.org`` (RFC 3464
    section 2.3.2: an address type, a semicolon, then the address).
    """
    _, semicolon, rest = value.partition(";")
    candidate = rest if semicolon else value
    match = ADDRESS.search(candidate) or _LOOSE_ADDRESS.search(candidate)
    return match.group(0).strip(".") if match else ""


def is_system_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return local in SYSTEM_LOCAL_PARTS


def addresses_in(text: str) -> list[str]:
    """Return the distinct addresses of ``text`` in order of first appearance."""
    seen: dict[str, str] = {}
    if "@" not in text:
        return []
    for match in ADDRESS.finditer(text):
        address = match.group(0).strip(".")
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def same_address(first: str, second: str) -> bool:
    return first.strip().lower() == second.strip().lower()


def first_code(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(0) if match else ""
