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
    # Never confirmed before the link expired: the address and key are gone
    # (data minimisation), only the non-personal ledger remains.
    EXPIRED = "expired"


class Audience(enum.StrEnum):
    B2C = "b2c"
    B2B = "b2b"


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
    # ISO 3166-1 alpha-2 country and B2B/B2C status: they choose the legal
    # regime (consent.basis). NULL when the sign-up did not say.
    country: str | None = Field(default=None, max_length=2)
    audience: str | None = Field(default=None, max_length=3)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    confirmation_sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # When the one reminder before the link expires was queued.
    reminder_sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The name the subscriber gave, AES-GCM under the contact's key.
    name_ciphertext: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    # No marketing email until this time (the subscriber paused).
    paused_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Page links issued before this time no longer work (revocation).
    links_not_before: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # A new address waiting for its own confirmation; the old one stays in
    # use until then.
    pending_email_ciphertext: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    pending_email_token_id: str | None = Field(default=None, max_length=64)
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
    # Facts the lawful-basis rules need (consent.basis). None when unknown.
    country: str | None = Field(default=None, max_length=2)
    audience: str | None = Field(default=None, max_length=3)
    # Date of the purchase, inquiry or donation an implied consent rests on.
    relationship_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    opt_out_offered: bool | None = None
    related_to_profession: bool | None = None
    # Declared under the age of digital consent (GDPR Art. 8); the age itself
    # is not kept (data minimisation).
    declared_minor: bool | None = None
    parental_consent: bool = False
    # False for consent imported without its original proof: flagged, not trusted.
    has_proof: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Which field set the hash covers: 1 before the lawful-basis facts existed.
    hash_version: int = 2
    prev_hash: str = Field(max_length=64)
    record_hash: str = Field(max_length=64)


class Topic(SQLModel, table=True):
    """A subject a sender mails about, with the consent wording shown for it.

    Only public topics can be chosen on the public sign-up form; a private
    topic (for example a customers-only list) is rejected there.
    """

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("sender_id", "key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    key: str = Field(max_length=64)
    name_en: str = Field(max_length=200)
    name_fr: str = Field(max_length=200)
    # The checkbox wording in each language; its SHA-256 goes into the ledger.
    wording_en: str = Field(max_length=2000)
    wording_fr: str = Field(max_length=2000)
    wording_version: str = Field(default="1", max_length=64)
    public: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ConsentCheckpoint(SQLModel, table=True):
    """A signed statement of a sender's chain head, also exported to be kept elsewhere."""

    __tablename__ = "consent_checkpoints"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    head_record_id: int | None = None
    head_hash: str = Field(max_length=64)
    record_count: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    key_id: str = Field(max_length=32)
    signature: str = Field(max_length=200)


class PreferenceMethod(enum.StrEnum):
    ONE_CLICK = "one_click"
    PAGE = "page"
    LINK = "link"
    COMPLAINT = "complaint"
    API = "api"


class PreferenceEventKind(enum.StrEnum):
    """Kind of change a preference event records, and the values of the events filter."""

    UNSUBSCRIBE = "unsubscribe"
    TOPIC_ON = "topic_on"
    TOPIC_OFF = "topic_off"
    FREQUENCY = "frequency"
    PAUSE = "pause"
    RESUME = "resume"
    NAME = "name"
    ADDRESS_REQUESTED = "address_requested"
    ADDRESS_CONFIRMED = "address_confirmed"
    LEAVE_REASON = "leave_reason"


class PreferenceEvent(SQLModel, table=True):
    """One unsubscribe or preference change, kept to find and undo mass mistakes.

    ``client_hash`` is a keyed hash of the IP address and user agent: equal
    values reveal a burst from one client (a link scanner, say) without
    keeping either value.
    """

    __tablename__ = "preference_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    contact_id: str = Field(foreign_key="contacts.id", index=True, max_length=36)
    # A PreferenceEventKind value.
    kind: str = Field(max_length=24)
    method: str = Field(max_length=16)
    # "all", "topic:<key>" or "list:<id>".
    scope: str = Field(default="all", max_length=80)
    # A non-personal value: a frequency, a leave reason code, a date.
    value: str | None = Field(default=None, max_length=40)
    client_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UtcDateTime)
    reversed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reversed_by: str | None = Field(default=None, max_length=80)


class SelfServiceAction(enum.StrEnum):
    DOWNLOAD = "download"
    ERASE = "erase"


class SelfServiceRequest(SQLModel, table=True):
    """A data download or erasure asked from the preference page, waiting for its emailed link.

    The id is the ``jti`` of the emailed link, so the link works once.
    """

    __tablename__ = "self_service_requests"

    id: str = Field(primary_key=True, max_length=64)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    contact_id: str = Field(foreign_key="contacts.id", index=True, max_length=36)
    action: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
