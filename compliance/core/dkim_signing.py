"""DKIM signatures (RFC 6376) on the emails Sendguard itself sends.

The outbox signs each message just before handing it to the transport, so
the signature covers the exact bytes on the wire and a key rotation takes
effect for messages still queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim

from compliance.core.settings import Settings

# RFC 6376 5.4.1 lists the headers to sign, and From is required. RFC 8058
# section 4 requires List-Unsubscribe and List-Unsubscribe-Post to be signed.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"auto-submitted",
)


class DkimConfigError(Exception):
    """The DKIM settings point to a key that cannot be used."""


@dataclass(frozen=True, repr=False)
class DkimSigner:
    domain: str
    selector: str
    private_key: bytes

    def sign(self, raw: bytes) -> bytes:
        """Return ``raw`` with a DKIM-Signature header in front (relaxed/relaxed, rsa-sha256)."""
        present = {
            line.split(b":", 1)[0].strip().lower()
            for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
            if b":" in line and not line[:1].isspace()
        }
        headers = [name for name in SIGNED_HEADERS if name in present]
        signature = dkim.sign(
            raw,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return bytes(signature) + raw


def load_dkim_signer(settings: Settings) -> DkimSigner | None:
    """Build the signer from settings, or None when DKIM signing is not configured."""
    if settings.dkim_private_key_file is None:
        return None
    path = Path(settings.dkim_private_key_file)
    try:
        key = path.read_bytes()
    except OSError as error:
        raise DkimConfigError(
            f"cannot read SENDGUARD_DKIM_PRIVATE_KEY_FILE {path}: {error.strerror}"
        ) from None
    if b"PRIVATE KEY" not in key:
        raise DkimConfigError(
            f"SENDGUARD_DKIM_PRIVATE_KEY_FILE {path} is not a PEM private key; generate one"
            " with `openssl genrsa -out dkim.pem 2048`"
        )
    return DkimSigner(str(settings.dkim_domain), str(settings.dkim_selector), key)
