"""Append to, verify and checkpoint the hash-chained consent ledger."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, desc, func
from sqlmodel import Session, col, select

from compliance.core.audit import lock_sender
from compliance.core.models import iso_utc, utcnow
from compliance.core.signing import StatementSigner, verify_statement
from consent.models import ConsentCheckpoint, ConsentRecord

GENESIS_HASH = "0" * 64

# The fields each record hash covers, in a fixed order. The encrypted
# personal blob is covered as ciphertext, so shredding the key does not
# break the chain. Version 1 records predate the lawful-basis facts; their
# hash keeps covering the version 1 fields, so old chains still verify.
_HASHED_FIELDS_V1 = (
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
_HASHED_FIELDS_V2 = (
    *_HASHED_FIELDS_V1,
    "country",
    "audience",
    "opt_out_offered",
    "related_to_profession",
    "declared_minor",
    "parental_consent",
    "has_proof",
    "hash_version",
)

CHECKPOINT_TYPE = "sendguard.consent-checkpoint"


def record_hash(record: ConsentRecord) -> str:
    fields = _HASHED_FIELDS_V1 if record.hash_version == 1 else _HASHED_FIELDS_V2
    content: dict[str, object] = {name: getattr(record, name) for name in fields}
    content["created_at"] = iso_utc(record.created_at)
    content["personal"] = record.personal_ciphertext.hex() if record.personal_ciphertext else None
    if record.hash_version != 1:
        content["relationship_at"] = (
            iso_utc(record.relationship_at) if record.relationship_at else None
        )
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    session: Session, record: ConsentRecord, *, known_head: str | None = None
) -> ConsentRecord:
    """Chain ``record`` after the sender's latest record and add it to the session.

    ``known_head`` is the latest record hash (GENESIS_HASH for none) when the
    caller has already locked the sender and read it in this transaction:
    a sign-up reads both chain heads in one statement, to spend less time
    holding the sender lock.
    """
    if known_head is None:
        lock_sender(session, record.sender_id)
        known_head = head_hash(session, record.sender_id)
    record.prev_hash = known_head
    record.record_hash = record_hash(record)
    session.add(record)
    session.flush()
    return record


def head_query(sender_id: str) -> ScalarSelect[str]:
    """Build a scalar subquery of the sender's latest record hash (NULL for an empty chain)."""
    return (
        select(ConsentRecord.record_hash)
        .where(ConsentRecord.sender_id == sender_id)
        .order_by(desc(col(ConsentRecord.id)))
        .limit(1)
        .scalar_subquery()
    )


def head_hash(session: Session, sender_id: str) -> str:
    """Read the sender's latest record hash, or GENESIS_HASH. Call it after lock_sender."""
    return session.exec(select(head_query(sender_id))).one() or GENESIS_HASH


@dataclass(frozen=True)
class ChainReport:
    """What a walk of one sender's chain found."""

    sender_id: str
    records: int
    head_record_id: int | None
    head_hash: str
    # The first record whose hash or link is wrong; None when the chain is intact.
    first_broken_record_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_record_id is None


def verify_chain(session: Session, sender_id: str) -> ChainReport:
    """Walk the sender's chain in id order and report the first broken link."""
    expected_prev = GENESIS_HASH
    count = 0
    head_id: int | None = None
    broken: int | None = None
    records = session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.sender_id == sender_id)
        .order_by(col(ConsentRecord.id))
        .execution_options(yield_per=1000)
    )
    for record in records:
        count += 1
        head_id = record.id
        if broken is None and (
            record.prev_hash != expected_prev or record_hash(record) != record.record_hash
        ):
            broken = record.id
        expected_prev = record.record_hash
    return ChainReport(sender_id, count, head_id, expected_prev, broken)


def first_broken_link(session: Session, sender_id: str) -> int | None:
    """Return the id of the first record whose hash or link is wrong, or None when intact."""
    return verify_chain(session, sender_id).first_broken_record_id


def _checkpoint_content(checkpoint: ConsentCheckpoint, public_key: str) -> dict[str, object]:
    return {
        "type": CHECKPOINT_TYPE,
        "version": 1,
        "id": checkpoint.id,
        "sender_id": checkpoint.sender_id,
        "head_record_id": checkpoint.head_record_id,
        "head_hash": checkpoint.head_hash,
        "record_count": checkpoint.record_count,
        "created_at": iso_utc(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "public_key": public_key,
    }


def create_checkpoint(
    session: Session, signer: StatementSigner, sender_id: str
) -> dict[str, object]:
    """Sign the sender's current chain head, store it and return the exportable statement.

    Kept outside the database (a file, a ticket, another system), the
    statement makes a rewrite of the whole table detectable: a rewritten
    chain no longer holds the signed head hash at the signed position.
    """
    lock_sender(session, sender_id)
    report = verify_chain(session, sender_id)
    checkpoint = ConsentCheckpoint(
        sender_id=sender_id,
        head_record_id=report.head_record_id,
        head_hash=report.head_hash,
        record_count=report.records,
        created_at=utcnow(),
        key_id=signer.public_key.key_id,
        signature="",
    )
    content = _checkpoint_content(checkpoint, signer.public_key.text)
    checkpoint.signature = signer.sign(content)
    session.add(checkpoint)
    session.flush()
    return {**content, "signature": checkpoint.signature, "chain_intact": report.intact}


@dataclass(frozen=True)
class CheckpointCheck:
    checkpoint_id: str
    # One of: ok, bad_signature, wrong_sender, head_missing, head_changed, count_changed.
    status: str
    head_record_id: int | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_CHECKPOINT_FIELDS = (
    "type",
    "version",
    "id",
    "sender_id",
    "head_record_id",
    "head_hash",
    "record_count",
    "created_at",
    "key_id",
    "public_key",
)


def check_checkpoint(
    session: Session, sender_id: str, statement: Mapping[str, object]
) -> CheckpointCheck:
    """Check an exported checkpoint against the chain as it is now.

    The signature is checked with the public key the statement carries;
    the caller compares that key id with the one it trusts.
    """
    content = {name: statement.get(name) for name in _CHECKPOINT_FIELDS}
    signature = statement.get("signature")
    public_key = content["public_key"]
    checkpoint_id = str(content["id"])
    head_id = content["head_record_id"]
    head_record_id = head_id if isinstance(head_id, int) else None
    if (
        content["type"] != CHECKPOINT_TYPE
        or not isinstance(signature, str)
        or not isinstance(public_key, str)
        or not verify_statement(content, signature, public_key)
    ):
        return CheckpointCheck(checkpoint_id, "bad_signature", head_record_id)
    if content["sender_id"] != sender_id:
        return CheckpointCheck(checkpoint_id, "wrong_sender", head_record_id)

    if head_record_id is None:
        current_hash: str | None = GENESIS_HASH
    else:
        current_hash = session.exec(
            select(ConsentRecord.record_hash).where(
                ConsentRecord.id == head_record_id, ConsentRecord.sender_id == sender_id
            )
        ).first()
    if current_hash is None:
        return CheckpointCheck(checkpoint_id, "head_missing", head_record_id)
    if current_hash != content["head_hash"]:
        return CheckpointCheck(checkpoint_id, "head_changed", head_record_id)

    count_query = select(func.count()).where(col(ConsentRecord.sender_id) == sender_id)
    if head_record_id is not None:
        count_query = count_query.where(col(ConsentRecord.id) <= head_record_id)
    else:
        count_query = count_query.where(col(ConsentRecord.id) < 0)
    if session.exec(count_query).one() != content["record_count"]:
        return CheckpointCheck(checkpoint_id, "count_changed", head_record_id)
    return CheckpointCheck(checkpoint_id, "ok", head_record_id)


def history(session: Session, contact_id: str) -> list[ConsentRecord]:
    return list(
        session.exec(
            select(ConsentRecord)
            .where(ConsentRecord.contact_id == contact_id)
            .order_by(col(ConsentRecord.id))
        ).all()
    )


def parse_time(value: object) -> datetime | None:
    """Read an ISO 8601 time written by ``iso_utc``; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
