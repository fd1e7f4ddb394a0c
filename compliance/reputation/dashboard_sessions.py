"""Dashboard sessions on the server: start, check, list, end and purge.

The cookie carries a signed token whose ``jti`` is the session id. This
module keeps the matching rows, so that a session can be listed and ended
before its token expires (OWASP ASVS 4.0.3 3.3.1 and 3.3.4).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from compliance.core.db import sqlite_writer
from compliance.core.models import utcnow
from compliance.reputation.models import DashboardSession

# Absolute limit of a session (ASVS 4.0.3 3.3.2 at level 2).
SESSION_LIFETIME = timedelta(hours=12)
MAX_USER_AGENT = 200


def start_session(
    session: Session, sender_id: str, key_id: str, user_agent: str
) -> DashboardSession:
    """Record a new sign-in with a random 192-bit session id (ASVS 3.2.1 and 3.2.2)."""
    now = utcnow()
    row = DashboardSession(
        session_id=secrets.token_urlsafe(24),
        sender_id=sender_id,
        key_id=key_id,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        user_agent=user_agent[:MAX_USER_AGENT],
    )
    session.add(row)
    return row


def live_session(session: Session, session_id: str, key_id: str) -> DashboardSession | None:
    """Return the session if it exists for this key, has not ended and is within its lifetime."""
    row = session.get(DashboardSession, session_id)
    if row is None or row.key_id != key_id or row.ended_at is not None:
        return None
    if utcnow() >= row.expires_at:
        return None
    return row


def sessions_of_key(session: Session, sender_id: str, key_id: str) -> list[DashboardSession]:
    """Return the key's live sessions, newest first."""
    return list(
        session.exec(
            select(DashboardSession)
            .where(
                DashboardSession.sender_id == sender_id,
                DashboardSession.key_id == key_id,
                col(DashboardSession.ended_at).is_(None),
                col(DashboardSession.expires_at) > utcnow(),
            )
            .order_by(col(DashboardSession.created_at).desc())
        ).all()
    )


def end_sessions(session: Session, sender_id: str, key_id: str, session_ids: list[str]) -> int:
    """End the listed sessions of this key and return how many were live.

    Ids of another key or another sender match no row, so they end nothing.
    """
    if not session_ids:
        return 0
    result = session.execute(
        update(DashboardSession)
        .where(
            col(DashboardSession.sender_id) == sender_id,
            col(DashboardSession.key_id) == key_id,
            col(DashboardSession.session_id).in_(session_ids),
            col(DashboardSession.ended_at).is_(None),
        )
        .values(ended_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_ended_sessions(engine: Engine, now: datetime | None = None) -> int:
    """Delete the sessions past their absolute end and return how many.

    An ended session is kept until then: its token could still be presented.
    """
    cutoff = now or utcnow()
    statement = delete(DashboardSession).where(col(DashboardSession.expires_at) <= cutoff)
    with sqlite_writer(engine), engine.begin() as connection:
        result = connection.execute(statement)
    return result.rowcount
