"""The sender's dashboard (``/dashboard``): reputation, charts, pre-send reports and open DSRs.

A person signs in by pasting an API key of role ``sender`` or ``admin``.
Keys of role ``dpo`` are rejected: the page shows campaign statistics and
pre-send reports, which the API gives to sender and admin keys only, and a
DPO follows requests through ``/v1/dsr``. The session is a signed token in
a cookie (HttpOnly, SameSite=Strict, Path=/dashboard, Secure when the
public URL is https) whose subject is the key's id. Every request reads the
key row again, so a revoked key closes its sessions at once.

The pages run no script and load nothing: styles are inline and the charts
are inline SVG drawn on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from compliance.checks.report_html import render_html
from compliance.core.client_address import client_address
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.i18n import N_, gettext_context, negotiate_locale, translate
from compliance.core.models import ApiKey, Role
from compliance.core.tenants import find_active_key
from compliance.core.tokens import TokenError, TokenPurpose
from compliance.presend.reports import latest_report, report_from_dict
from compliance.reputation.dashboard_view import page_values
from compliance.reputation.service import dashboard_data

log = structlog.get_logger(__name__)

router = APIRouter(tags=["dashboard"], include_in_schema=False)

COOKIE = "sg_dashboard"
COOKIE_PATH = "/dashboard"
SESSION_LIFETIME = timedelta(hours=12)
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
TOO_MANY_ATTEMPTS = N_("Too many sign-in attempts from this address; wait 5 minutes and try again.")


@dataclass(frozen=True)
class DashboardUser:
    key_id: str
    sender_id: str


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


def _to_login(lang: str | None) -> RedirectResponse:
    target = "/dashboard/login" + (f"?lang={lang}" if lang else "")
    response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _explicit_lang(request: Request) -> str | None:
    chosen = request.query_params.get("lang")
    return chosen if chosen in ("fr", "en") else None


def current_user(request: Request, session: DbSession, services: Services) -> DashboardUser | None:
    """Return the signed-in key, or None when the cookie is missing, invalid or its key revoked."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        claims = services.tokens.verify(token, TokenPurpose.DASHBOARD_SESSION)
    except TokenError:
        return None

    # Read the key on every request: a revocation ends the session at once.
    row = session.get(ApiKey, claims.subject_id)
    if row is None or row.revoked_at is not None or row.sender_id != claims.sender_id:
        return None
    if Role(row.role) not in DASHBOARD_ROLES:
        return None
    return DashboardUser(key_id=row.id, sender_id=row.sender_id)


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
async def login(request: Request, session: DbSession, services: AppServices) -> Response:
    """Check the pasted API key, then set the session cookie and go to the dashboard."""
    form = await request.form()
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

    token = services.tokens.issue(
        TokenPurpose.DASHBOARD_SESSION, row.id, row.sender_id, SESSION_LIFETIME
    )
    log.info("dashboard.login", sender_id=row.sender_id, key_id=row.id)
    response = RedirectResponse(f"/dashboard?lang={lang}", status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/dashboard/logout")
async def logout(request: Request, services: AppServices) -> Response:
    """Clear the session cookie.

    NOTE: the signed token stays valid until it expires if it was copied
    elsewhere; revoking the API key ends every session of that key.
    """
    form = await request.form()
    lang = dashboard_locale(request, services)
    if not services.csrf.check(request, form.get("csrf")):
        log.info("dashboard.logout_rejected", reason="csrf")
        return _render(request, services, "pages/csrf_failed.html", lang, {}, status=403)
    return _to_login(lang)


@router.get("/dashboard")
def dashboard_page(request: Request, session: DbSession, services: AppServices) -> Response:
    """Show the signed-in sender's dashboard, or redirect to the sign-in page without a session."""
    user = current_user(request, session, services)
    if user is None:
        return _to_login(_explicit_lang(request))

    lang = dashboard_locale(request, services)
    # GET requests get a session on the read-only engine (compliance.core.db).
    data = dashboard_data(session, services, user.sender_id)
    return _render(
        request, services, "dashboard/page.html", lang, page_values(lang, data), with_form=True
    )


@router.get("/dashboard/campaigns/{campaign_id}/report")
def campaign_report_page(
    campaign_id: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    """Show the latest stored pre-send report of one of the sender's campaigns.

    :raises NotFound: when the campaign is another sender's or has no report.
    """
    user = current_user(request, session, services)
    if user is None:
        return _to_login(_explicit_lang(request))
    lang = dashboard_locale(request, services)
    row = latest_report(session, user.sender_id, campaign_id)
    html = render_html(report_from_dict(row.report), lang)
    return HTMLResponse(html, headers=PAGE_HEADERS)
