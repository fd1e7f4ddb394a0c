"""Gmail's spam rate per day, as Postmaster Tools reports it to the sender."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from compliance.core.models import UtcDateTime, utcnow


class GmailSpamRate(SQLModel, table=True):
    """One day of Gmail's user-reported spam rate for one sending domain.

    Gmail sends no feedback-loop reports to most senders, so this figure,
    entered by the sender or imported from a Postmaster Tools export, is the
    only view of Gmail complaints.
    """

    __tablename__ = "gmail_spam_rates"
    __table_args__ = (UniqueConstraint("sender_id", "domain", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    domain: str = Field(max_length=253)
    day: date
    # A fraction: 0.003 is 0.3 %.
    spam_rate: float
    # "api" or "csv".
    source: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DashboardSession(SQLModel, table=True):
    """A dashboard sign-in: kept on the server so that it can be listed and ended.

    The session token is a signed cookie whose ``jti`` is ``session_id``.
    A token is accepted only while its row exists and is not ended, so
    sign-out and "end this session" work at once, even on a copy of the
    cookie (OWASP ASVS 4.0.3 3.3.1 and 3.3.4). The maintenance loop deletes
    rows past their absolute end.
    """

    __tablename__ = "dashboard_sessions"

    session_id: str = Field(primary_key=True, max_length=64)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    # The API key that signed in; its revocation ends the session too.
    key_id: str = Field(foreign_key="api_keys.id", index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The absolute end: 12 hours after sign-in, whatever the renewals.
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The browser's User-Agent, cut to 200 characters, so that the key's
    # holder can tell the sessions apart in the list.
    user_agent: str = Field(default="", max_length=200)
