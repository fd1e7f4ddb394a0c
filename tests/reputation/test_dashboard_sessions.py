"""Dashboard session limits on the server: sign-out, idle and absolute expiry (ASVS 3.3)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.models import utcnow
from compliance.core.tenants import find_active_key
from compliance.core.tokens import TokenPurpose
from compliance.reputation import dashboard
from compliance.reputation.models import DashboardSessionRevocation
from tests.api.conftest import Tenant, csrf_field
from tests.reputation.test_dashboard_pages import login, owner, session_cookie, web

__all__ = ["owner", "web"]


def cookie_value(response_cookie: str) -> str:
    return response_cookie.split(";", 1)[0].split("=", 1)[1]


def sign_out(web: TestClient) -> None:
    page = web.get("/dashboard?lang=en")
    assert page.status_code == 200, page.text
    response = web.post(
        "/dashboard/logout?lang=en", data={"csrf": csrf_field(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303


def show(web: TestClient, token: str) -> int:
    """Return the status of the dashboard for a request that carries only ``token``."""
    return web.get(
        "/dashboard", headers={"Cookie": f"{dashboard.COOKIE}={token}"}, follow_redirects=False
    ).status_code


def token_for(
    web: TestClient, owner: Tenant, *, signed_in_ago: timedelta, lifetime: timedelta
) -> str:
    """Sign a session token for the owner's sender key, as the server would after a renewal."""
    app: FastAPI = web.app  # type: ignore[assignment]
    with Session(app.state.engine) as session:
        key = find_active_key(session, owner.sender_key)
        assert key is not None
        key_id = key.id
    issued = app.state.services.tokens.issue_token(
        TokenPurpose.DASHBOARD_SESSION,
        key_id,
        owner.sender_id,
        lifetime,
        token_id="session-under-test",
        auth_time=utcnow() - signed_in_ago,
    )
    return str(issued.token)


def test_copied_cookie_stops_working_after_sign_out(web: TestClient, owner: Tenant) -> None:
    signed_in = login(web, owner.sender_key)
    copied = cookie_value(session_cookie(signed_in))
    assert show(web, copied) == 200

    sign_out(web)

    # The copy was never cleared from its browser: only the server can end it.
    assert show(web, copied) == 303


def test_sign_out_ends_only_that_session(web: TestClient, owner: Tenant) -> None:
    first = cookie_value(session_cookie(login(web, owner.sender_key)))
    web.cookies.clear()
    second = cookie_value(session_cookie(login(web, owner.sender_key)))

    sign_out(web)

    assert show(web, second) == 303
    assert show(web, first) == 200


def test_each_sign_in_gets_a_new_session_id(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    tokens = app.state.services.tokens
    first = cookie_value(session_cookie(login(web, owner.sender_key)))
    second = cookie_value(session_cookie(login(web, owner.sender_key)))

    first_id = tokens.verify(first, TokenPurpose.DASHBOARD_SESSION).token_id
    second_id = tokens.verify(second, TokenPurpose.DASHBOARD_SESSION).token_id

    assert first_id != second_id


def test_page_renews_session_and_keeps_its_id(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    tokens = app.state.services.tokens
    signed_in = cookie_value(session_cookie(login(web, owner.sender_key)))

    page = web.get("/dashboard?lang=en")
    renewed = cookie_value(session_cookie(page))

    before = tokens.verify(signed_in, TokenPurpose.DASHBOARD_SESSION)
    after = tokens.verify(renewed, TokenPurpose.DASHBOARD_SESSION)
    assert after.token_id == before.token_id
    assert after.auth_time == before.auth_time
    assert after.expires_at >= before.expires_at


def test_idle_session_expires(web: TestClient, owner: Tenant) -> None:
    idle = token_for(web, owner, signed_in_ago=timedelta(hours=1), lifetime=timedelta(seconds=-1))
    fresh = token_for(web, owner, signed_in_ago=timedelta(hours=1), lifetime=timedelta(minutes=5))

    assert show(web, idle) == 303
    assert show(web, fresh) == 200


def test_session_ends_twelve_hours_after_sign_in(web: TestClient, owner: Tenant) -> None:
    # A token renewed just before the limit must not carry the session past it.
    stale = token_for(
        web, owner, signed_in_ago=timedelta(hours=12, seconds=1), lifetime=timedelta(minutes=5)
    )
    within = token_for(
        web, owner, signed_in_ago=timedelta(hours=11, minutes=59), lifetime=timedelta(minutes=5)
    )

    assert show(web, stale) == 303
    assert show(web, within) == 200


def test_renewal_never_passes_absolute_end(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    near_end = token_for(
        web, owner, signed_in_ago=timedelta(hours=11, minutes=50), lifetime=timedelta(minutes=5)
    )
    page = web.get("/dashboard", headers={"Cookie": f"{dashboard.COOKIE}={near_end}"})
    assert page.status_code == 200

    renewed = app.state.services.tokens.verify(
        cookie_value(session_cookie(page)), TokenPurpose.DASHBOARD_SESSION
    )
    assert renewed.auth_time is not None
    assert renewed.expires_at <= renewed.auth_time + dashboard.SESSION_LIFETIME


def test_token_without_sign_in_time_rejected(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    with Session(app.state.engine) as session:
        key = find_active_key(session, owner.sender_key)
        assert key is not None
        key_id = key.id
    legacy = app.state.services.tokens.issue(
        TokenPurpose.DASHBOARD_SESSION, key_id, owner.sender_id, timedelta(minutes=5)
    )

    assert show(web, legacy) == 303


def test_purge_keeps_records_of_live_sessions(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    login(web, owner.sender_key)
    sign_out(web)
    login(web, owner.sender_key)
    sign_out(web)

    assert dashboard.purge_ended_revocations(app.state.engine) == 0
    later = utcnow() + dashboard.SESSION_LIFETIME + timedelta(seconds=1)
    assert dashboard.purge_ended_revocations(app.state.engine, later) == 2
    with Session(app.state.engine) as session:
        assert session.exec(select(DashboardSessionRevocation)).all() == []
