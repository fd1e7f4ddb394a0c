"""The list lock holds when a delete races a send or another delete (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core.errors import NotFound
from suppression import campaigns, lists
from suppression.errors import ListLocked
from tests.api.conftest import Tenant


def prepare(engine: Engine, sender_id: str) -> tuple[str, str]:
    with Session(engine, expire_on_commit=False) as session:
        mailing_list = lists.create_list(session, sender_id, "Race", "test")
        campaign = campaigns.create_campaign(session, sender_id, "Race", [mailing_list.id], "test")
        session.commit()
        return mailing_list.id, campaign.id


def delete_in_thread(engine: Engine, sender_id: str, list_id: str, started: threading.Event) -> str:
    with Session(engine) as session:
        started.set()
        try:
            lists.delete_list(session, sender_id, list_id, "racer")
            session.commit()
        except ListLocked:
            session.rollback()
            return "locked"
        except NotFound:
            session.rollback()
            return "not_found"
        return "deleted"


def wait_blocked(future: Future[str], started: threading.Event) -> None:
    assert started.wait(10)
    # The other transaction holds the lock: the delete must still be waiting.
    time.sleep(0.5)
    assert not future.done()


@pytest.fixture
def engine(client: TestClient) -> Engine:
    return client.app.state.engine  # type: ignore[attr-defined,no-any-return]


def test_delete_waits_for_send_then_locked(engine: Engine, tenant: Tenant) -> None:
    list_id, campaign_id = prepare(engine, tenant.sender_id)
    started = threading.Event()

    with Session(engine) as sending, ThreadPoolExecutor(max_workers=1) as pool:
        campaigns.mark_sent(sending, tenant.sender_id, campaign_id, "sender")
        future = pool.submit(delete_in_thread, engine, tenant.sender_id, list_id, started)
        wait_blocked(future, started)
        sending.commit()
        outcome = future.result(timeout=30)

    assert outcome == "locked"


def test_concurrent_deletes_delete_once(engine: Engine, tenant: Tenant) -> None:
    list_id, _ = prepare(engine, tenant.sender_id)
    started = threading.Event()

    with Session(engine) as first, ThreadPoolExecutor(max_workers=1) as pool:
        lists.delete_list(first, tenant.sender_id, list_id, "first")
        future = pool.submit(delete_in_thread, engine, tenant.sender_id, list_id, started)
        wait_blocked(future, started)
        first.commit()
        outcome = future.result(timeout=30)

    assert outcome == "not_found"


def test_send_after_delete_conflicts(engine: Engine, tenant: Tenant) -> None:
    list_id, campaign_id = prepare(engine, tenant.sender_id)

    with Session(engine) as session:
        lists.delete_list(session, tenant.sender_id, list_id, "first")
        session.commit()

    with Session(engine) as session, pytest.raises(Exception) as caught:
        campaigns.mark_sent(session, tenant.sender_id, campaign_id, "sender")
    assert type(caught.value).__name__ == "Conflict"
