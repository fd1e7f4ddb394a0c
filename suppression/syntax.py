"""Address syntax for screening: a fast path for plain ASCII, email-validator for the rest.

The fast path accepts only a strict subset of what email-validator accepts
(a property test checks this with hypothesis), so it can never let through
an address the validator would reject. Anything outside the subset, such
as quoted local parts, IDN domains or special-use domains, goes to
email-validator.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

# RFC 5322 dot-atom local part; hostname labels of RFC 1123 with a letter-only
# top-level label, because email-validator rejects all-numeric TLDs.
_FAST = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# RFC 5321 4.5.3.1: a local part is at most 64 octets; email-validator also
# caps the whole address at 254 characters.
MAX_LOCAL_LENGTH = 64
MAX_ADDRESS_LENGTH = 254

# Top-level names reserved by RFC 6761/6762/7686 that email-validator
# rejects outside its test mode; they take the slow path.
_SPECIAL_USE_TLDS = frozenset(
    {"arpa", "invalid", "local", "localhost", "onion", "test", "example", "internal", "alt"}
)


def fast_path_valid(address: str) -> bool:
    """Return True when ``address`` is a plain ASCII address that email-validator accepts too."""
    if len(address) > MAX_ADDRESS_LENGTH or not _FAST.fullmatch(address):
        return False
    local, _, domain = address.rpartition("@")
    if len(local) > MAX_LOCAL_LENGTH:
        return False
    labels = domain.lower().split(".")
    # Punycode labels need IDNA validation, which only the slow path does, and
    # IDNA 2008 reserves labels with "--" in the third and fourth positions.
    if any(label[2:4] == "--" or len(label) > 63 for label in labels):
        return False
    return labels[-1] not in _SPECIAL_USE_TLDS and len(domain) <= 253


def is_valid_address(address: str) -> bool:
    """Return whether ``address`` is syntactically valid (no DNS query is made)."""
    if fast_path_valid(address):
        return True
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
