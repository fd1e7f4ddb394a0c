"""Two maintenance runs at once queue one double opt-in reminder, and neither fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from compliance.core.models import OutboxMessage, utcnow
from consent.maintenance import send_reminder
from consent.models import Contact
from tests.api.conftest import Tenant, signup
from tests.support.database import postgres_admin_url

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="SQLite serialises writers, so two transactions never hold one contact at once",
)


def reminder_count(engine: Any) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.kind) == "double_opt_in_reminder")
        ).one()


def test_second_run_skips_contact_being_reminded(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, "jules@example.org"))
    app: Any = client.app
    engine, services = app.state.engine, app.state.services
    with Session(engine) as session:
        contact_id = session.exec(select(Contact.id)).one()
    later = utcnow() + timedelta(hours=73)

    with Session(engine) as first, Session(engine) as second:
        assert send_reminder(first, services, contact_id, later) is True
        first.flush()

        # Without the skip, the second run would wait for the first one's
        # outbox row and then fail on its idempotency key.
        second.execute(text("SET LOCAL lock_timeout = '5s'"))
        assert send_reminder(second, services, contact_id, later) is False
        second.commit()
        first.commit()

    # A run after the first one committed reads the reminder as sent.
    with Session(engine) as third:
        assert send_reminder(third, services, contact_id, later) is False
    assert reminder_count(engine) == 1
