"""Data-subject requests and their outcome."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlmodel import Field, SQLModel

from compliance.core.models import UtcDateTime, new_id, utcnow


class RequestType(enum.StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    OBJECTION = "objection"
    RESTRICTION = "restriction"


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"
    IDENTITY_PENDING = "identity_pending"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXTENDED = "extended"
    FAILED = "failed"


class DataSubjectRequest(SQLModel, table=True):
    __tablename__ = "data_subject_requests"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    type: str = Field(max_length=16)
    status: str = Field(default=RequestStatus.RECEIVED, max_length=16)
    # Blind index of the subject's address: lets the DPO find the request
    # again without keeping the address.
    subject_index: str = Field(index=True, max_length=64)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    due_at: datetime = Field(sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The DPO's attestation of identity (GDPR Art. 12(6)): who checked, how, when.
    verified_by: str | None = Field(default=None, max_length=200)
    verification_method: str | None = Field(default=None, max_length=40)
    verified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # JSON object of what the execution did (counts and ids, no personal data).
    outcome: str = Field(default="{}", max_length=4000)
    receipt_sha256: str | None = Field(default=None, max_length=64)
