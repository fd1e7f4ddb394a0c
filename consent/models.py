"""Contacts, their subscriptions and the append-only consent ledger."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from compliance.core.models import UtcDateTime, new_id, utcnow


class ContactStatus(enum.StrEnum):
    # Known address (added to a list or imported) with no double opt-in recorded.
    IMPORTED = "imported"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    ERASED = "erased"


class Contact(SQLModel, table=True):
    """A subscriber of one sender. The address is stored encrypted, found by blind index."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("sender_id", "email_index"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    # AES-GCM under the contact's data key; NULL once erased.
    email_ciphertext: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    # HMAC of the normalised address; NULL once erased (suppression keeps its own copy).
    email_index: str | None = Field(default=None, max_length=64)
    email_index_version: int = 1
    locale: str = Field(default="fr", max_length=5)
    status: str = Field(default=ContactStatus.PENDING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    confirmation_sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The jti of the only confirmation link that may still confirm: a link is
    # single-use, and a newer confirmation email replaces older links.
    confirmation_token_id: str | None = Field(default=None, max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    PAUSED = "paused"


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("contact_id", "topic"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    contact_id: str = Field(foreign_key="contacts.id", index=True, max_length=36)
    topic: str = Field(max_length=64)
    status: str = Field(default=SubscriptionStatus.PENDING, max_length=16)
    frequency: str = Field(default="normal", max_length=16)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ConsentAction(enum.StrEnum):
    GIVEN = "given"
    CONFIRMED = "confirmed"
    UPDATED = "updated"
    WITHDRAWN = "withdrawn"


class ConsentRecord(SQLModel, table=True):
    """One entry of the consent ledger (GDPR Art. 7(1): who, when, how, what wording, which policy).

    Rows are never updated. Each row chains the hash of the sender's previous
    row. Personal fields (IP address, user agent) are one AES-GCM blob under
    the contact's key and the hash covers the ciphertext, so the chain still
    verifies after the key is shredded.
    """

    __tablename__ = "consent_records"

    id: int | None = Field(default=None, primary_key=True)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    contact_id: str = Field(foreign_key="contacts.id", index=True, max_length=36)
    action: str = Field(max_length=16)
    # JSON array of topic ids.
    topics: str = Field(default="[]", max_length=2000)
    lawful_basis: str = Field(max_length=32)
    regime: str = Field(max_length=16)
    source: str = Field(max_length=40)
    form_id: str | None = Field(default=None, max_length=40)
    form_url: str | None = Field(default=None, max_length=2000)
    wording_version: str | None = Field(default=None, max_length=64)
    wording_sha256: str | None = Field(default=None, max_length=64)
    privacy_policy_url: str | None = Field(default=None, max_length=2000)
    privacy_policy_version: str | None = Field(default=None, max_length=64)
    language: str = Field(max_length=5)
    personal_ciphertext: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    confirms_record_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    prev_hash: str = Field(max_length=64)
    record_hash: str = Field(max_length=64)
