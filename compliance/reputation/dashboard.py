"""The sender's dashboard (``/dashboard``): reputation, charts, pre-send reports and open DSRs.

A person signs in by pasting an API key of role ``sender`` or ``admin``.
Keys of role ``dpo`` are rejected: the page shows campaign statistics and
pre-send reports, which the API gives to sender and admin keys only, and a
DPO follows requests through ``/v1/dsr``. The session is a signed token in
a cookie (HttpOnly, SameSite=Strict, Path=/dashboard, Secure when the
public URL is https) whose subject is the key's id. Every request reads the
key row again, so a revoked key closes its sessions at once.

Session limits follow OWASP ASVS 4.0.3 level 2 (3.3.1 to 3.3.4). A token
lasts 30 minutes and each authenticated page renews it, up to 12 hours after
sign-in (the ``auth_time`` claim). Each sign-in is also a row on the server
(compliance.reputation.dashboard_sessions). Sign-out ends that row, and the
page lists the key's sessions so that any of them can be ended. A copy of
the cookie then stops working at once.

The pages run no script and load nothing: styles are inline and the charts
are inline SVG drawn on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from compliance.checks.report_html import render_html
from compliance.core.client_address import client_address
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.i18n import N_, gettext_context, negotiate_locale, translate
from compliance.core.models import ApiKey, Role, utcnow
from compliance.core.request_body import PageForm
from compliance.core.tenants import find_active_key
from compliance.core.tokens import TokenError, TokenPurpose
from compliance.presend.reports import latest_report, report_from_dict
from compliance.reputation.dashboard_sessions import (
    SESSION_LIFETIME,
    end_sessions,
    live_session,
    sessions_of_key,
    start_session,
)
from compliance.reputation.dashboard_view import page_values, session_rows
from compliance.reputation.service import dashboard_data

log = structlog.get_logger(__name__)

router = APIRouter(tags=["dashboard"], include_in_schema=False)

# TODO: the cookie has no __Host- prefix (ASVS 3.4.4), which would need Path=/.
COOKIE = "sg_dashboard"
COOKIE_PATH = "/dashboard"
# Idle limit of a session (ASVS 4.0.3 3.3.2 at level 2). SESSION_LIFETIME is
# the absolute limit.
SESSION_IDLE = timedelta(minutes=30)
DASHBOARD_ROLES = frozenset({Role.SENDER, Role.ADMIN})
# Issued keys have 59 characters, so a longer value is not hashed or looked up.
MAX_KEY_LENGTH = 200

# Sign-in attempts per client address, counted by services.login_limiter.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 300

# Authenticated pages: never cached or indexed, and framed by no other site.
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src "
    "'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

WRONG_KEY = N_(
    "This API key is not valid: it is unknown, mistyped or revoked. Paste the whole key, "
    "or ask an admin for a new one."
)
WRONG_ROLE = N_("This key has role %(role)s; the dashboard needs a key with role sender or admin.")
SESSIONS_WRONG_KEY = N_("No session was ended: paste the API key that this session signed in with.")
TOO_MANY_ATTEMPTS = N_("Too many sign-in attempts from this address; wait 5 minutes and try again.")


@dataclass(frozen=True)
class DashboardUser:
    key_id: str
    sender_id: str
    # The session id and its sign-in time, kept by every renewal of the token.
    session_id: str
    auth_time: datetime


def dashboard_locale(request: Request, services: Services) -> str:
    chosen = request.query_params.get("lang")
    if chosen in ("fr", "en"):
        return chosen
    return negotiate_locale(
        request.headers.get("accept-language"), services.settings.default_locale
    )


def _render(
    request: Request,
    services: Services,
    template: str,
    lang: str,
    values: Mapping[str, object],
    *,
    status: int = 200,
    with_form: bool = False,
) -> HTMLResponse:
    """Render a page. ``with_form`` adds the CSRF field and sets its cookie."""
    context = dict(values)
    cookie = ""
    if with_form:
        cookie, context["csrf"] = services.csrf.issue(request)
    html = services.jinja.get_template(template).render(
        request_path=request.url.path, **context, **gettext_context(lang)
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    if with_form:
        services.csrf.set_cookie(response, cookie)
    return response


def _to_login(services: Services, lang: str | None) -> RedirectResponse:
    target = "/dashboard/login" + (f"?lang={lang}" if lang else "")
    response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
    # The same attributes as the session cookie it replaces.
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )
    return response


def _explicit_lang(request: Request) -> str | None:
    chosen = request.query_params.get("lang")
    return chosen if chosen in ("fr", "en") else None


def current_user(request: Request, session: DbSession, services: Services) -> DashboardUser | None:
    """Return the signed-in key, or None when the session is missing, expired or ended.

    A session ends when its token expires (idle), 12 hours after sign-in,
    at sign-out, or when its API key is revoked.
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        claims = services.tokens.verify(token, TokenPurpose.DASHBOARD_SESSION)
    except TokenError:
        return None
    if claims.auth_time is None or utcnow() >= claims.auth_time + SESSION_LIFETIME:
        return None

    # Read the key and the session on every request: a revocation, a
    # sign-out or a session ended from another browser takes effect at once.
    row = session.get(ApiKey, claims.subject_id)
    if row is None or row.revoked_at is not None or row.sender_id != claims.sender_id:
        return None
    if Role(row.role) not in DASHBOARD_ROLES:
        return None
    if live_session(session, claims.token_id, row.id) is None:
        return None
    return DashboardUser(
        key_id=row.id,
        sender_id=row.sender_id,
        session_id=claims.token_id,
        auth_time=claims.auth_time,
    )


def _set_session_cookie(
    response: Response,
    services: Services,
    key: ApiKey | DashboardUser,
    session_id: str,
    since: datetime,
) -> None:
    """Sign a session token valid for the idle limit, never past the absolute limit, and set it."""
    ends = since + SESSION_LIFETIME
    lifetime = min(SESSION_IDLE, ends - utcnow())
    sender_id = key.sender_id
    key_id = key.id if isinstance(key, ApiKey) else key.key_id
    issued = services.tokens.issue_token(
        TokenPurpose.DASHBOARD_SESSION,
        key_id,
        sender_id,
        lifetime,
        token_id=session_id,
        auth_time=since,
    )
    response.set_cookie(
        COOKIE,
        issued.token,
        max_age=max(1, int(lifetime.total_seconds())),
        path=COOKIE_PATH,
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


def _renewed(response: Response, services: Services, user: DashboardUser) -> Response:
    """Renew the session on an authenticated page, so that only idleness ends it early."""
    _set_session_cookie(response, services, user, user.session_id, user.auth_time)
    return response


def _login_page(
    request: Request, services: Services, lang: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    return _render(
        request,
        services,
        "dashboard/login.html",
        lang,
        {"error": error},
        status=status,
        with_form=True,
    )


@router.get("/dashboard/login")
def login_page(request: Request, services: AppServices) -> Response:
    return _login_page(request, services, dashboard_locale(request, services))


@router.post("/dashboard/login")
def login(request: Request, form: PageForm, session: DbSession, services: AppServices) -> Response:
    """Check the pasted API key, then set the session cookie and go to the dashboard."""
    lang = dashboard_locale(request, services)
    if not services.csrf.check(request, form.get("csrf")):
        log.info("dashboard.login_rejected", reason="csrf")
        return _render(request, services, "pages/csrf_failed.html", lang, {}, status=403)

    if not services.login_limiter.allow(client_address(request)):
        log.warning("dashboard.login_rate_limited")
        limited = _login_page(request, services, lang, 429, translate(lang, TOO_MANY_ATTEMPTS))
        limited.headers["Retry-After"] = str(LOGIN_WINDOW_SECONDS)
        return limited

    presented = form.get("api_key")
    key = presented.strip() if isinstance(presented, str) else ""
    # find_active_key hashes the key even when its prefix is unknown, and
    # both cases get the same message, so the page reveals no prefix.
    row = find_active_key(session, key) if key and len(key) <= MAX_KEY_LENGTH else None
    if row is None:
        log.info("dashboard.login_rejected", reason="invalid_key")
        return _login_page(request, services, lang, 401, translate(lang, WRONG_KEY))
    role = Role(row.role)
    if role not in DASHBOARD_ROLES:
        log.info("dashboard.login_rejected", reason="role", key_id=row.id)
        return _login_page(request, services, lang, 403, translate(lang, WRONG_ROLE, role=role))

    user_agent = request.headers.get("user-agent", "")
    started = start_session(session, row.sender_id, row.id, user_agent)
    log.info("dashboard.login", sender_id=row.sender_id, key_id=row.id)
    response = RedirectResponse(f"/dashboard?lang={lang}", status_code=303, headers=PAGE_HEADERS)
    _set_session_cookie(response, services, row, started.session_id, started.created_at)
    return response


@router.post("/dashboard/logout")
def logout(request: Request, form: PageForm, session: DbSession, services: AppServices) -> Response:
    """End the session on the server, then clear its cookie.

    The row stays, marked ended, until the session's absolute end, so a
    copy of the cookie, in another tab or elsewhere, stops working too.
    """
    lang = dashboard_locale(request, services)
    if not services.csrf.check(request, form.get("csrf")):
        log.info("dashboard.logout_rejected", reason="csrf")
        return _render(request, services, "pages/csrf_failed.html", lang, {}, status=403)

    user = current_user(request, session, services)
    if user is not None:
        end_sessions(session, user.sender_id, user.key_id, [user.session_id])
        log.info("dashboard.logout", sender_id=user.sender_id, key_id=user.key_id)
    return _to_login(services, lang)


@router.post("/dashboard/sessions/end")
def end_sessions_page(
    request: Request, form: PageForm, session: DbSession, services: AppServices
) -> Response:
    """End one session of the signed-in key, or all its others, once the key is pasted again.

    Asking for the key again follows ASVS 4.0.3 3.3.4: a stolen cookie alone
    must not be able to end the sessions of the key's holder.
    """
    lang = dashboard_locale(request, services)
    if not services.csrf.check(request, form.get("csrf")):
        log.info("dashboard.sessions_end_rejected", reason="csrf")
        return _render(request, services, "pages/csrf_failed.html", lang, {}, status=403)
    user = current_user(request, session, services)
    if user is None:
        return _to_login(services, lang)

    if not services.login_limiter.allow(client_address(request)):
        log.warning("dashboard.sessions_end_rate_limited", sender_id=user.sender_id)
        return _dashboard(request, session, services, user, lang, 429, error=TOO_MANY_ATTEMPTS)
    presented = form.get("api_key")
    key = presented.strip() if isinstance(presented, str) else ""
    row = find_active_key(session, key) if key and len(key) <= MAX_KEY_LENGTH else None
    if row is None or row.id != user.key_id:
        log.info("dashboard.sessions_end_rejected", reason="key", sender_id=user.sender_id)
        return _dashboard(request, session, services, user, lang, 401, error=SESSIONS_WRONG_KEY)

    chosen = form.get("session")
    if chosen == "others":
        targets = [
            live.session_id
            for live in sessions_of_key(session, user.sender_id, user.key_id)
            if live.session_id != user.session_id
        ]
    else:
        targets = [chosen] if isinstance(chosen, str) and chosen else []
    ended = end_sessions(session, user.sender_id, user.key_id, targets)
    log.info("dashboard.sessions_ended", sender_id=user.sender_id, key_id=user.key_id, count=ended)
    if user.session_id in targets:
        return _to_login(services, lang)
    return RedirectResponse(
        f"/dashboard?lang={lang}&ended={ended}#sessions", status_code=303, headers=PAGE_HEADERS
    )


@router.get("/dashboard")
def dashboard_page(request: Request, session: DbSession, services: AppServices) -> Response:
    """Show the signed-in sender's dashboard, or redirect to the sign-in page without a session."""
    user = current_user(request, session, services)
    if user is None:
        return _to_login(services, _explicit_lang(request))

    lang = dashboard_locale(request, services)
    ended = request.query_params.get("ended", "")
    count = int(ended) if ended.isdigit() and len(ended) <= 4 else None
    return _dashboard(request, session, services, user, lang, 200, ended_count=count)


def _dashboard(
    request: Request,
    session: DbSession,
    services: Services,
    user: DashboardUser,
    lang: str,
    status: int,
    *,
    error: str | None = None,
    ended_count: int | None = None,
) -> Response:
    """Render the dashboard page for ``user``, with an error or a notice about ended sessions."""
    # GET requests get a session on the read-only engine (compliance.core.db).
    data = dashboard_data(session, services, user.sender_id)
    values = page_values(lang, data)
    live = sessions_of_key(session, user.sender_id, user.key_id)
    values["sessions"] = session_rows(lang, live, user.session_id)
    values["sessions_error"] = translate(lang, error) if error else None
    values["sessions_ended"] = ended_count
    page = _render(
        request, services, "dashboard/page.html", lang, values, status=status, with_form=True
    )
    return _renewed(page, services, user)


@router.get("/dashboard/campaigns/{campaign_id}/report")
def campaign_report_page(
    campaign_id: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    """Show the latest stored pre-send report of one of the sender's campaigns.

    :raises NotFound: when the campaign is another sender's or has no report.
    """
    user = current_user(request, session, services)
    if user is None:
        return _to_login(services, _explicit_lang(request))
    lang = dashboard_locale(request, services)
    row = latest_report(session, user.sender_id, campaign_id)
    html = render_html(report_from_dict(row.report), lang)
    return _renewed(HTMLResponse(html, headers=PAGE_HEADERS), services, user)
