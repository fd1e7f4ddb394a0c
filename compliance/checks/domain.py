"""Validation of the From domain that the checks look up."""

from __future__ import annotations

import ipaddress
import re

import idna

# RFC 1035 section 2.3.4: at most 63 octets per label and 253 characters for
# the name written without its final dot.
MAX_LABEL_LENGTH = 63
MAX_NAME_LENGTH = 253

_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class InvalidDomainError(ValueError):
    """The From domain given to a check is not a usable domain name."""


def normalize_domain(value: str, field: str = "from_domain") -> str:
    """Return ``value`` as a lowercase ASCII domain name (IDNA A-labels, no final dot).

    ``field`` names the argument in error messages.

    :raises InvalidDomainError: when the value is empty, an email address, an
        IP address, a single label, or not a valid host name.
    """
    candidate = value.strip().rstrip(".")
    if not candidate:
        raise InvalidDomainError(f"{field} is empty: give the domain of the From address")

    # The value is not echoed here because it may be a person's address.
    if "@" in candidate:
        raise InvalidDomainError(
            f"{field} must be a domain name, not an email address: keep only the part after the @"
        )

    if _is_ip_address(candidate):
        raise InvalidDomainError(
            f"{field} {candidate!r} is an IP address: give the domain of the From address"
        )

    try:
        ascii_name = idna.encode(candidate, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise InvalidDomainError(
            f"{field} {candidate!r} is not a valid domain name ({error}): "
            "use letters, digits and hyphens, with labels separated by dots"
        ) from None

    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidDomainError(
            f"{field} {candidate!r} has a single label: give a full domain such as example.org"
        )
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise InvalidDomainError(
            f"{field} is longer than {MAX_NAME_LENGTH} characters: check the value"
        )
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH or not _LDH_LABEL.fullmatch(label):
            raise InvalidDomainError(
                f"{field} {candidate!r} contains the invalid label {label!r}: "
                f"use at most {MAX_LABEL_LENGTH} letters, digits or inner hyphens per label"
            )
    return ascii_name


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True
