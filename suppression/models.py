"""Suppression entries: the addresses that must never receive mail, by blind index only."""

from __future__ import annotations

import enum
from datetime import datetime

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
    __tablename__ = "suppression_entries"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    blind_index: str = Field(index=True, max_length=64)
    key_version: int
    scope: str = Field(default=SuppressionScope.GLOBAL, max_length=8)
    # The list or topic id for list and topic scopes; empty for global.
    scope_ref: str = Field(default="", max_length=64)
    reason: str = Field(max_length=16)
    source: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lifted_by: str | None = Field(default=None, max_length=80)
