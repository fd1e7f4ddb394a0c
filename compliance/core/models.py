"""Kernel tables: senders (tenants), API keys, the audit log and the mail outbox."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, LargeBinary, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite returns naive values; they are read back as UTC so that hashes
    computed over timestamps match on SQLite and PostgreSQL alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Return a canonical ISO 8601 UTC text of ``value``, the same on every backend."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return str(uuid.uuid4())


class Role(enum.StrEnum):
    SENDER = "sender"
    DPO = "dpo"
    ADMIN = "admin"


class Sender(SQLModel, table=True):
    """An organisation that sends campaigns; every other row belongs to one."""

    __tablename__ = "senders"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    postal_address: str = Field(default="", max_length=500)
    default_locale: str = Field(default="fr", max_length=5)
    # Public id that sign-up forms send with POST /v1/subscribe; not a secret.
    form_id: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiKey(SQLModel, table=True):
    """A bearer key. Only its SHA-256 is stored; the key is shown once at creation."""

    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    role: str = Field(max_length=10)
    # The public part of the key, used to find the row without a table scan.
    prefix: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuditEvent(SQLModel, table=True):
    """An audit entry (actor, action, object id), hash-chained per sender, with no personal data."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=80)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    prev_hash: str = Field(max_length=64)
    event_hash: str = Field(max_length=64)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(SQLModel, table=True):
    """An email waiting to be sent, committed in the same transaction as its cause.

    The rendered message is encrypted under the contact's data key, so erasing
    the contact (or shredding its key) also makes a queued copy unreadable.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (UniqueConstraint("idempotency_key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    contact_id: str | None = Field(default=None, index=True, max_length=36)
    kind: str = Field(max_length=40)
    idempotency_key: str = Field(max_length=120)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, index=True, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
