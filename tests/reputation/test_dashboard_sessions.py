"""Dashboard session limits on the server: sign-out, idle and absolute expiry (ASVS 3.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.models import utcnow
from compliance.core.tenants import find_active_key
from compliance.core.tokens import TokenPurpose
from compliance.reputation import dashboard
from compliance.reputation.dashboard_sessions import SESSION_LIFETIME, purge_ended_sessions
from compliance.reputation.models import DashboardSession
from tests.api.conftest import Tenant, csrf_field
from tests.reputation.test_dashboard_pages import login, owner, session_cookie, web

if TYPE_CHECKING:
    # The response type of Starlette's TestClient, whichever httpx package it uses.
    from httpx2 import Response

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
    """Record a sign-in ``signed_in_ago`` and sign its token, as a renewal would."""
    app: FastAPI = web.app  # type: ignore[assignment]
    signed_in = utcnow() - signed_in_ago
    with Session(app.state.engine) as session:
        key = find_active_key(session, owner.sender_key)
        assert key is not None
        key_id = key.id
        row = DashboardSession(
            session_id=f"session-{signed_in.timestamp()}",
            sender_id=owner.sender_id,
            key_id=key_id,
            created_at=signed_in,
            expires_at=signed_in + SESSION_LIFETIME,
        )
        session.add(row)
        session.commit()
        session_id = row.session_id
    issued = app.state.services.tokens.issue_token(
        TokenPurpose.DASHBOARD_SESSION,
        key_id,
        owner.sender_id,
        lifetime,
        token_id=session_id,
        auth_time=signed_in,
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
    assert renewed.expires_at <= renewed.auth_time + SESSION_LIFETIME


def resigned(web: TestClient, owner: Tenant, **claims: Any) -> tuple[str, str]:
    """Sign in, then sign a second token for the same key with other claims; return both."""
    app: FastAPI = web.app  # type: ignore[assignment]
    tokens = app.state.services.tokens
    genuine = cookie_value(session_cookie(login(web, owner.sender_key)))
    verified = tokens.verify(genuine, TokenPurpose.DASHBOARD_SESSION)
    other = tokens.issue_token(
        TokenPurpose.DASHBOARD_SESSION,
        verified.subject_id,
        owner.sender_id,
        timedelta(minutes=5),
        token_id=claims.pop("token_id", verified.token_id),
        **claims,
    ).token
    return genuine, str(other)


def test_token_without_sign_in_time_rejected(web: TestClient, owner: Tenant) -> None:
    genuine, legacy = resigned(web, owner)

    assert show(web, genuine) == 200
    assert show(web, legacy) == 303


def test_unknown_session_id_rejected(web: TestClient, owner: Tenant) -> None:
    # A validly signed token whose session was never recorded: no row, no session.
    _, unrecorded = resigned(web, owner, token_id="never-recorded", auth_time=utcnow())

    assert show(web, unrecorded) == 303


def test_purge_waits_for_absolute_end(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    login(web, owner.sender_key)
    sign_out(web)
    login(web, owner.sender_key)
    sign_out(web)

    # Ended sessions stay until their absolute end: a copied token could still come back.
    assert purge_ended_sessions(app.state.engine) == 0
    later = utcnow() + SESSION_LIFETIME + timedelta(seconds=1)
    assert purge_ended_sessions(app.state.engine, later) == 2
    with Session(app.state.engine) as session:
        assert session.exec(select(DashboardSession)).all() == []


def end_from_page(web: TestClient, choice: str, key: str) -> Response:
    page = web.get("/dashboard?lang=en")
    assert page.status_code == 200, page.text
    return web.post(
        "/dashboard/sessions/end?lang=en",
        data={"csrf": csrf_field(page.text), "session": choice, "api_key": key},
        follow_redirects=False,
    )


def test_page_lists_the_keys_sessions(web: TestClient, owner: Tenant) -> None:
    login(web, owner.sender_key)
    web.cookies.clear()
    login(web, owner.sender_key)

    page = web.get("/dashboard?lang=en")

    assert page.status_code == 200
    assert page.text.count('name="session" id="session-') == 3
    assert page.text.count("(this session)") == 1


def test_end_other_sessions_needs_the_key(web: TestClient, owner: Tenant) -> None:
    other = cookie_value(session_cookie(login(web, owner.sender_key)))
    web.cookies.clear()
    login(web, owner.sender_key)

    refused = end_from_page(web, "others", owner.admin_key)

    assert refused.status_code == 401
    assert "No session was ended" in refused.text
    assert show(web, other) == 200


def test_end_other_sessions(web: TestClient, owner: Tenant) -> None:
    other = cookie_value(session_cookie(login(web, owner.sender_key)))
    web.cookies.clear()
    login(web, owner.sender_key)

    ended = end_from_page(web, "others", owner.sender_key)

    assert ended.status_code == 303
    assert ended.headers["location"] == "/dashboard?lang=en&ended=1#sessions"
    assert "1 session ended." in web.get("/dashboard?lang=en&ended=1").text
    # Last, because the redirect of an ended session clears the client's cookie.
    assert show(web, other) == 303


def test_end_one_session_by_id(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    other = cookie_value(session_cookie(login(web, owner.sender_key)))
    other_id = app.state.services.tokens.verify(other, TokenPurpose.DASHBOARD_SESSION).token_id
    web.cookies.clear()
    login(web, owner.sender_key)

    assert end_from_page(web, other_id, owner.sender_key).status_code == 303

    assert show(web, other) == 303


def test_cannot_end_another_keys_session(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    admins = cookie_value(session_cookie(login(web, owner.admin_key)))
    admin_session = app.state.services.tokens.verify(admins, TokenPurpose.DASHBOARD_SESSION)
    web.cookies.clear()
    login(web, owner.sender_key)

    response = end_from_page(web, admin_session.token_id, owner.sender_key)

    assert response.headers["location"] == "/dashboard?lang=en&ended=0#sessions"
    assert show(web, admins) == 200


def test_ending_this_session_signs_out(web: TestClient, owner: Tenant) -> None:
    app: FastAPI = web.app  # type: ignore[assignment]
    mine = cookie_value(session_cookie(login(web, owner.sender_key)))
    mine_id = app.state.services.tokens.verify(mine, TokenPurpose.DASHBOARD_SESSION).token_id

    response = end_from_page(web, mine_id, owner.sender_key)

    assert response.headers["location"] == "/dashboard/login?lang=en"
    assert show(web, mine) == 303
