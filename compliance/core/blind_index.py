"""Address normalisation and the keyed, versioned blind index.

The blind index lets Sendguard find a contact or a suppression entry from an
address without storing the address in clear: HMAC-SHA256 under a platform
key. Each stored index records its key version, and look-ups compute the
index under every live version so keys can rotate.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass

import idna

from compliance.core.keys import KeyRing

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ASCII_HOSTNAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")


class AddressError(ValueError):
    """An address cannot be normalised. The message never contains the address."""


def normalise_address(address: str) -> str:
    """Normalise an address for the blind index.

    Unicode NFC, surrounding space trimmed, local part lowercased, domain
    lowercased and converted to IDNA A-labels. Sub-addresses (``+tag``) and
    dots are kept: they may reach different mailboxes.
    """
    text = address.strip() if address.isascii() else unicodedata.normalize("NFC", address).strip()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise AddressError("the address has no '@' between a local part and a domain")

    # Plain ASCII host names are their own A-labels: lowercasing gives what
    # IDNA encoding would, about 20 times faster. Anything else goes through IDNA.
    lowered = domain.lower().rstrip(".")
    labels = lowered.split(".")
    # IDNA reserves "--" in the third and fourth positions ("xn--" and others).
    if _ASCII_HOSTNAME.fullmatch(lowered) and not any(label[2:4] == "--" for label in labels):
        return f"{local.lower()}@{lowered}"

    try:
        ascii_domain = idna.encode(domain.lower().rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError:
        raise AddressError(
            "the domain of the address is not a valid internationalised domain name"
        ) from None
    return f"{local.lower()}@{ascii_domain}"


@dataclass(frozen=True)
class BlindIndex:
    version: int
    digest: str


class BlindIndexer:
    """Compute blind indexes under the key ring's blind-index keys."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keys = dict(keyring.blind_index_keys)
        self._current = keyring.current_blind_index_version

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(self._keys)

    def current(self, address: str) -> BlindIndex:
        return self._compute(self._current, normalise_address(address))

    def all_versions(self, address: str) -> list[BlindIndex]:
        normalised = normalise_address(address)
        return [self._compute(version, normalised) for version in sorted(self._keys, reverse=True)]

    def _compute(self, version: int, normalised: str) -> BlindIndex:
        digest = hmac.digest(self._keys[version], normalised.encode("utf-8"), "sha256").hex()
        return BlindIndex(version, digest)
