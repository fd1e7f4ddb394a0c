"""Erasure of a long event history: a short request, then background batches, then completion."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from compliance.app import create_app
from compliance.core.audit import verify_chain
from compliance.core.models import AuditEvent
from compliance.core.settings import Settings
from dsr.certificate import check_certificate
from dsr.event_purge import pending_purges, purge_batch, purge_erased_events
from suppression.models import BounceEvent, Campaign, DeliveryEvent
from tests.api.conftest import Tenant, make_tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber
from tests.dsr.fake_processors import FakeProcessors
from tests.dsr.test_erasure_processors import ATTESTATION, drain, register
from tests.e2e.test_dsr_erasure import create_list, record_events

ADDRESS = "erin@example.org"
INLINE = 50
BATCH = 40
EVENTS = 200
# Events recorded before the address had a contact: found by blind index only.
INDEX_ONLY = 30


def small_batches(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "dsr_inline_event_limit": INLINE,
            "dsr_event_batch_size": BATCH,
            "processor_allow_http": True,
            "processor_allow_private_networks": True,
            "processor_timeout_seconds": 2.0,
        }
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(small_batches(settings), run_worker=False, configure_logs=False)
    with TestClient(app, base_url="https://sendguard.test") as test_client:
        yield test_client


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def services_of(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def subject_with_events(client: TestClient, tenant: Tenant) -> str:
    """Create the subject with events by contact id and by blind index; return the digest."""
    confirmed_subscriber(client, tenant, ADDRESS)
    list_id = create_list(client, tenant, "Customers")
    response = client.post(
        f"/v1/lists/{list_id}/members", json={"add": [ADDRESS]}, headers=tenant.auth("sender")
    )
    assert response.status_code == 200, response.text
    record_events(client, tenant, list_id, ADDRESS, EVENTS)
    digest: str = services_of(client).indexer.current(ADDRESS).digest
    with Session(engine_of(client)) as session:
        campaign_id = session.exec(
            select(Campaign.id).where(Campaign.sender_id == tenant.sender_id)
        ).one()
        for _ in range(INDEX_ONLY):
            session.add(
                DeliveryEvent(
                    sender_id=tenant.sender_id,
                    campaign_id=campaign_id,
                    contact_id=None,
                    blind_index=digest,
                    kind="delivered",
                )
            )
        session.commit()
    return digest


def subject_events(client: TestClient, digest: str) -> int:
    with Session(engine_of(client)) as session:
        by_index = select(func.count()).select_from(DeliveryEvent)
        by_index = by_index.where(DeliveryEvent.blind_index == digest)
        bounces = select(func.count()).select_from(BounceEvent)
        bounces = bounces.where(BounceEvent.blind_index == digest)
        return int(session.exec(by_index).one()) + int(session.exec(bounces).one())


def contact_events(client: TestClient) -> int:
    with Session(engine_of(client)) as session:
        query = select(func.count()).select_from(DeliveryEvent)
        query = query.where(col(DeliveryEvent.contact_id).is_not(None))
        return int(session.exec(query).one())


def purge_audits(engine: Engine, request_id: str) -> int:
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_id == request_id)
        ).all()
    return actions.count("dsr.events_purged")


def erase(client: TestClient, tenant: Tenant) -> Any:
    response = client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": ADDRESS, "attestation": ATTESTATION},
        headers=tenant.auth("dpo"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def show(client: TestClient, tenant: Tenant, request_id: str) -> Any:
    response = client.get(f"/v1/dsr/{request_id}", headers=tenant.auth("dpo"))
    assert response.status_code == 200, response.text
    return response.json()


def test_long_history_purged_in_batches(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    digest = subject_with_events(client, tenant)
    total = EVENTS + INDEX_ONLY
    assert subject_events(client, digest) == total

    created = erase(client, tenant)
    after_request = subject_events(client, digest)
    engine, services = engine_of(client), services_of(client)
    batches = []
    while True:
        batch = purge_batch(engine, services, created["id"], tenant.sender_id)
        batches.append(batch.deleted)
        if batch.finished:
            break
        # Between batches the request stays in progress.
        assert show(client, tenant, created["id"])["status"] == "in_progress"
    done = show(client, tenant, created["id"])

    assert created["status"] == "in_progress"
    assert created["outcome"]["delivery_events_deleted"] == INLINE
    assert created["outcome"]["delivery_events_pending"] is True
    assert after_request == total - INLINE
    assert all(deleted == BATCH for deleted in batches[:-1])
    assert sum(batches) == total - INLINE
    assert subject_events(client, digest) == 0
    assert contact_events(client) == 0
    assert pending_purges(engine) == []
    assert done["status"] == "completed"
    assert done["outcome"]["delivery_events_deleted"] == total
    assert done["outcome"]["delivery_events_pending"] is False
    certificate = client.get(f"/v1/dsr/{created['id']}/certificate", headers=tenant.auth("dpo"))
    assert certificate.status_code == 200, certificate.text
    key = client.get("/v1/dsr/certificate-key").json()["public_key"]
    assert check_certificate(certificate.json(), key).valid
    assert ADDRESS not in certificate.text
    assert purge_audits(engine, created["id"]) == 1
    with Session(engine) as session:
        assert verify_chain(session, tenant.sender_id) is None


def test_short_history_completes_in_request(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    confirmed_subscriber(client, tenant, ADDRESS)

    created = erase(client, tenant)

    assert created["status"] == "completed"
    assert created["outcome"]["delivery_events_pending"] is False
    assert pending_purges(engine_of(client)) == []


def test_purge_and_processors_both_needed(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    with FakeProcessors() as fake:
        register(client, tenant, fake)
        subject_with_events(client, tenant)
        created = erase(client, tenant)

        purged = purge_erased_events(engine_of(client), services_of(client))
        after_purge = show(client, tenant, created["id"])
        drained = drain(client)
        after_processors = show(client, tenant, created["id"])

    # The purge ended first: the request still waited for the processors.
    assert purged == EVENTS + INDEX_ONLY - INLINE
    assert after_purge["status"] == "in_progress"
    assert drained == 2
    assert after_processors["status"] == "completed"
    assert after_processors["outcome"]["delivery_events_deleted"] == EVENTS + INDEX_ONLY


def test_processors_then_purge_completes(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    with FakeProcessors() as fake:
        register(client, tenant, fake)
        subject_with_events(client, tenant)
        created = erase(client, tenant)

        drained = drain(client)
        after_processors = show(client, tenant, created["id"])
    purge_erased_events(engine_of(client), services_of(client))
    after_purge = show(client, tenant, created["id"])

    assert drained == 2
    assert after_processors["status"] == "in_progress"
    assert after_purge["status"] == "completed"


def test_serve_finishes_purge_after_restart(client: TestClient, settings: Settings) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    digest = subject_with_events(client, tenant)
    created = erase(client, tenant)

    # A new process with its background workers picks up the pending purge.
    app = create_app(small_batches(settings), run_worker=True, configure_logs=False)
    with TestClient(app, base_url="https://sendguard.test") as served:
        deadline = time.monotonic() + 20
        status = created["status"]
        while status != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = show(served, tenant, created["id"])["status"]

    assert created["status"] == "in_progress"
    assert status == "completed"
    assert subject_events(client, digest) == 0


def test_cli_purges_events(client: TestClient, settings: Settings) -> None:
    from compliance.cli.dsr import cmd_purge_events

    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    digest = subject_with_events(client, tenant)
    created = erase(client, tenant)

    code = cmd_purge_events(None, small_batches(settings))  # type: ignore[arg-type]

    assert code == 0
    assert subject_events(client, digest) == 0
    assert show(client, tenant, created["id"])["status"] == "completed"


def test_parallel_purgers_close_once(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    digest = subject_with_events(client, tenant)
    created = erase(client, tenant)
    engine, services = engine_of(client), services_of(client)
    totals: list[int] = []
    errors: list[BaseException] = []

    def purge() -> None:
        try:
            totals.append(purge_erased_events(engine, services))
        except BaseException as error:  # reported by the asserts below
            errors.append(error)

    # Two workers of a fleet find the same pending erasure.
    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(totals) == EVENTS + INDEX_ONLY - INLINE
    assert subject_events(client, digest) == 0
    done = show(client, tenant, created["id"])
    assert done["status"] == "completed"
    assert done["outcome"]["delivery_events_deleted"] == EVENTS + INDEX_ONLY
    assert purge_audits(engine, created["id"]) == 1
    with Session(engine) as session:
        assert verify_chain(session, tenant.sender_id) is None


def test_purging_erasure_cannot_be_rejected(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    subject_with_events(client, tenant)
    created = erase(client, tenant)

    response = client.post(
        f"/v1/dsr/{created['id']}/reject",
        json={"ground": "excessive", "note": "too late"},
        headers=tenant.auth("dpo"),
    )
    purge_erased_events(engine_of(client), services_of(client))
    done = show(client, tenant, created["id"])

    # The data is already gone, so the subject must get no rejection notice.
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "invalid_state"
    assert ADDRESS not in response.text
    assert done["status"] == "completed"
    assert done["outcome"]["delivery_events_deleted"] == EVENTS + INDEX_ONLY


def test_second_erasure_waits_for_purge(client: TestClient) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    digest = subject_with_events(client, tenant)
    first = erase(client, tenant)

    second = erase(client, tenant)
    purge_erased_events(engine_of(client), services_of(client))

    # The second request finds no contact, but the first one's events still
    # exist: it completes only once they are gone.
    assert second["status"] == "in_progress"
    assert second["outcome"]["delivery_events_pending"] is True
    assert subject_events(client, digest) == 0
    assert show(client, tenant, first["id"])["status"] == "completed"
    assert show(client, tenant, second["id"])["status"] == "completed"
