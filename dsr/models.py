"""Data-subject requests, their processors to notify, and each notification's state.

Personal data a request needs while it is open (the subject's address, the
values of a rectification, an access export) is stored encrypted under a
key of its own in the key store, under the request's id. Destroying that key
when the request closes leaves rows with ids, dates and counts only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from compliance.core.models import UtcDateTime, new_id, utcnow


class RequestType(enum.StrEnum):
    ACCESS = "access"  # GDPR Art. 15
    PORTABILITY = "portability"  # Art. 20
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    OBJECTION = "objection"  # Art. 21(2)-(3)
    RESTRICTION = "restriction"  # Art. 18


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"
    IDENTITY_PENDING = "identity_pending"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXTENDED = "extended"
    FAILED = "failed"


# A request in one of these states is closed: no transition leaves it.
CLOSED_STATUSES = frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.FAILED})


class RequestSource(enum.StrEnum):
    DPO = "dpo"
    SUBSCRIBER = "subscriber"
    IMPORT = "import"


def request_key_id(request_id: str) -> str:
    """Return the key store id of the key that protects a request's personal data.

    The key store indexes keys by owner id (36 characters). Request, processor
    and contact ids are all random UUIDs, so one owner id space serves them.
    """
    return request_id


class DataSubjectRequest(SQLModel, table=True):
    __tablename__ = "data_subject_requests"
    __table_args__ = (
        Index("ix_dsr_sender_status_due", "sender_id", "status", "due_at"),
        UniqueConstraint("sender_id", "external_ref", name="uq_dsr_sender_external_ref"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    type: str = Field(max_length=16)
    status: str = Field(default=RequestStatus.RECEIVED, max_length=16)
    source: str = Field(default=RequestSource.DPO, max_length=12)
    # The DPO's own reference (ticket number); makes imports idempotent.
    external_ref: str | None = Field(default=None, max_length=120)
    # Blind index of the subject's address: lets the DPO find the request
    # again without keeping the address.
    subject_index: str = Field(index=True, max_length=64)
    subject_index_version: int = Field(default=1)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The current deadline; original_due_at keeps the first one after an extension.
    due_at: datetime = Field(sa_type=UtcDateTime)
    original_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    extended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    extension_reason: str | None = Field(default=None, max_length=1000)
    extension_notified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Why a request was refused (Art. 12(4) and 12(5)): a code, and the DPO's note.
    rejection_ground: str | None = Field(default=None, max_length=40)
    rejection_note: str | None = Field(default=None, max_length=1000)
    # The DPO's attestation of identity (GDPR Art. 12(6)): who checked, how, when.
    verified_by: str | None = Field(default=None, max_length=200)
    verification_method: str | None = Field(default=None, max_length=40)
    verified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The code mailed to the subject: its SHA-256 only, with expiry and tries.
    code_hash: str | None = Field(default=None, max_length=64)
    code_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    code_attempts: int = Field(default=0)
    # The subject's address and any rectified values, as encrypted JSON.
    payload_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # The access or portability export, encrypted, and when its link expires.
    export_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    export_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # JSON list of Art. 17(3) exceptions: ground, categories kept, note.
    exceptions: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    # JSON object of what the execution did (counts and ids, no personal data).
    outcome: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    receipt_sha256: str | None = Field(default=None, max_length=64)
    # JSON object of the events an erasure still has to delete after the
    # request returned (``contact_ids`` and blind-index ``digests``); NULL
    # when none remain. The request closes once this is NULL.
    event_purge: str | None = Field(default=None, sa_column=Column(Text))
    # The signed completion certificate (JSON), once the request is closed.
    certificate: str | None = Field(default=None, sa_column=Column(Text))


class ProcessorKind(enum.StrEnum):
    WEBHOOK = "webhook"
    SENDGRID = "sendgrid"
    POSTMARK = "postmark"
    MAILCHIMP = "mailchimp"


class Processor(SQLModel, table=True):
    """A processor the sender must tell about erasures and objections (GDPR Art. 19)."""

    __tablename__ = "processors"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=12)
    # The webhook URL, or the API base URL of an adapter (its official one by default).
    url: str = Field(max_length=500)
    # The webhook signing secret or the API key, encrypted under a key
    # store key whose owner id is this processor's id.
    secret_ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # JSON object of adapter settings (for Mailchimp, the audience ids).
    config: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # Retries exhausted: needs a person (the DPO can retry it).
    DEAD = "dead"


FINAL_TASK_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.DEAD})


class ProcessorTask(SQLModel, table=True):
    """One processor to notify for one request; its id is the stable event id receivers see."""

    __tablename__ = "processor_tasks"
    __table_args__ = (
        UniqueConstraint("request_id", "processor_id"),
        Index("ix_processor_tasks_due", "status", "next_attempt_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    request_id: str = Field(foreign_key="data_subject_requests.id", index=True, max_length=36)
    processor_id: str = Field(foreign_key="processors.id", max_length=36)
    # What to ask of the processor: "erasure" or "objection".
    action: str = Field(max_length=16)
    status: str = Field(default=TaskStatus.PENDING, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A worker holding the task; expires so a dead worker's task is taken again.
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Non-personal: HTTP status, error class or the processor's error code.
    last_error: str | None = Field(default=None, max_length=300)
    response_status: int | None = Field(default=None)
    # The processor's own id for the job (Postmark's data-removal id, for example).
    remote_ref: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
