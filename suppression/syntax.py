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

# The local part is an RFC 5322 dot-atom of at most 64 octets (RFC 5321
# 4.5.3.1). Host labels follow RFC 1123, and none may have "--" in the third
# and fourth positions, because IDNA 2008 reserves those ("xn--" and others)
# and only the slow path can check them. The top-level label has letters
# only, because email-validator rejects all-numeric ones. It is one pattern
# because each extra Python step costs as much as the match on a million
# addresses.
_FAST = re.compile(
    r"(?=[^@]{1,64}@)"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:(?![A-Za-z0-9-]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# email-validator caps the whole address at 254 characters; with a local
# part of at least one character, the domain then stays under its 253.
MAX_ADDRESS_LENGTH = 254

# Top-level names reserved by RFC 6761/6762/7686 that email-validator
# rejects outside its test mode; they take the slow path.
_SPECIAL_USE_TLDS = frozenset(
    {"arpa", "invalid", "local", "localhost", "onion", "test", "example", "internal", "alt"}
)


def fast_normalised(address: str) -> str | None:
    """Return the blind-index form of a plain ASCII address email-validator accepts, else None.

    For such an address, normalisation (compliance.core.blind_index) is
    lowercasing: the host name is its own A-label and there is nothing to
    compose or trim.
    """
    if len(address) > MAX_ADDRESS_LENGTH or _FAST.fullmatch(address) is None:
        return None
    lowered = address.lower()
    if lowered[lowered.rfind(".") + 1 :] in _SPECIAL_USE_TLDS:
        return None
    return lowered


def fast_path_valid(address: str) -> bool:
    """Return True when ``address`` is a plain ASCII address that email-validator accepts too."""
    return fast_normalised(address) is not None


def is_valid_address(address: str) -> bool:
    """Return whether ``address`` is syntactically valid (no DNS query is made)."""
    if fast_path_valid(address):
        return True
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
