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


def test_nul_in_body_is_422(client: TestClient, tenant: Tenant) -> None:
    body = signup(tenant.form_id, "a@example.org", consent_text_version="v1\u0000")

    response = client.post("/v1/subscribe", json=body, headers={"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "consent_text_version"
    assert "NUL" in response.json()["detail"]
    assert rows(client) == (0, 0)


def test_nul_in_path_is_400(client: TestClient, tenant: Tenant) -> None:
    response = client.delete("/v1/keys/%00abc", headers=tenant.auth("admin"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"


def test_out_of_range_date_is_422(client: TestClient, tenant: Tenant) -> None:
    body = {
        "type": "erasure",
        "email": "a@example.org",
        "attestation": {
            "verified_by": "DPO",
            "method": "other",
            "verified_at": "0001-01-01T00:00:00+14:00",
        },
    }

    response = client.post(
        "/v1/dsr", json=body, headers={**tenant.auth("dpo"), "Accept-Language": "en"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attestation.verified_at"
    assert "1970" in response.json()["detail"]


def test_address_as_id_not_echoed(client: TestClient, tenant: Tenant) -> None:
    form = client.post("/v1/subscribe", json=signup("leak.probe@example.net", "a@example.org"))
    key = client.delete("/v1/keys/leak@example.net", headers=tenant.auth("admin"))
    listing = client.get("/v1/lists/leak@example.net", headers=tenant.auth("sender"))

    for response in (form, key, listing):
        assert response.status_code == 404
        assert "@example.net" not in response.text
        assert "(invalid id)" in response.json()["detail"]


def test_non_utf8_body_is_clear(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        content=b'{"email": "\xe9"}',
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code in (400, 422)
    assert response.json()["error"] == "invalid_input"
    assert "UTF-8" in response.json()["detail"] or "JSON" in response.json()["detail"]


def test_json_error_field_is_body(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe", content=b'{"a": }', headers={"Content-Type": "application/json"}
    )

    assert response.json()["errors"][0]["field"] == "body"


def test_allowed_values_in_french(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, "a@example.org", locale="de"),
        headers={"Accept-Language": "fr"},
    )

    assert response.status_code == 422
    assert "'fr' ou 'en'" in response.json()["detail"]


def test_naive_datetime_needs_zone(client: TestClient, tenant: Tenant) -> None:
    body = {
        "type": "erasure",
        "email": "a@example.org",
        "attestation": {
            "verified_by": "DPO",
            "method": "other",
            "verified_at": "2026-01-10T09:00:00",
        },
    }

    response = client.post(
        "/v1/dsr", json=body, headers={**tenant.auth("dpo"), "Accept-Language": "en"}
    )

    assert response.status_code == 422
    assert "time zone" in response.json()["detail"]


def test_negative_count_names_the_bound(client: TestClient, tenant: Tenant) -> None:
    # Validation runs before the route looks the campaign up.
    response = client.post(
        "/v1/campaigns/no-such-campaign/sent",
        json={"counts": {"sent": -5}},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "counts.sent"
    assert response.json()["detail"] == "Field counts.sent must be at least 0."


def test_lone_surrogate_names_unicode(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/lists",
        content=b'{"name": "Lecteurs \\ud800"}',
        headers={**tenant.auth("sender"), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert "Unicode" in response.json()["detail"]
    assert response.json()["errors"][0]["fault"] == "string_unicode"


def test_huge_number_explains_limit(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/lists",
        content=b'{"name": ' + b"9" * 5000 + b"}",
        headers={**tenant.auth("sender"), "Content-Type": "application/json"},
    )

    assert response.status_code in (400, 422)
    assert "4" in response.json()["detail"]
    assert "300" in response.json()["detail"]


def test_other_auth_scheme_is_named(client: TestClient, tenant: Tenant) -> None:
    response = client.get(
        "/v1/topics",
        headers={"Authorization": "Basic dXNlcjpwYXNz", "Accept-Language": "en"},
    )

    assert response.status_code == 401
    assert "another scheme than Bearer" in response.json()["detail"]


def test_unknown_dsr_status_lists_values(client: TestClient, tenant: Tenant) -> None:
    response = client.get(
        "/v1/dsr",
        params={"status": "' OR '1'='1"},
        headers={**tenant.auth("dpo"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"
    assert "'received'" in response.json()["detail"]


def test_known_dsr_status_filters(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/dsr", params={"status": "received"}, headers=tenant.auth("dpo"))

    assert response.status_code == 200
    assert response.json() == []


def test_unknown_event_method_lists_values(client: TestClient, tenant: Tenant) -> None:
    response = client.get(
        "/v1/preference-events",
        params={"since": "2026-01-01T00:00:00Z", "method": "carrier-pigeon"},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "method"
    assert "'one_click'" in response.json()["detail"]


def test_unknown_event_kind_lists_values(client: TestClient, tenant: Tenant) -> None:
    response = client.get(
        "/v1/preference-events",
        params={"since": "2026-01-01T00:00:00Z", "kind": "unsubscribed"},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "kind"
    assert "'unsubscribe'" in response.json()["detail"]


def test_list_name_line_break_rejected(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/lists",
        json={"name": "Newsletter\r\nBcc: everyone"},
        headers={**tenant.auth("sender"), "Accept-Language": "fr"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert "saut de ligne" in response.json()["detail"]


def test_campaign_name_tab_rejected(client: TestClient, tenant: Tenant) -> None:
    created = client.post("/v1/lists", json={"name": "Clients"}, headers=tenant.auth("sender"))
    response = client.post(
        "/v1/campaigns",
        json={"name": "Soldes\td'hiver", "list_ids": [created.json()["id"]]},
        headers={**tenant.auth("sender"), "Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert "control characters" in response.json()["detail"]
