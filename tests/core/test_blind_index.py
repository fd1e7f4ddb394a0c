"""Address normalisation and the versioned blind index."""

from __future__ import annotations

import hmac

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.core.blind_index import (
    AddressError,
    BlindIndexer,
    HmacSha256,
    normalise_address,
)
from compliance.core.keys import KeyRing

KEY_1 = b"k" * 32
KEY_2 = b"q" * 32


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Alice@Example.ORG ", "alice@example.org"),
        ("alice+news@example.org", "alice+news@example.org"),
        ("a.l.i.c.e@example.org", "a.l.i.c.e@example.org"),
        ("élodie@exämple.fr", "élodie@xn--exmple-cua.fr"),
        ("E\u0301lodie@example.fr", "\u00e9lodie@example.fr"),
        ("bob@example.org.", "bob@example.org"),
    ],
)
def test_normalise_address_cases(given: str, expected: str) -> None:
    assert normalise_address(given) == expected


@pytest.mark.parametrize("bad", ["no-at-sign", "@example.org", "bob@", "bob@exa mple..org"])
def test_normalise_rejects_without_echo(bad: str) -> None:
    with pytest.raises(AddressError) as caught:
        normalise_address(bad)
    assert bad not in str(caught.value)


def test_index_is_keyed_and_stable() -> None:
    indexer = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_1}))
    other = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_2}))

    first = indexer.current("Alice@Example.org")
    second = indexer.current("alice@example.org ")

    assert first == second
    assert first.version == 1
    assert len(first.digest) == 64
    assert other.current("alice@example.org").digest != first.digest


def test_rotation_computes_every_version() -> None:
    old = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_1}))
    rotated = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_1, 2: KEY_2}))

    versions = rotated.all_versions("alice@example.org")

    assert [index.version for index in versions] == [2, 1]
    assert rotated.current("alice@example.org").version == 2
    assert old.current("alice@example.org") in versions


LABELS = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?", fullmatch=True)


@settings(max_examples=1000)
@given(
    st.lists(LABELS, min_size=1, max_size=4),
    st.from_regex(r"[A-Za-z0-9._+-]{1,20}", fullmatch=True),
)
def test_ascii_fast_path_matches_idna(labels: list[str], local: str) -> None:
    domain = ".".join(labels)
    try:
        expected_domain = idna.encode(domain.lower(), uts46=True).decode("ascii")
    except idna.IDNAError:
        with pytest.raises(AddressError):
            normalise_address(f"{local}@{domain}")
        return
    assert normalise_address(f"{local}@{domain}") == f"{local.lower()}@{expected_domain}"


@settings(max_examples=500)
@given(st.binary(min_size=0, max_size=200), st.binary(max_size=300))
def test_hmac_with_cached_pads_matches_the_standard_library(key: bytes, message: bytes) -> None:
    # Keys longer than the 64-byte block are hashed first (RFC 2104 section 2).
    assert HmacSha256(key).digest(message) == hmac.digest(key, message, "sha256")


def test_raw_digests_match_the_hex_indexes() -> None:
    rotated = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_1, 2: KEY_2}))

    raw = rotated.raw_digests("alice@example.org")

    assert [digest.hex() for digest in raw] == [
        index.digest for index in rotated.all_versions("alice@example.org")
    ]


def test_batch_digests_keep_the_version_order() -> None:
    rotated = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: KEY_1, 2: KEY_2}))
    addresses = ["alice@example.org", "bob@example.org", "élodie@xn--exmple-cua.fr"]

    flat = rotated.raw_digests_many(addresses)

    assert rotated.version_count == 2
    assert flat == [digest for address in addresses for digest in rotated.raw_digests(address)]
