"""The signed certificate that closes a data-subject request.

It states what was done, where, when, the Art. 17(3) exceptions and each
processor's result, and contains no personal data beyond the subject's blind
index. It is signed with the installation's Ed25519 statement key; anyone
with the certificate and that public key can check it offline
(``sendguard dsr verify-certificate FILE --public-key KEY``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from compliance.core.models import iso_utc, utcnow
from compliance.core.signing import StatementSigner, verify_statement
from dsr.models import DataSubjectRequest

CERTIFICATE_FORMAT = "sendguard.dsr-certificate"
CERTIFICATE_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def build_certificate(
    request: DataSubjectRequest,
    processors: Sequence[Mapping[str, object]],
    signer: StatementSigner,
) -> dict[str, object]:
    """Build and sign the certificate of a closed request."""
    content: dict[str, object] = {
        "format": CERTIFICATE_FORMAT,
        "version": CERTIFICATE_VERSION,
        "request": {
            "id": request.id,
            "sender_id": request.sender_id,
            "type": request.type,
            "source": request.source,
            "status": request.status,
            "received_at": _iso(request.received_at),
            "due_at": _iso(request.due_at),
            "original_due_at": _iso(request.original_due_at),
            "extended_at": _iso(request.extended_at),
            "completed_at": _iso(request.completed_at),
        },
        # The blind index lets the controller show which subject this was
        # when the address is presented again, without storing it.
        "subject": {
            "blind_index": request.subject_index,
            "key_version": request.subject_index_version,
        },
        # The method and time only, without the name of the person who checked.
        "identity_verification": {
            "method": request.verification_method,
            "verified_at": _iso(request.verified_at),
        },
        "actions": json.loads(request.outcome),
        "exceptions": json.loads(request.exceptions),
        "processors": [dict(item) for item in processors],
        "issued_at": iso_utc(utcnow()),
        "public_key": signer.public_key.text,
        "key_id": signer.public_key.key_id,
    }
    return {**content, "signature": signer.sign(content)}


@dataclass(frozen=True)
class CertificateCheck:
    # One of: ok, malformed, bad_signature, key_mismatch, untrusted_key.
    status: str
    request_id: str | None

    @property
    def valid(self) -> bool:
        return self.status == "ok"


def check_certificate(certificate: object, trusted_public_key: str) -> CertificateCheck:
    """Check the signature, and that the signing key is ``trusted_public_key``.

    A certificate carries its public key, so a forger could sign with a key
    of their own: only a match with the key the verifier trusts proves origin.
    """
    if not isinstance(certificate, dict) or certificate.get("format") != CERTIFICATE_FORMAT:
        return CertificateCheck("malformed", None)
    request = certificate.get("request")
    request_id = request.get("id") if isinstance(request, dict) else None
    content = {key: value for key, value in certificate.items() if key != "signature"}
    signature = certificate.get("signature")
    public_key = content.get("public_key")
    key_id = content.get("key_id")
    if not isinstance(signature, str) or not isinstance(public_key, str):
        return CertificateCheck("malformed", request_id)

    if not verify_statement(content, signature, public_key):
        return CertificateCheck("bad_signature", request_id)
    try:
        raw = _decode_key(public_key)
    except ValueError:
        return CertificateCheck("malformed", request_id)
    if key_id != hashlib.sha256(raw).hexdigest()[:16]:
        return CertificateCheck("key_mismatch", request_id)
    if public_key != trusted_public_key:
        return CertificateCheck("untrusted_key", request_id)
    return CertificateCheck("ok", request_id)


def _decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
