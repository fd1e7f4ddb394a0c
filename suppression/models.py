"""Suppression entries: the addresses that must never receive mail, by blind index only."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from compliance.core.models import UtcDateTime, new_id, utcnow


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    ERASED = "erased"
    OBJECTION = "objection"
    INVALID_ADDRESS = "invalid_address"
    SPAM_TRAP = "spam_trap"


# A double opt-in confirmed by the person lifts only these reasons. Complaints
# and hard bounces need an audited admin override; an import lifts nothing.
LIFTED_BY_DOUBLE_OPT_IN = frozenset(
    {SuppressionReason.UNSUBSCRIBE, SuppressionReason.ERASED, SuppressionReason.OBJECTION}
)


class SuppressionScope(enum.StrEnum):
    GLOBAL = "global"
    LIST = "list"
    TOPIC = "topic"


class SuppressionEntry(SQLModel, table=True):
    """One reason not to mail an address. Lifting keeps the row, with who lifted it."""

    __tablename__ = "suppression_entries"
    __table_args__ = (
        Index("ix_suppression_sender_index", "sender_id", "blind_index"),
        Index("ix_suppression_sender_change", "sender_id", "change_version"),
        # The rows a transaction wrote and has not stamped yet: few at any
        # time, and found without reading the sender's other rows.
        Index(
            "ix_suppression_unstamped",
            "sender_id",
            sqlite_where=text("change_version IS NULL"),
            postgresql_where=text("change_version IS NULL"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    # Indexed through ix_suppression_sender_index: every query filters on
    # sender_id, so neither column needs an index of its own.
    sender_id: str = Field(foreign_key="senders.id", max_length=36)
    blind_index: str = Field(max_length=64)
    key_version: int
    scope: str = Field(default=SuppressionScope.GLOBAL, max_length=8)
    # The list or topic id for list and topic scopes; empty for global.
    scope_ref: str = Field(default="", max_length=64)
    reason: str = Field(max_length=16)
    source: str = Field(max_length=40)
    # What caused the entry: "campaign:<id>", "dsr:<id>", "import:<id>:<line>"...
    event_ref: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lifted_by: str | None = Field(default=None, max_length=80)
    # The admin's reason for lifting a complaint or hard bounce by override.
    lift_justification: str | None = Field(default=None, max_length=1000)
    # The sender's change counter when this row was last written, set at
    # commit by suppression.changes; None until then. The in-memory screening
    # index reads the rows changed since the version it was built at.
    change_version: int | None = Field(default=None, sa_type=BigInteger)


class SuppressionChangeCounter(SQLModel, table=True):
    """One counter per sender, raised by every commit that writes suppression entries.

    The counter row is locked by the raising UPDATE until the commit, so two
    writers of one sender take versions in commit order: a reader that sees
    version N has every row stamped N or less.
    """

    __tablename__ = "suppression_change_counters"

    sender_id: str = Field(foreign_key="senders.id", primary_key=True, max_length=36)
    version: int = Field(default=0, sa_type=BigInteger)
    # The version of the last change a delta cannot describe (a deleted row):
    # an index built before it is rebuilt.
    rebuild_version: int = Field(default=0, sa_type=BigInteger)


class MailingList(SQLModel, table=True):
    """A list of contacts. Deleting it keeps the row (``deleted_at``) and every opt-out."""

    __tablename__ = "mailing_lists"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class MembershipStatus(enum.StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class ListMembership(SQLModel, table=True):
    __tablename__ = "list_memberships"
    __table_args__ = (UniqueConstraint("list_id", "contact_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    list_id: str = Field(foreign_key="mailing_lists.id", index=True, max_length=36)
    contact_id: str = Field(foreign_key="contacts.id", index=True, max_length=36)
    status: str = Field(default=MembershipStatus.SUBSCRIBED, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, index=True, sa_type=UtcDateTime)
    sent_count: int = 0
    delivered_count: int = 0
    hard_bounce_count: int = 0
    soft_bounce_count: int = 0
    complaint_count: int = 0
    unsubscribe_count: int = 0
    open_count: int = 0
    click_count: int = 0


class CampaignList(SQLModel, table=True):
    """A list that a campaign uses; its ``sent_at`` locks the list for 7 days."""

    __tablename__ = "campaign_lists"

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    list_id: str = Field(
        foreign_key="mailing_lists.id", primary_key=True, index=True, max_length=36
    )


class CampaignReport(SQLModel, table=True):
    """A pre-send report stored for a campaign; the latest one is the campaign's report.

    The table lives here, beside Campaign, and not in compliance.presend which
    writes it: the migrations and the domain code (campaign deletion, data
    exports) import the domain models, and a domain may not import the
    orchestration layer. ``report`` is the JSON report, which by design contains
    counts, positions and rule ids, never a recipient's address.
    """

    __tablename__ = "campaign_reports"
    __table_args__ = (Index("ix_campaign_reports_campaign_created", "campaign_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaigns.id", max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The report's decision: block, warn or pass.
    verdict: str = Field(max_length=8)
    report: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))


class EventKind(enum.StrEnum):
    DELIVERED = "delivered"
    OPEN = "open"
    CLICK = "click"


class DeliveryEvent(SQLModel, table=True):
    """Engagement of one recipient with one campaign, by blind index."""

    __tablename__ = "delivery_events"
    __table_args__ = (Index("ix_delivery_events_sender_index", "sender_id", "blind_index"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: ix_delivery_events_sender_index starts with it, and
    # every index is one more B-tree that an erasure's delete must update.
    sender_id: str = Field(foreign_key="senders.id", max_length=36)
    campaign_id: str = Field(foreign_key="campaigns.id", index=True, max_length=36)
    contact_id: str | None = Field(default=None, index=True, max_length=36)
    blind_index: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class BounceEvent(SQLModel, table=True):
    """One classified bounce, complaint, reply or delivery of one recipient, by blind index.

    ``fingerprint`` makes ingestion idempotent: the same report read twice
    (a re-run over a maildir, a webhook retried by the ESP) adds no row.
    """

    __tablename__ = "bounce_events"
    __table_args__ = (
        UniqueConstraint("sender_id", "fingerprint"),
        Index("ix_bounce_events_sender_index", "sender_id", "blind_index", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Indexed as the first column of the two indexes above.
    sender_id: str = Field(foreign_key="senders.id", max_length=36)
    campaign_id: str | None = Field(default=None, index=True, max_length=36)
    blind_index: str = Field(max_length=64)
    key_version: int
    # hard, soft, complaint, autoreply, delivered, unsubscribe, unknown.
    bounce_class: str = Field(max_length=16)
    # Sisimai's reason vocabulary: userunknown, mailboxfull, feedback...
    reason: str = Field(max_length=32)
    status: str = Field(default="", max_length=16)
    reply_code: str = Field(default="", max_length=8)
    feedback_type: str = Field(default="", max_length=32)
    # "mail", "ses", "sendgrid", "mailgun" or "postmark".
    source: str = Field(max_length=16)
    # SHA-256 of the original Message-ID: counts soft bounces per send, not per retry report.
    message_ref: str = Field(default="", max_length=64)
    fingerprint: str = Field(max_length=64)
    # The soft-bounce count for the address when this event was ingested (1 for the first).
    attempt: int = 0
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
