"""Reads of a person's data: an access record in the log without the data, and no cached copy."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from tests.api.conftest import Tenant, make_tenant
from tests.api.test_consent_proof import ADDRESS, _confirm


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    app: FastAPI = client.app  # type: ignore[assignment]
    return make_tenant(app)


def completed(events: list[dict[str, object]], route: str) -> list[dict[str, object]]:
    return [
        event
        for event in events
        if event.get("event") == "request.completed" and event.get("route") == route
    ]


def test_consent_history_read_names_the_contact(client: TestClient, tenant: Tenant) -> None:
    contact_id = _confirm(client, tenant)

    with capture_logs() as events:
        response = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo"))

    assert response.status_code == 200, response.text
    lines = completed(events, "/v1/contacts/{contact_id}/consent")
    assert len(lines) == 1
    assert lines[0]["contact_id"] == contact_id
    assert lines[0]["status"] == 200
    assert ADDRESS not in repr(events)


def test_address_in_the_path_is_masked(client: TestClient, tenant: Tenant) -> None:
    # A caller may put an address where an id belongs: the log must not keep it.
    with capture_logs() as events:
        response = client.get(f"/v1/contacts/{ADDRESS}/consent", headers=tenant.auth("dpo"))

    assert response.status_code == 404
    lines = completed(events, "/v1/contacts/{contact_id}/consent")
    assert len(lines) == 1
    assert lines[0]["contact_id"] == "(invalid id)"
    assert ADDRESS not in repr(events)


def test_tokens_in_the_path_are_not_logged(client: TestClient, tenant: Tenant) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"

    with capture_logs() as events:
        client.get(f"/p/{token}")

    assert token not in repr(events)
    assert any(event.get("route") == "/p/{token}" for event in events)


def test_api_responses_are_not_stored(client: TestClient, tenant: Tenant) -> None:
    contact_id = _confirm(client, tenant)

    for response in (
        client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo")),
        client.get("/v1/topics", headers=tenant.auth("sender")),
        client.get("/v1/topics"),
    ):
        assert response.headers.get("cache-control") == "no-store", response.request.url
        assert response.headers.get("x-content-type-options") == "nosniff"


def test_no_personal_data_in_query_strings(client: TestClient) -> None:
    # URLs end up in proxy logs and browser history: addresses and names go in
    # request bodies (POST /v1/contacts/lookup, POST /v1/dsr/search).
    app: FastAPI = client.app  # type: ignore[assignment]
    names = [
        (path, parameter["name"])
        for path, operations in app.openapi()["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]

    assert names, "the schema lists no query parameter at all"
    personal = re.compile(r"(^|_)(email|address|name|phone)($|_)")
    for path, name in names:
        assert not personal.search(name.lower()), (path, name)
