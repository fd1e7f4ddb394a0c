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


class DashboardSessionRevocation(SQLModel, table=True):
    """A dashboard session ended by sign-out before its token expired.

    The session token is a signed cookie, so signing out must be recorded on
    the server: a copy of the cookie would otherwise stay valid until it
    expires (OWASP ASVS 4.0.3, 3.3.1). A row is kept until the session's
    absolute end, then the maintenance loop deletes it.
    """

    __tablename__ = "dashboard_session_revocations"

    # The session id: the ``jti`` that every renewal of the session's token keeps.
    session_id: str = Field(primary_key=True, max_length=64)
    sender_id: str = Field(foreign_key="senders.id", index=True, max_length=36)
    revoked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
