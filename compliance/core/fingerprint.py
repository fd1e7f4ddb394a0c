"""Keyed fingerprints of a client (IP address and user agent), kept instead of the values.

A burst of unsubscribes from one link scanner shows up as many events with
one fingerprint, while neither the IP address nor the user agent is stored.
The HMAC key is derived from the master key, so fingerprints cannot be
recomputed from a guessed IP address without it.

NOTE: a master-key rotation gives every client a new fingerprint, so events
stored before it no longer group with the same client's later events.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_INFO = b"sendguard client fingerprint v1"


class ClientFingerprinter:
    def __init__(self, master_key: bytes) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )

    def digest(self, ip: str | None, user_agent: str | None) -> str | None:
        """Return the hex HMAC of the client, or None when neither value is known."""
        if not ip and not user_agent:
            return None
        message = f"{ip or ''}\n{user_agent or ''}".encode("utf-8", "replace")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
