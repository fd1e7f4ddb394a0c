"""Senders (tenants) and their API keys.

A key reads ``sg_<prefix>_<secret>``. The prefix finds the row; the SHA-256
of the whole key is compared in constant time. Keys carry 256 bits of
randomness, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from sqlmodel import Session, select

from compliance.core.audit import record_event
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import ApiKey, Role, Sender, utcnow

KEY_PREFIX = "sg"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    sender_id: str
    role: Role
    # The full key; shown to its owner once and never stored.
    secret: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 500


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in text)


def validate_sender_fields(name: str, postal_address: str) -> None:
    """Raise ValueError unless the name and address are safe in email headers and footers."""
    if not name.strip():
        raise ValueError("the sender name is empty; give the organisation's name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"the sender name is {len(name)} characters long; the maximum is {MAX_NAME_LENGTH}"
        )
    # The name goes into the From header, where a line break would end the header.
    if _has_control(name):
        raise ValueError(
            "the sender name contains a control character such as a line break; remove it"
        )
    if len(postal_address) > MAX_ADDRESS_LENGTH:
        raise ValueError(
            f"the postal address is {len(postal_address)} characters long; "
            f"the maximum is {MAX_ADDRESS_LENGTH}"
        )
    if _has_control(postal_address, allowed="\n"):
        raise ValueError("the postal address contains a control character; use plain lines of text")


def create_sender(
    session: Session, name: str, postal_address: str = "", default_locale: str = "fr"
) -> Sender:
    validate_sender_fields(name, postal_address)
    sender = Sender(
        name=name.strip(),
        postal_address=postal_address,
        default_locale=default_locale,
        form_id=f"form_{secrets.token_urlsafe(12)}",
    )
    session.add(sender)
    session.flush()
    record_event(
        session,
        sender.id,
        actor="cli",
        action="sender.created",
        object_type="sender",
        object_id=sender.id,
    )
    return sender


def issue_key(session: Session, sender_id: str, role: Role, actor: str) -> IssuedKey:
    if session.get(Sender, sender_id) is None:
        raise NotFound(
            N_("Sender %(sender_id)s not found; list senders with `sendguard sender list`."),
            sender_id=safe_id(sender_id),
        )

    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(sender_id=sender_id, role=role.value, prefix=prefix, key_hash=hash_key(secret))
    session.add(row)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="api_key.created",
        object_type="api_key",
        object_id=row.id,
    )
    return IssuedKey(row.id, sender_id, role, secret)


def revoke_key(session: Session, sender_id: str, key_id: str, actor: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None or row.sender_id != sender_id:
        raise NotFound(N_("API key %(key_id)s not found for this sender."), key_id=safe_id(key_id))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
        record_event(
            session,
            sender_id,
            actor=actor,
            action="api_key.revoked",
            object_type="api_key",
            object_id=key_id,
        )
    return row


def find_active_key(session: Session, presented: str) -> ApiKey | None:
    """Return the active key row matching ``presented``, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None

    row = session.exec(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if row is None:
        # Hash anyway so that unknown and wrong keys take the same time.
        hmac.compare_digest(hash_key(presented), "0" * 64)
        return None
    if not hmac.compare_digest(hash_key(presented), row.key_hash) or row.revoked_at is not None:
        return None
    return row
