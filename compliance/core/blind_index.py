"""Address normalisation and the keyed, versioned blind index.

The blind index lets Sendguard find a contact or a suppression entry from an
address without storing the address in clear: HMAC-SHA256 under a platform
key. Each stored index records its key version, and look-ups compute the
index under every live version so keys can rotate.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
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


# RFC 2104 section 2: the key, padded to the 64-byte SHA-256 block, XORed
# with these bytes gives the inner and outer keys.
_INNER_PAD = bytes(value ^ 0x36 for value in range(256))
_OUTER_PAD = bytes(value ^ 0x5C for value in range(256))
_SHA256_BLOCK = 64


class HmacSha256:
    """HMAC-SHA256 under one key, with the padded key hashed once (RFC 2104 section 4).

    ``hmac.digest`` sets the key up again on every call, which costs twice
    the hashing itself on short messages such as addresses. Copying the two
    hash states is safe from several threads.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(padded.translate(_INNER_PAD))
        self._outer = hashlib.sha256(padded.translate(_OUTER_PAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def digest_many(self, texts: Iterable[str]) -> list[bytes]:
        """Return the digest of each text's UTF-8 form; one call for a batch of addresses."""
        copy_inner = self._inner.copy
        copy_outer = self._outer.copy
        digests: list[bytes] = []
        append = digests.append
        for text in texts:
            inner = copy_inner()
            inner.update(text.encode("utf-8"))
            outer = copy_outer()
            outer.update(inner.digest())
            append(outer.digest())
        return digests


class BlindIndexer:
    """Compute blind indexes under the key ring's blind-index keys."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keys = dict(keyring.blind_index_keys)
        self._current = keyring.current_blind_index_version
        self._macs = {version: HmacSha256(key) for version, key in self._keys.items()}
        # Newest version first, the order of all_versions.
        self._ordered_macs = [self._macs[version] for version in sorted(self._keys, reverse=True)]

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(self._keys)

    def current(self, address: str) -> BlindIndex:
        return self._compute(self._current, normalise_address(address))

    def all_versions(self, address: str) -> list[BlindIndex]:
        normalised = normalise_address(address)
        return [self._compute(version, normalised) for version in sorted(self._keys, reverse=True)]

    @property
    def version_count(self) -> int:
        return len(self._ordered_macs)

    def raw_digests_many(self, normalised: Sequence[str]) -> list[bytes]:
        """Return the raw digests of many normalised addresses, flat.

        Each address contributes ``version_count`` digests in a row, newest
        version first, as raw_digests orders them.
        """
        if len(self._ordered_macs) == 1:
            return self._ordered_macs[0].digest_many(normalised)
        per_version = [mac.digest_many(normalised) for mac in self._ordered_macs]
        return [digest for digests in zip(*per_version, strict=True) for digest in digests]

    def raw_digests(self, normalised: str) -> list[bytes]:
        """Return the 32-byte digests of an already normalised address, newest version first."""
        message = normalised.encode("utf-8")
        return [mac.digest(message) for mac in self._ordered_macs]

    def _compute(self, version: int, normalised: str) -> BlindIndex:
        digest = self._macs[version].digest(normalised.encode("utf-8")).hex()
        return BlindIndex(version, digest)
