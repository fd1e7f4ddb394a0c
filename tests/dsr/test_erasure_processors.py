"""Erasure, objection and rectification with processors: the request closes after the last call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from compliance.app import create_app
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from dsr.certificate import check_certificate
from dsr.closing import on_task_finished
from dsr.processor_worker import drain_processor_tasks
from tests.api.conftest import Tenant, deliver, make_tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber
from tests.dsr import fake_processors as fakes
from tests.dsr.fake_processors import FakeProcessors

ADDRESS = "dana@example.org"
ATTESTATION = {
    "verified_by": "DPO office",
    "method": "id_document",
    "verified_at": "2026-01-10T09:00:00Z",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    loopback = settings.model_copy(
        update={
            "processor_allow_http": True,
            "processor_allow_private_networks": True,
            "processor_timeout_seconds": 2.0,
            "processor_max_attempts": 2,
        }
    )
    app = create_app(loopback, run_worker=False, configure_logs=False)
    with TestClient(app, base_url="https://sendguard.test") as test_client:
        yield test_client


@pytest.fixture
def fake() -> Iterator[FakeProcessors]:
    with FakeProcessors() as server:
        yield server


def register(client: TestClient, tenant: Tenant, fake: FakeProcessors) -> None:
    dpo = tenant.auth("dpo")
    hook = client.post(
        "/v1/processors",
        json={
            "name": "CRM",
            "kind": "webhook",
            "url": f"{fake.url}/hook",
            "secret": fakes.WEBHOOK_SECRET,
        },
        headers=dpo,
    )
    assert hook.status_code == 201, hook.text
    chimp = client.post(
        "/v1/processors",
        json={
            "name": "Mailchimp",
            "kind": "mailchimp",
            "url": fake.url,
            "secret": fakes.MAILCHIMP_API_KEY,
            "config": {"list_ids": ["a1b2c3"]},
        },
        headers=dpo,
    )
    assert chimp.status_code == 201, chimp.text


def drain(client: TestClient, *, later: timedelta = timedelta(0)) -> int:
    app: Any = client.app
    services = app.state.services
    return drain_processor_tasks(
        app.state.engine,
        services,
        on_final=lambda session, request_id: on_task_finished(session, services, request_id),
        now=utcnow() + later,
    )


def test_erasure_waits_for_processors(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")

    created = client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": ADDRESS, "attestation": ATTESTATION},
        headers=dpo,
    ).json()
    waiting = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()
    claimed = drain(client)
    done = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()

    assert created["status"] == "in_progress"
    assert [item["status"] for item in waiting["processors"]] == ["pending", "pending"]
    assert claimed == 2
    assert done["status"] == "completed"
    assert {item["name"]: item["status"] for item in done["processors"]} == {
        "CRM": "succeeded",
        "Mailchimp": "succeeded",
    }
    paths = sorted(request.path for request in fake.requests)
    assert (
        paths[0] == "/3.0/lists/a1b2c3/members/" + fakes_md5(ADDRESS) + "/actions/delete-permanent"
    )
    assert paths[1] == "/hook"
    certificate = client.get(f"/v1/dsr/{created['id']}/certificate", headers=dpo)
    key = client.get("/v1/dsr/certificate-key").json()["public_key"]
    assert check_certificate(certificate.json(), key).valid
    assert {item["status"] for item in certificate.json()["processors"]} == {"succeeded"}
    assert ADDRESS not in certificate.text
    assert [message["To"] for message in deliver(client)] == [ADDRESS]


def test_unreachable_processor_fails_request(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    dpo = tenant.auth("dpo")
    fake.fail_next(4, 503)

    created = client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": ADDRESS, "attestation": ATTESTATION},
        headers=dpo,
    ).json()
    drain(client)
    retrying = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()
    drain(client, later=timedelta(hours=2))
    closed = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()

    assert retrying["status"] == "in_progress"
    assert {item["status"] for item in retrying["processors"]} == {"pending"}
    assert closed["status"] == "failed"
    assert {item["last_error"] for item in closed["processors"]} == {"http_503"}
    assert closed["certificate_available"] is True
    certificate = client.get(f"/v1/dsr/{created['id']}/certificate", headers=dpo).json()
    assert certificate["request"]["status"] == "failed"
    assert {item["status"] for item in certificate["processors"]} == {"dead"}


def test_objection_tells_processors(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    dpo = tenant.auth("dpo")

    created = client.post(
        "/v1/dsr", json={"type": "objection", "email": ADDRESS}, headers=dpo
    ).json()
    drain(client)

    hooks = [request.json() for request in fake.requests if request.path == "/hook"]
    assert created["status"] == "in_progress"
    assert [hook["type"] for hook in hooks] == ["dsr.objection"]
    assert hooks[0]["request_id"] == created["id"]
    assert client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()["status"] == "completed"


def test_rectification_reaches_webhooks_only(client: TestClient, fake: FakeProcessors) -> None:
    # GDPR Art. 19: a rectification is passed on to each recipient. Only the
    # webhook can take corrected values, so Mailchimp gets no task.
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")

    created = client.post(
        "/v1/dsr",
        json={
            "type": "rectification",
            "email": ADDRESS,
            "attestation": ATTESTATION,
            "changes": {"name": "Dana Martin", "country": "ca", "email": "dana.m@example.org"},
        },
        headers=dpo,
    ).json()
    claimed = drain(client)
    done = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()

    assert created["status"] == "in_progress"
    assert [item["name"] for item in created["processors"]] == ["CRM"]
    assert claimed == 1
    hooks = [request.json() for request in fake.requests if request.path == "/hook"]
    assert [hook["type"] for hook in hooks] == ["dsr.rectification"]
    assert hooks[0]["subject"] == {"email": ADDRESS}
    assert hooks[0]["changes"] == {"country": "CA", "name": "Dana Martin"}
    # The new address waits for the subject's confirmation.
    assert hooks[0]["pending_confirmation"] == ["email"]
    assert "dana.m@example.org" not in fake.requests[0].body.decode()
    assert done["status"] == "completed"


def test_address_change_queues_no_task(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    confirmed_subscriber(client, tenant, ADDRESS)

    created = client.post(
        "/v1/dsr",
        json={
            "type": "rectification",
            "email": ADDRESS,
            "attestation": ATTESTATION,
            "changes": {"email": "dana.m@example.org"},
        },
        headers=tenant.auth("dpo"),
    ).json()

    assert created["status"] == "completed"
    assert created["processors"] == []
    assert drain(client) == 0


def register_postmark(client: TestClient, tenant: Tenant, fake: FakeProcessors) -> None:
    created = client.post(
        "/v1/processors",
        json={
            "name": "Postmark",
            "kind": "postmark",
            "url": fake.url,
            "secret": fakes.POSTMARK_ACCOUNT_TOKEN,
        },
        headers=tenant.auth("dpo"),
    )
    assert created.status_code == 201, created.text


def erase(client: TestClient, tenant: Tenant) -> str:
    created = client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": ADDRESS, "attestation": ATTESTATION},
        headers=tenant.auth("dpo"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_postmark_erasure_waits_for_done(client: TestClient, fake: FakeProcessors) -> None:
    # Postmark returns "Pending" and erases later. The request once closed
    # as completed before Postmark had erased anything.
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register_postmark(client, tenant, fake)
    request_id = erase(client, tenant)
    dpo = tenant.auth("dpo")

    drain(client)
    waiting = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()
    drain(client, later=timedelta(minutes=16))
    still = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()
    fake.state.postmark_done.add(1001)
    drain(client, later=timedelta(minutes=32))
    done = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()

    assert waiting["status"] == "in_progress"
    [task] = waiting["processors"]
    assert task["status"] == "pending"
    assert task["remote_ref"] == "1001"
    # Waiting is not failing: no attempt is used up.
    assert task["attempts"] == 0
    assert task["last_error"] is None
    assert still["status"] == "in_progress"
    assert done["status"] == "completed"
    assert done["processors"][0]["status"] == "succeeded"
    assert len(fake.state.postmark_removals) == 1


def test_postmark_removal_never_done_fails(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register_postmark(client, tenant, fake)
    request_id = erase(client, tenant)
    dpo = tenant.auth("dpo")

    drain(client)
    drain(client, later=timedelta(days=31))
    closed = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()

    assert closed["status"] == "failed"
    assert closed["processors"][0]["status"] == "dead"
    assert closed["processors"][0]["last_error"] == "processor_still_working"


def test_access_tells_no_processor(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)

    created = client.post(
        "/v1/dsr",
        json={"type": "access", "email": ADDRESS, "attestation": ATTESTATION},
        headers=tenant.auth("dpo"),
    ).json()

    assert created["status"] == "completed"
    assert created["processors"] == []
    assert drain(client) == 0


def fakes_md5(address: str) -> str:
    import hashlib

    return hashlib.md5(address.lower().encode()).hexdigest()


def test_retry_reopens_failed_request(client: TestClient, fake: FakeProcessors) -> None:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    register(client, tenant, fake)
    dpo = tenant.auth("dpo")
    fake.fail_next(4, 503)
    created = client.post(
        "/v1/dsr",
        json={"type": "erasure", "email": ADDRESS, "attestation": ATTESTATION},
        headers=dpo,
    ).json()
    drain(client)
    drain(client, later=timedelta(hours=2))
    failed = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()
    dead = [item for item in failed["processors"] if item["status"] == "dead"]
    task_ids = client.get(f"/v1/dsr/{created['id']}/processors", headers=dpo).json()

    for task in task_ids:
        retried = client.post(f"/v1/processor-tasks/{task['task_id']}/retry", headers=dpo)
        assert retried.status_code == 200, retried.text
    reopened = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()
    drain(client)
    closed = client.get(f"/v1/dsr/{created['id']}", headers=dpo).json()
    certificate = client.get(f"/v1/dsr/{created['id']}/certificate", headers=dpo).json()

    assert failed["status"] == "failed"
    assert len(dead) == 2
    assert reopened["status"] == "in_progress"
    assert closed["status"] == "completed"
    assert {item["status"] for item in certificate["processors"]} == {"succeeded"}
    actions = [entry["action"] for entry in closed["history"]]
    assert actions[-3:] == ["dsr.failed", "dsr.in_progress", "dsr.completed"]
