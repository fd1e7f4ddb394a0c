"""Requests on which the schema fuzzer found the published OpenAPI schema untrue.

Each test sends the request the fuzzer found, checks the response, and
checks that ``/openapi.json`` documents that status, content type and body.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tenant, make_tenant


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


def documented(client: TestClient, method: str, path: str, status: int) -> dict[str, Any]:
    """Return the documented response of an operation for ``status``, or fail."""
    operation = client.get("/openapi.json").json()["paths"][path][method]
    responses: dict[str, dict[str, Any]] = operation["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    return responses[str(status)]


def error_schema_name(response: dict[str, Any]) -> str:
    reference: str = response["content"]["application/json"]["schema"]["$ref"]
    return reference.rsplit("/", 1)[-1]


def test_missing_body_error_documented(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/topics", headers=tenant.auth("admin"))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["fault"] == "missing"
    # FastAPI's default 422 body ({"detail": [...]}) is not what the service sends.
    assert error_schema_name(documented(client, "post", "/v1/topics", 422)) == "ErrorBody"


def test_error_body_schema_requires_code_and_detail(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["ErrorBody"]["required"] == ["error", "detail"]
    assert "HTTPValidationError" not in schemas


def test_unknown_key_not_found_documented(client: TestClient, tenant: Tenant) -> None:
    response = client.delete("/v1/keys/0", headers=tenant.auth("admin"))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert error_schema_name(documented(client, "delete", "/v1/keys/{key_id}", 404)) == "ErrorBody"


def test_unreadable_body_documented(client: TestClient, tenant: Tenant) -> None:
    headers = {**tenant.auth("admin"), "Content-Type": "application/json"}
    response = client.post("/v1/topics", content=b"x\xff", headers=headers)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert error_schema_name(documented(client, "post", "/v1/topics", 400)) == "ErrorBody"


def test_snippet_error_documented_as_json(client: TestClient, tenant: Tenant) -> None:
    query = {
        "privacy_policy_url": "https://0.com",
        "privacy_policy_version": "0",
        "topics": "0" * 2001,
    }
    response = client.get("/v1/forms/snippet", params=query, headers=tenant.auth("admin"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["field"] == "topics"
    assert response.json()["errors"][0]["fault"] == "string_too_long"
    # The route returns HTML on success, but its errors are JSON.
    assert "application/json" in documented(client, "get", "/v1/forms/snippet", 422)["content"]


def test_suppression_export_documents_csv(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/suppressions/export", headers=tenant.auth("admin"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "text/csv" in documented(client, "get", "/v1/suppressions/export", 200)["content"]


def test_export_link_errors_documented_as_html(client: TestClient) -> None:
    response = client.get("/x/0")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "text/html" in documented(client, "get", "/x/{token}", 404)["content"]
