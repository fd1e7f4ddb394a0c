"""The personal part of an open request, encrypted under the request's own key.

A request needs the subject's address until it closes: to mail the
identity code, to tell the subject of an extension, to ask processors to
erase. It is kept here, never in a column of its own, and the key is
destroyed when the request closes (or when the subject is erased).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from compliance.core.keystore import KeyStore, decrypt_bytes, encrypt_bytes
from dsr.models import DataSubjectRequest, request_key_id

_FIELD = "payload"


class PayloadGone(Exception):
    """The request's key was destroyed: its personal data is no longer readable."""


@dataclass(frozen=True)
class RequestPayload:
    address: str
    # Rectification: the new values, by field name (name, email, country, locale).
    changes: dict[str, str] = field(default_factory=dict)
    # The language of the emails to the subject, and whether to send them at all
    # (a DPO who replies by letter turns them off).
    locale: str = "fr"
    notify: bool = True


def store_payload(keystore: KeyStore, request: DataSubjectRequest, payload: RequestPayload) -> None:
    """Encrypt ``payload`` into the request, creating the request's key if needed."""
    key_id = request_key_id(request.id)
    key = keystore.get_key(key_id) or keystore.create_key(key_id)
    content = json.dumps(
        {
            "address": payload.address,
            "changes": payload.changes,
            "locale": payload.locale,
            "notify": payload.notify,
        }
    )
    request.payload_ciphertext = encrypt_bytes(key, key_id, _FIELD, content.encode("utf-8"))


def read_payload(keystore: KeyStore, request: DataSubjectRequest) -> RequestPayload:
    """Decrypt the request's payload; raise :class:`PayloadGone` once its key is destroyed."""
    key_id = request_key_id(request.id)
    key = keystore.get_key(key_id)
    if key is None or request.payload_ciphertext is None:
        raise PayloadGone(request.id)
    content = json.loads(decrypt_bytes(key, key_id, _FIELD, request.payload_ciphertext))
    return RequestPayload(
        address=content["address"],
        changes=dict(content["changes"]),
        locale=content.get("locale", "fr"),
        notify=bool(content.get("notify", True)),
    )


def request_data_key(keystore: KeyStore, request: DataSubjectRequest) -> bytes:
    """Return the request's key, for its other ciphertexts (the export, queued emails)."""
    key_id = request_key_id(request.id)
    key = keystore.get_key(key_id)
    if key is None:
        raise PayloadGone(request.id)
    return key


def shred(keystore: KeyStore, request: DataSubjectRequest) -> bool:
    """Destroy the request's key and drop its ciphertexts; return whether a key existed."""
    request.payload_ciphertext = None
    request.export_ciphertext = None
    return keystore.destroy_key(request_key_id(request.id))
