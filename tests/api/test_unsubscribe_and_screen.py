"""Preference center, one-click unsubscribe, suppression and screening."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.tokens import TokenPurpose
from consent.models import ConsentRecord, Contact
from suppression.models import SuppressionEntry
from tests.api.conftest import Tenant, csrf_field, deliver, link_in, make_tenant, signup

ADDRESS = "bob@example.org"


def confirmed_subscriber(
    client: TestClient, tenant: Tenant, address: str = ADDRESS, locale: str = "en"
) -> dict[str, str]:
    """Subscribe and confirm ``address``; return the links of the welcome email."""
    client.post("/v1/subscribe", json=signup(tenant.form_id, address, locale=locale))
    confirm_path = link_in(deliver(client)[0], "/c/")
    client.post(confirm_path)
    welcome = deliver(client)[0]
    return {"preferences": link_in(welcome, "/p/"), "unsubscribe": link_in(welcome, "/u/")}


def screen(client: TestClient, tenant: Tenant, recipients: list[str]) -> Any:
    response = client.post(
        "/v1/screen", json={"recipients": recipients}, headers=tenant.auth("sender")
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_preference_center_unsubscribes_all(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)

    page = client.get(links["preferences"])
    assert page.status_code == 200
    assert "Newsletter" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    done = client.post(links["preferences"] + "/unsubscribe", data={"csrf": csrf_field(page.text)})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        entry = session.exec(select(SuppressionEntry)).one()
        assert entry.reason == "unsubscribe"
        assert entry.scope == "global"
        assert len(entry.blind_index) == 64
        assert ADDRESS not in entry.blind_index
        assert session.exec(select(Contact)).one().status == "unsubscribed"
        last = session.exec(select(ConsentRecord).order_by(ConsentRecord.id.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.action == "withdrawn"


def test_preference_center_french_by_default(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant, locale="fr")

    page = client.get(links["preferences"])
    assert "Gérer mes préférences" in page.text
    assert "Se désinscrire de tous les e-mails" in page.text


def test_one_click_post_rfc8058(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)

    response = client.post(
        links["unsubscribe"],
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert "location" not in response.headers
    assert screen(client, tenant, [ADDRESS])["removed"] == [
        {"position": 0, "reason": "unsubscribe"}
    ]
    again = client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert len(session.exec(select(SuppressionEntry)).all()) == 1


def test_unsubscribe_get_changes_nothing(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)

    page = client.get(links["unsubscribe"])

    assert page.status_code == 200
    assert "Unsubscribe from all emails" in page.text
    assert screen(client, tenant, [ADDRESS])["kept_count"] == 1


def test_screen_removes_and_counts(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")

    result = screen(
        client, tenant, ["carol@example.org", " BOB@Example.ORG ", "nonsense", "carol@example.org"]
    )

    assert result["kept"] == ["carol@example.org"]
    assert sorted(result["removed"], key=lambda item: item["position"]) == [
        {"position": 1, "reason": "unsubscribe"},
        {"position": 2, "reason": "invalid_syntax"},
        {"position": 3, "reason": "duplicate"},
    ]
    assert result["counts"] == {"kept": 1, "unsubscribe": 1, "invalid_syntax": 1, "duplicate": 1}
    assert "bob" not in str(result["removed"]).lower()


def test_screen_is_scoped_to_sender(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    other = make_tenant(client.app, "Autre SARL")  # type: ignore[arg-type]

    result = screen(client, other, [ADDRESS])

    assert result["kept"] == [ADDRESS]


def test_screen_needs_sender_role(client: TestClient, tenant: Tenant) -> None:
    no_key = client.post("/v1/screen", json={"recipients": []})
    dpo = client.post("/v1/screen", json={"recipients": []}, headers=tenant.auth("dpo"))
    forged = client.post(
        "/v1/screen",
        json={"recipients": []},
        headers={"Authorization": "Bearer sg_000000000000_forged"},
    )

    assert no_key.status_code == 401
    assert dpo.status_code == 403
    assert forged.status_code == 401


def test_expired_link_is_410(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    deliver(client)
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        contact = session.exec(select(Contact)).one()
    tokens = client.app.state.services.tokens  # type: ignore[attr-defined]
    expired = tokens.issue(
        TokenPurpose.PREFERENCES, contact.id, tenant.sender_id, timedelta(seconds=-5)
    )

    response = client.get(f"/p/{expired}", headers={"Accept-Language": "en"})

    assert response.status_code == 410
    assert "expired" in response.text


def test_token_for_other_purpose_rejected(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)
    token = links["preferences"].removeprefix("/p/")

    response = client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click")

    assert response.status_code == 404
    assert screen(client, tenant, [ADDRESS])["kept_count"] == 1


def test_revoked_key_rejected_at_once(client: TestClient, tenant: Tenant) -> None:
    created = client.post("/v1/keys", json={"role": "sender"}, headers=tenant.auth("admin"))
    assert created.status_code == 201
    key = created.json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/screen", json={"recipients": []}, headers=headers).status_code == 200

    revoked = client.delete(f"/v1/keys/{created.json()['id']}", headers=tenant.auth("admin"))

    assert revoked.status_code == 200
    assert client.post("/v1/screen", json={"recipients": []}, headers=headers).status_code == 401


def test_one_click_multipart_body(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)

    response = client.post(links["unsubscribe"], files={"List-Unsubscribe": (None, "One-Click")})

    assert response.status_code == 200
    assert response.text == ""
    assert screen(client, tenant, [ADDRESS])["removed"] == [
        {"position": 0, "reason": "unsubscribe"}
    ]


def test_preference_result_survives_language_switch(client: TestClient, tenant: Tenant) -> None:
    links = confirmed_subscriber(client, tenant)

    page = client.get(links["preferences"])
    posted = client.post(
        links["preferences"] + "/unsubscribe",
        data={"csrf": csrf_field(page.text)},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    target = posted.headers["location"]
    switched = client.get(target.replace("lang=en", "lang=fr"))

    assert switched.status_code == 200
    assert "Vous êtes désinscrit de tous les e-mails" in switched.text


def test_admin_cannot_revoke_own_key(client: TestClient, tenant: Tenant) -> None:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        from compliance.core.tenants import find_active_key

        own = find_active_key(session, tenant.admin_key)
        assert own is not None
        own_id = own.id

    response = client.delete(f"/v1/keys/{own_id}", headers=tenant.auth("admin"))

    assert response.status_code == 409
    assert (
        client.post("/v1/keys", json={"role": "dpo"}, headers=tenant.auth("admin")).status_code
        == 201
    )


def test_rate_limit_sends_retry_after(settings: object, tmp_path: object) -> None:
    from compliance.app import create_app
    from compliance.core.settings import Settings

    assert isinstance(settings, Settings)
    limited = settings.model_copy(update={"subscribe_rate_per_minute": 2})
    with TestClient(create_app(limited, run_worker=False, configure_logs=False)) as limited_client:
        tenant = make_tenant(limited_client.app)  # type: ignore[arg-type]
        statuses = [
            limited_client.post(
                "/v1/subscribe", json=signup(tenant.form_id, f"r{number}@example.org")
            ).status_code
            for number in range(3)
        ]
        blocked = limited_client.post(
            "/v1/subscribe", json=signup(tenant.form_id, "r9@example.org")
        )

    assert statuses == [202, 202, 429]
    assert blocked.headers["retry-after"] == "60"
    assert blocked.json()["retry_after_seconds"] == 60
