"""``/v1/processors`` through the real app: registration, SSRF refusals, tenancy, retry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from compliance.app import create_app
from compliance.core.settings import Settings
from dsr import processors_router
from dsr.models import DataSubjectRequest, ProcessorTask, TaskStatus
from dsr.payload import shred
from dsr.processor_worker import drain_processor_tasks
from dsr.processors import enqueue_tasks
from tests.api.conftest import Tenant, make_tenant
from tests.dsr import fake_processors as fakes
from tests.dsr.fake_processors import FakeProcessors, make_request

ADDRESS = "jeanne.martin@example.org"


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings, run_worker=False, configure_logs=False)
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/v1/processors" not in paths:
        # Until the app factory includes the router.
        app.include_router(processors_router.router)
    return app


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "processor_allow_http": True,
            "processor_allow_private_networks": True,
            "processor_timeout_seconds": 2.0,
            "processor_max_attempts": 1,
        }
    )


@pytest.fixture
def client(loopback_settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        build_app(loopback_settings),
        base_url="https://sendguard.test",
        raise_server_exceptions=False,
    ) as test_client:
        yield test_client


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        build_app(settings), base_url="https://sendguard.test", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.fixture
def fake() -> Iterator[FakeProcessors]:
    with FakeProcessors() as server:
        yield server


def tenant_of(client: TestClient, name: str = "Exemple SAS") -> Tenant:
    return make_tenant(client.app, name)  # type: ignore[arg-type]


def webhook(url: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "CRM",
        "kind": "webhook",
        "url": url,
        "secret": fakes.WEBHOOK_SECRET,
    }
    body.update(overrides)
    return body


def test_register_returns_no_secret(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)

    response = client.post(
        "/v1/processors", json=webhook(f"{fake.url}/hook"), headers=tenant.auth("dpo")
    )

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "webhook"
    assert body["url"] == f"{fake.url}/hook"
    assert body["active"] is True
    assert fakes.WEBHOOK_SECRET not in response.text
    assert "secret" not in body


def test_register_adapter_default_url(client: TestClient) -> None:
    tenant = tenant_of(client)
    body = {
        "name": "Mailchimp",
        "kind": "mailchimp",
        "secret": fakes.MAILCHIMP_API_KEY,
        "config": {"list_ids": ["a1b2c3"]},
    }
    # The official host is only checked here: resolving it would query DNS.
    body["url"] = "https://93.184.215.14"

    response = client.post("/v1/processors", json=body, headers=tenant.auth("admin"))

    assert response.status_code == 201
    assert response.json()["config"] == {"list_ids": ["a1b2c3"]}


def test_sender_role_forbidden(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)

    response = client.post(
        "/v1/processors", json=webhook(f"{fake.url}/hook"), headers=tenant.auth("sender")
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://169.254.169.254/latest/meta-data/", "private, loopback, link-local"),
        ("https://127.0.0.1/hook", "private, loopback, link-local"),
        ("https://[::ffff:10.0.0.1]/hook", "private, loopback, link-local"),
        ("https://localhost/hook", "private, loopback, link-local"),
        ("https://user:pw@93.184.215.14/hook", "user name or password"),
        ("not a url", "https"),
    ],
)
def test_ssrf_urls_refused(strict_client: TestClient, url: str, fault: str) -> None:
    tenant = tenant_of(strict_client)

    response = strict_client.post(
        "/v1/processors", json=webhook(url), headers=tenant.auth("dpo") | {"Accept-Language": "en"}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "url"
    assert fault in body["detail"]
    assert fakes.WEBHOOK_SECRET not in response.text
    assert "pw@" not in response.text


def test_url_error_translated(strict_client: TestClient) -> None:
    tenant = tenant_of(strict_client)

    response = strict_client.post(
        "/v1/processors",
        json=webhook("https://169.254.169.254/"),
        headers=tenant.auth("dpo") | {"Accept-Language": "fr"},
    )

    assert response.status_code == 422
    assert "adresse" in response.json()["detail"]


def test_short_webhook_secret_refused(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)

    response = client.post(
        "/v1/processors",
        json=webhook(f"{fake.url}/hook", secret="short"),
        headers=tenant.auth("dpo"),
    )

    assert response.status_code == 422
    assert response.json()["field"] == "secret"


def test_mailchimp_needs_list_ids(client: TestClient) -> None:
    tenant = tenant_of(client)
    body = {"name": "MC", "kind": "mailchimp", "secret": fakes.MAILCHIMP_API_KEY, "config": {}}

    response = client.post("/v1/processors", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 422
    assert response.json()["field"] == "config.list_ids"


def test_list_and_deactivate(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)
    dpo = tenant.auth("dpo")
    created = client.post("/v1/processors", json=webhook(f"{fake.url}/hook"), headers=dpo).json()

    deleted = client.delete(f"/v1/processors/{created['id']}", headers=dpo)
    listed = client.get("/v1/processors", headers=dpo)

    assert deleted.status_code == 204
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert listed.json()[0]["active"] is False
    assert listed.json()[0]["disabled_at"] is not None


def test_other_sender_ids_not_found(client: TestClient, fake: FakeProcessors) -> None:
    owner = tenant_of(client, "Exemple SAS")
    other = tenant_of(client, "Autre SARL")
    created = client.post(
        "/v1/processors", json=webhook(f"{fake.url}/hook"), headers=owner.auth("dpo")
    ).json()
    request_id, task_id = queue_task(client, owner)

    responses = [
        client.delete(f"/v1/processors/{created['id']}", headers=other.auth("dpo")),
        client.get(f"/v1/dsr/{request_id}/processors", headers=other.auth("dpo")),
        client.post(f"/v1/processor-tasks/{task_id}/retry", headers=other.auth("dpo")),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    assert client.get("/v1/processors", headers=other.auth("dpo")).json() == []


def queue_task(client: TestClient, tenant: Tenant) -> tuple[str, str]:
    app: Any = client.app
    engine, services = app.state.engine, app.state.services
    request_id = make_request(engine, services, tenant.sender_id, ADDRESS)
    with Session(engine, expire_on_commit=False) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        tasks = enqueue_tasks(session, request, "erasure")
        session.commit()
    return request_id, tasks[0].id


def drain(client: TestClient) -> None:
    app: Any = client.app
    drain_processor_tasks(
        app.state.engine, app.state.services, on_final=lambda session, request_id: None
    )


def test_task_views_and_retry(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)
    dpo = tenant.auth("dpo")
    client.post("/v1/processors", json=webhook(f"{fake.url}/hook"), headers=dpo)
    request_id, task_id = queue_task(client, tenant)
    fake.fail_next(1, 503)
    drain(client)  # max attempts is 1: the task dies

    views = client.get(f"/v1/dsr/{request_id}/processors", headers=dpo).json()
    retried = client.post(f"/v1/processor-tasks/{task_id}/retry", headers=dpo)
    drain(client)
    after = client.get(f"/v1/dsr/{request_id}/processors", headers=dpo).json()

    assert [(view["status"], view["last_error"], view["attempts"]) for view in views] == [
        (TaskStatus.DEAD, "http_503", 1)
    ]
    assert views[0]["processor_name"] == "CRM"
    assert ADDRESS not in str(views)
    assert retried.status_code == 200
    assert retried.json()["status"] == TaskStatus.PENDING
    assert retried.json()["attempts"] == 0
    assert after[0]["status"] == TaskStatus.SUCCEEDED


def test_retry_only_dead(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)
    dpo = tenant.auth("dpo") | {"Accept-Language": "en"}
    client.post("/v1/processors", json=webhook(f"{fake.url}/hook"), headers=dpo)
    _, task_id = queue_task(client, tenant)

    response = client.post(f"/v1/processor-tasks/{task_id}/retry", headers=dpo)

    assert response.status_code == 409
    assert "only a dead task" in response.json()["detail"]


def test_retry_refused_after_payload_destroyed(client: TestClient, fake: FakeProcessors) -> None:
    tenant = tenant_of(client)
    dpo = tenant.auth("dpo") | {"Accept-Language": "en"}
    client.post("/v1/processors", json=webhook(f"{fake.url}/hook"), headers=dpo)
    request_id, task_id = queue_task(client, tenant)
    fake.fail_next(1, 400)
    drain(client)
    app: Any = client.app
    with Session(app.state.engine) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        shred(app.state.services.keystore, request)
        session.add(request)
        session.commit()

    response = client.post(f"/v1/processor-tasks/{task_id}/retry", headers=dpo)

    assert response.status_code == 409
    assert "destroyed" in response.json()["detail"]
    with Session(app.state.engine) as session:
        task = session.get(ProcessorTask, task_id)
        assert task is not None
        assert task.status == TaskStatus.DEAD
