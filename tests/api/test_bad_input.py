"""Bad input gets a 4xx naming the field and the fix, never a 500, never a partial write."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from consent.models import ConsentRecord, Contact
from tests.api.conftest import Tenant, signup

SECRET_ADDRESS = "not-an-address-zq81"


def rows(client: TestClient) -> tuple[int, int]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        contacts = session.exec(select(func.count()).select_from(Contact)).one()
        records = session.exec(select(func.count()).select_from(ConsentRecord)).one()
    return int(contacts), int(records)


def test_malformed_json_is_422(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        content=b'{"form_id": "x", "email": ',
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert "not valid JSON" in response.json()["detail"]
    assert rows(client) == (0, 0)


def test_unknown_field_is_named(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, "a@example.org", colour="blue"),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    problems = response.json()["errors"]
    assert problems[0]["field"] == "colour"
    assert problems[0]["fault"] == "extra_forbidden"
    assert "remove it" in problems[0]["message"]
    assert rows(client) == (0, 0)


def test_invalid_address_is_not_echoed(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, SECRET_ADDRESS),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"
    assert "not a valid email address" in response.json()["detail"]
    assert SECRET_ADDRESS not in response.text
    assert rows(client) == (0, 0)


def test_missing_field_in_french(client: TestClient, tenant: Tenant) -> None:
    body = signup(tenant.form_id, "a@example.org")
    del body["consent_text"]
    response = client.post(
        "/v1/subscribe", json=body, headers={"Accept-Language": "fr-FR,fr;q=0.9"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "consent_text"
    assert "manquant" in response.json()["detail"]


def test_oversized_body_is_413(client: TestClient, tenant: Tenant, settings: object) -> None:
    huge = signup(tenant.form_id, "a@example.org", consent_text="x" * 2_000_000)
    response = client.post("/v1/subscribe", json=huge, headers={"Accept-Language": "en"})

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "1048576" in response.json()["detail"]
    assert rows(client) == (0, 0)


def test_chunked_oversized_body_is_413(client: TestClient, tenant: Tenant) -> None:
    def chunks() -> object:
        for _ in range(40):
            yield b"x" * 65536

    response = client.post(
        "/v1/subscribe", content=chunks(), headers={"Content-Type": "application/json"}
    )  # type: ignore[arg-type]

    assert response.status_code == 413
    assert rows(client) == (0, 0)


@pytest.mark.parametrize("path", ["/c/not-a-token", "/p/not-a-token", "/u/not-a-token"])
def test_unknown_token_page_is_404(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert "not valid" in response.text
    assert "text/html" in response.headers["content-type"]


def test_wrong_type_names_field(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, "a@example.org", topics="news"),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "topics"
    assert "JSON array" in response.json()["detail"]


def test_body_not_an_object(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/subscribe", json=["a"], headers={"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing-here", headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
