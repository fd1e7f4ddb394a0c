"""Ed25519 signatures for statements kept outside the database.

Consent-chain checkpoints (and later DSR certificates) are signed so that
someone holding only the exported file and the public key can check it. The
signing key is derived from the master key with HKDF, so no extra secret has
to be provisioned. Rotating the master key rotates it, and the key id in
each statement names the public key to check against.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_INFO = b"sendguard statement signing v1"


def canonical_json(content: Mapping[str, object]) -> bytes:
    """Serialise ``content`` to the bytes a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    raw: bytes

    @property
    def text(self) -> str:
        return _b64(self.raw)


class StatementSigner:
    """Sign and verify JSON statements with the platform's Ed25519 key."""

    def __init__(self, master_key: bytes) -> None:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        # The key id is a digest of the public key, so anyone can recompute it.
        self.public_key = PublicKey(hashlib.sha256(raw).hexdigest()[:16], raw)

    def sign(self, content: Mapping[str, object]) -> str:
        return _b64(self._private.sign(canonical_json(content)))


def verify_statement(content: Mapping[str, object], signature: str, public_key: str) -> bool:
    """Check ``signature`` over ``content`` with a base64url Ed25519 public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_unb64(public_key))
        key.verify(_unb64(signature), canonical_json(content))
    except (InvalidSignature, ValueError):
        return False
    return True
