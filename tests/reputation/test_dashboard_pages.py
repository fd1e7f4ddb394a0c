"""The sender's dashboard through the real app: sign-in, session cookie, revocation, pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from compliance.app import create_app
from compliance.core.i18n import translate
from compliance.core.ratelimit import MemoryRateLimiter
from compliance.core.settings import Settings
from compliance.reputation import dashboard
from compliance.reputation.dashboard_view import GRADE_STYLES
from tests.api.conftest import Tenant, csrf_field, make_tenant

if TYPE_CHECKING:
    # The response type of Starlette's TestClient, whichever httpx package it uses.
    from httpx2 import Response

SCRIPT_NAME = "<script>alert('soldes')</script> Soldes d'hiver"
NEWSLETTER = (
    "<html><body><p>Bonjour, voici nos nouveautés de la semaine.</p>"
    '<p><a href="https://news.example.com/u">Se désinscrire</a></p>'
    "<p>Exemple SAS, 12 rue de la Paix, 75002 Paris</p></body></html>"
)


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings, run_worker=False, configure_logs=False)
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/dashboard" not in paths:
        # Until the app factory includes the router.
        app.include_router(dashboard.router)
    return app


def set_login_limit(web: TestClient, attempts: int) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    app.state.services = replace(
        app.state.services, login_limiter=MemoryRateLimiter(attempts, 60.0)
    )


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        build_app(settings), base_url="https://sendguard.test", raise_server_exceptions=False
    ) as test_client:
        # Tests sign in more often than the production limit allows.
        set_login_limit(test_client, 100)
        yield test_client


@pytest.fixture
def owner(web: TestClient) -> Tenant:
    return make_tenant(web.app, "Librairie Exemple")  # type: ignore[arg-type]


def login(client: TestClient, key: str, lang: str = "en") -> Response:
    page = client.get(f"/dashboard/login?lang={lang}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/dashboard/login?lang={lang}",
        data={"csrf": csrf_field(page.text), "api_key": key},
        follow_redirects=False,
    )


def session_cookie(response: Response) -> str:
    headers = [
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(f"{dashboard.COOKIE}=")
    ]
    assert len(headers) == 1, response.headers
    return headers[0]


def alert_text(html: str) -> str:
    match = re.search(r'<p class="warning" role="alert">(.*?)</p>', html, re.S)
    assert match is not None, "the page shows no error"
    return match.group(1)


def new_list(client: TestClient, tenant: Tenant) -> str:
    created = client.post("/v1/lists", json={"name": "Lecteurs"}, headers=tenant.auth("sender"))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def send_campaign(client: TestClient, tenant: Tenant, name: str, **counts: int) -> str:
    """Create a campaign and record its send now, with its delivery counts."""
    sender = tenant.auth("sender")
    created = client.post(
        "/v1/campaigns", json={"name": name, "list_ids": [new_list(client, tenant)]}, headers=sender
    )
    assert created.status_code == 201, created.text
    campaign_id = str(created.json()["id"])
    marked = client.post(
        f"/v1/campaigns/{campaign_id}/sent", json={"counts": counts}, headers=sender
    )
    assert marked.status_code == 200, marked.text
    return campaign_id


def store_report(client: TestClient, tenant: Tenant, campaign_id: str) -> dict[str, Any]:
    checked = client.post(
        "/v1/checks",
        json={
            "from_domain": "news.example.com",
            "html": NEWSLETTER,
            "headers": {"Subject": "Nos nouveautés", "From": "Librairie <news@news.example.com>"},
            "skip_dns": True,
            "campaign_id": campaign_id,
        },
        headers=tenant.auth("sender"),
    )
    assert checked.status_code == 200, checked.text
    result: dict[str, Any] = checked.json()
    return result


def open_request(client: TestClient, tenant: Tenant, days_ago: int) -> str:
    received = datetime.now(UTC) - timedelta(days=days_ago)
    created = client.post(
        "/v1/dsr",
        json={
            "type": "access",
            "email": f"lecteur{days_ago}@example.net",
            "received_at": received.isoformat(),
            "notify_subject": False,
            "send_code": False,
        },
        headers=tenant.auth("dpo"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def fill_history(client: TestClient, tenant: Tenant) -> list[str]:
    """Send three campaigns, one of them named with a script tag, and store one report."""
    ids = [
        send_campaign(client, tenant, "Rentrée", sent=8000, hard_bounces=30, opens=2400),
        send_campaign(
            client, tenant, SCRIPT_NAME, sent=9000, hard_bounces=20, complaints=4, opens=2500
        ),
        send_campaign(
            client, tenant, "Noël", sent=10_000, hard_bounces=10, unsubscribes=40, opens=3100
        ),
    ]
    store_report(client, tenant, ids[1])
    return ids


def reputation_api(client: TestClient, tenant: Tenant, lang: str) -> Any:
    response = client.get(
        "/v1/reputation", headers={**tenant.auth("sender"), "Accept-Language": lang}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_login_sets_session_cookie(web: TestClient, owner: Tenant) -> None:
    response = login(web, owner.sender_key)

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard?lang=en"
    cookie = session_cookie(response).lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    assert "path=/dashboard" in cookie
    # The idle limit: each authenticated page renews it (ASVS 3.3.2).
    assert "max-age=1800" in cookie


def test_cookie_not_secure_over_http(settings: Settings) -> None:
    plain = settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    with TestClient(build_app(plain), base_url="http://127.0.0.1:8000") as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        response = login(client, tenant.sender_key)

    assert response.status_code == 303, response.text
    assert "secure" not in session_cookie(response).lower()


def test_admin_key_signs_in(web: TestClient, owner: Tenant) -> None:
    response = login(web, owner.admin_key)

    assert response.status_code == 303, response.text
    assert web.get("/dashboard", follow_redirects=False).status_code == 200


def test_dpo_key_rejected(web: TestClient, owner: Tenant) -> None:
    response = login(web, owner.dpo_key)

    assert response.status_code == 403
    assert alert_text(response.text) == translate("en", dashboard.WRONG_ROLE, role="dpo")
    assert dashboard.COOKIE not in response.headers.get("set-cookie", "")


def test_wrong_key_same_message(web: TestClient, owner: Tenant) -> None:
    _, prefix, secret = owner.sender_key.split("_", 2)
    unknown_prefix = login(web, f"sg_{'0' * 12}_{secret}")
    wrong_secret = login(web, f"sg_{prefix}_{'A' * len(secret)}")
    garbage = login(web, "not a key")

    expected = translate("en", dashboard.WRONG_KEY)
    for response in (unknown_prefix, wrong_secret, garbage):
        assert response.status_code == 401
        assert alert_text(response.text) == expected
        assert dashboard.COOKIE not in response.headers.get("set-cookie", "")
    assert unknown_prefix.text == wrong_secret.text.replace(
        csrf_field(wrong_secret.text), csrf_field(unknown_prefix.text)
    )


def test_revoked_key_ends_session(web: TestClient, owner: Tenant) -> None:
    created = web.post("/v1/keys", json={"role": "sender"}, headers=owner.auth("admin"))
    assert created.status_code == 201, created.text
    assert login(web, created.json()["key"]).status_code == 303
    assert web.get("/dashboard", follow_redirects=False).status_code == 200

    revoked = web.delete(f"/v1/keys/{created.json()['id']}", headers=owner.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    after = web.get("/dashboard", follow_redirects=False)

    assert after.status_code == 303
    assert after.headers["location"] == "/dashboard/login"


def test_no_session_redirects(web: TestClient) -> None:
    response = web.get("/dashboard?lang=fr", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?lang=fr"


def test_forged_cookie_redirects(web: TestClient, owner: Tenant) -> None:
    assert login(web, owner.sender_key).status_code == 303
    token = web.cookies.get(dashboard.COOKIE, path="/dashboard")
    assert token
    web.cookies.clear()

    # The last characters of the token are its signature.
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = web.get(
        "/dashboard", headers={"Cookie": f"{dashboard.COOKIE}={forged}"}, follow_redirects=False
    )
    genuine = web.get(
        "/dashboard", headers={"Cookie": f"{dashboard.COOKIE}={token}"}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"
    assert genuine.status_code == 200


def test_login_without_csrf_rejected(web: TestClient, owner: Tenant) -> None:
    web.get("/dashboard/login")

    response = web.post(
        "/dashboard/login", data={"api_key": owner.sender_key}, follow_redirects=False
    )

    assert response.status_code == 403
    assert dashboard.COOKIE not in response.headers.get("set-cookie", "")


def test_logout_without_csrf_rejected(web: TestClient, owner: Tenant) -> None:
    assert login(web, owner.sender_key).status_code == 303

    response = web.post("/dashboard/logout", data={}, follow_redirects=False)

    assert response.status_code == 403
    assert web.get("/dashboard", follow_redirects=False).status_code == 200


def test_logout_clears_cookie(web: TestClient, owner: Tenant) -> None:
    assert login(web, owner.sender_key).status_code == 303
    page = web.get("/dashboard?lang=en")
    assert page.status_code == 200

    response = web.post(
        "/dashboard/logout?lang=en", data={"csrf": csrf_field(page.text)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?lang=en"
    cleared = session_cookie(response).lower()
    assert "max-age=0" in cleared
    assert "path=/dashboard" in cleared
    assert web.get("/dashboard", follow_redirects=False).status_code == 303


def test_login_rate_limited(web: TestClient, owner: Tenant) -> None:
    set_login_limit(web, 2)

    statuses = [login(web, "sg_wrong").status_code for _ in range(2)]
    limited = login(web, owner.sender_key)

    assert statuses == [401, 401]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "300"
    assert alert_text(limited.text) == translate("en", dashboard.TOO_MANY_ATTEMPTS)


def test_login_page_follows_accept_language(web: TestClient) -> None:
    french = web.get("/dashboard/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    english = web.get("/dashboard/login", headers={"Accept-Language": "en-GB"})
    chosen = web.get("/dashboard/login?lang=en", headers={"Accept-Language": "fr-FR"})

    assert '<html lang="fr">' in french.text
    assert translate("fr", "Sign in to the dashboard") in french.text
    assert '<html lang="en">' in english.text
    assert '<html lang="en">' in chosen.text


def test_other_sender_report_not_found(web: TestClient, owner: Tenant) -> None:
    campaign_id = send_campaign(web, owner, "Rentrée", sent=1000)
    store_report(web, owner, campaign_id)
    other = make_tenant(web.app, "Autre SARL")  # type: ignore[arg-type]

    assert login(web, other.sender_key).status_code == 303
    foreign = web.get(f"/dashboard/campaigns/{campaign_id}/report")
    assert login(web, owner.sender_key).status_code == 303
    own = web.get(f"/dashboard/campaigns/{campaign_id}/report?lang=fr")

    assert foreign.status_code == 404
    assert own.status_code == 200
    assert "news.example.com" in own.text
    assert '<html lang="fr">' in own.text
    assert own.headers["cache-control"] == "no-store"


def test_report_needs_session(web: TestClient, owner: Tenant) -> None:
    campaign_id = send_campaign(web, owner, "Rentrée", sent=1000)
    store_report(web, owner, campaign_id)

    response = web.get(f"/dashboard/campaigns/{campaign_id}/report", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_page_shows_grade_and_factors(web: TestClient, owner: Tenant, lang: str) -> None:
    fill_history(web, owner)
    expected = reputation_api(web, owner, lang)
    assert login(web, owner.sender_key, lang).status_code == 303

    page = web.get(f"/dashboard?lang={lang}")

    assert page.status_code == 200, page.text
    html = page.text
    assert f'<html lang="{lang}">' in html
    assert translate(lang, "Dashboard of %(sender)s", sender="Librairie Exemple") in html
    grade = expected["grade"]
    assert f'<span class="value">{grade}</span>' in html
    assert translate(lang, GRADE_STYLES[grade][1]) in html
    rows = re.findall(r'<tr data-factor="([a-z_]+)">', html)
    assert rows == [item["key"] for item in expected["factors"]]
    for item in expected["factors"]:
        assert str(escape(item["message"])) in html
    assert html.count('class="point"') == 3 * 4
    assert translate(lang, "What to fix first") in html
    assert translate(lang, "Open the report") in html


def test_page_escapes_campaign_names(web: TestClient, owner: Tenant) -> None:
    fill_history(web, owner)
    assert login(web, owner.sender_key).status_code == 303

    html = web.get("/dashboard?lang=en").text

    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;soldes&#39;)&lt;/script&gt;" in html
    charts = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(charts) == 4
    # In the SVG, quotes stay as they are in text nodes; the brackets are escaped.
    assert "&lt;script&gt;alert('soldes')&lt;/script&gt;" in charts[0]


def test_page_headers_and_no_script(web: TestClient, owner: Tenant) -> None:
    fill_history(web, owner)
    assert login(web, owner.sender_key).status_code == 303

    page = web.get("/dashboard")

    assert page.status_code == 200
    assert "<script" not in page.text.lower()
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


def test_page_empty_states(web: TestClient, owner: Tenant) -> None:
    assert login(web, owner.sender_key, "fr").status_code == 303

    html = web.get("/dashboard?lang=fr").text

    for msgid in (
        "No campaign sent yet",
        "No pre-send report yet. Run POST /v1/checks with a campaign_id to store one.",
        "No open request.",
    ):
        assert str(escape(translate("fr", msgid))) in html, msgid
    assert 'class="point"' not in html


def test_page_lists_open_requests(web: TestClient, owner: Tenant) -> None:
    open_request(web, owner, 0)
    open_request(web, owner, 45)
    assert login(web, owner.sender_key).status_code == 303

    html = web.get("/dashboard?lang=en").text

    assert html.count('<tr class="overdue">') == 1
    assert re.search(r"Overdue by \d+ days", html)
    assert re.search(r"\d+ days left", html)
    assert "lecteur0@example.net" not in html
