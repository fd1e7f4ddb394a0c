"""Append to and verify the hash-chained consent ledger."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import desc
from sqlmodel import Session, col, select

from compliance.core.audit import lock_sender
from compliance.core.models import iso_utc
from consent.models import ConsentRecord

GENESIS_HASH = "0" * 64

# The fields each record hash covers, in a fixed order. The encrypted
# personal blob is covered as ciphertext, so shredding the key does not
# break the chain.
_HASHED_FIELDS = (
    "sender_id",
    "contact_id",
    "action",
    "topics",
    "lawful_basis",
    "regime",
    "source",
    "form_id",
    "form_url",
    "wording_version",
    "wording_sha256",
    "privacy_policy_url",
    "privacy_policy_version",
    "language",
    "confirms_record_id",
    "prev_hash",
)


def record_hash(record: ConsentRecord) -> str:
    content: dict[str, object] = {name: getattr(record, name) for name in _HASHED_FIELDS}
    content["created_at"] = iso_utc(record.created_at)
    content["personal"] = record.personal_ciphertext.hex() if record.personal_ciphertext else None
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(session: Session, record: ConsentRecord) -> ConsentRecord:
    """Chain ``record`` after the sender's latest record and add it to the session."""
    lock_sender(session, record.sender_id)
    previous = session.exec(
        select(ConsentRecord.record_hash)
        .where(ConsentRecord.sender_id == record.sender_id)
        .order_by(desc(col(ConsentRecord.id)))
        .limit(1)
    ).first()
    record.prev_hash = previous or GENESIS_HASH
    record.record_hash = record_hash(record)
    session.add(record)
    session.flush()
    return record


def first_broken_link(session: Session, sender_id: str) -> int | None:
    """Return the id of the first record whose hash or link is wrong, or None when intact."""
    expected_prev = GENESIS_HASH
    records = session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.sender_id == sender_id)
        .order_by(col(ConsentRecord.id))
    )
    for record in records:
        if record.prev_hash != expected_prev or record_hash(record) != record.record_hash:
            return record.id
        expected_prev = record.record_hash
    return None
