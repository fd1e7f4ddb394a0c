"""The personal part of an open request, encrypted under the request's own key.

A request needs the subject's address until it closes: to mail the
identity code, to tell the subject of an extension, to ask processors to
erase. It is kept here, never in a column of its own, and the key is
destroyed when the request closes (or when the subject is erased).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import inspect

from compliance.core.keystore import KeyStore, decrypt_bytes, encrypt_bytes
from dsr.models import DataSubjectRequest, request_key_id

_FIELD = "payload"

# The request's key is kept in the ORM state of the request object, for the
# length of one unit of work: one erasure reads the payload three times, and
# each read was a round trip to the key store. shred() drops it with the key.
# NOTE: a key destroyed by another process stays usable here until the
# request object is dropped; every writer locks the request's sender first.
_KEY_INFO = "sendguard_request_key"


def _remember_key(request: DataSubjectRequest, key: bytes | None) -> None:
    info = inspect(request).info
    if key is None:
        info.pop(_KEY_INFO, None)
    else:
        info[_KEY_INFO] = key


def _request_key(keystore: KeyStore, request: DataSubjectRequest) -> bytes | None:
    key: bytes | None = inspect(request).info.get(_KEY_INFO)
    if key is None:
        key = keystore.get_key(request_key_id(request.id))
        _remember_key(request, key)
    return key


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


def processor_changes(changes: dict[str, str]) -> dict[str, str]:
    """Return the corrected values sent to processors: all but the address.

    A new address is stored only once the subject confirms it (the same
    link as a change from the preference center), so it is not passed on
    with the others.
    """
    return {name: value for name, value in sorted(changes.items()) if name != "email"}


def store_payload(keystore: KeyStore, request: DataSubjectRequest, payload: RequestPayload) -> None:
    """Encrypt ``payload`` into the request, creating the request's key if needed."""
    key_id = request_key_id(request.id)
    key = _request_key(keystore, request) or keystore.create_key(key_id)
    _remember_key(request, key)
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
    key = _request_key(keystore, request)
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
    key = _request_key(keystore, request)
    if key is None:
        raise PayloadGone(request.id)
    return key


def shred(keystore: KeyStore, request: DataSubjectRequest) -> bool:
    """Destroy the request's key and drop its ciphertexts; return whether a key existed."""
    request.payload_ciphertext = None
    request.export_ciphertext = None
    _remember_key(request, None)
    return keystore.destroy_key(request_key_id(request.id))
