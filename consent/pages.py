"""Subscriber pages: double opt-in (``/c``), preference center (``/p``), unsubscribe (``/u``).

Every state change happens on POST: mail scanners prefetch GET links, so a
GET only shows a page. The one-click POST of RFC 8058 needs no cookie and
no CSRF token; the signed token in the path is what authorises it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.i18n import gettext_context, negotiate_locale
from compliance.core.tokens import TokenPurpose
from consent import service, signup
from consent.models import Contact, ContactStatus
from consent.receipt import receipt_for

router = APIRouter(tags=["pages"], include_in_schema=False)

# The token is in the path: keep it out of Referer headers, caches and indexes.
_PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src "
    "'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

_LINK_STATUS = {"invalid": 404, "expired": 410, "gone": 410, "used": 410, "revoked": 410}


def page_locale(request: Request, services: Services, contact: Contact | None) -> str:
    chosen = request.query_params.get("lang")
    if chosen in ("fr", "en"):
        return chosen
    if contact is not None:
        return contact.locale
    return negotiate_locale(
        request.headers.get("accept-language"), services.settings.default_locale
    )


def render(
    request: Request,
    services: Services,
    template: str,
    lang: str,
    status: int = 200,
    **values: object,
) -> HTMLResponse:
    html = services.jinja.get_template(template).render(
        request_path=request.url.path, **values, **gettext_context(lang)
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def link_error(request: Request, services: Services, reason: str) -> HTMLResponse:
    lang = page_locale(request, services, None)
    return render(
        request, services, "pages/link_error.html", lang, status=_LINK_STATUS[reason], reason=reason
    )


def client_info(request: Request) -> service.ClientInfo:
    return service.ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


@router.get("/c/{token}")
def confirmation_page(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    try:
        contact = signup.contact_from_token(session, services, token, TokenPurpose.CONFIRM)
    except service.LinkError as error:
        return link_error(request, services, error.reason)

    lang = page_locale(request, services, contact)
    already = contact.status != ContactStatus.PENDING
    return render(request, services, "pages/confirm.html", lang, already_confirmed=already)


@router.post("/c/{token}")
def confirm(token: str, request: Request, session: DbSession, services: AppServices) -> Response:
    try:
        contact = signup.contact_from_token(session, services, token, TokenPurpose.CONFIRM)
        outcome = signup.confirm(session, services, contact, client_info(request))
    except service.LinkError as error:
        return link_error(request, services, error.reason)

    lang = page_locale(request, services, contact)
    return render(
        request,
        services,
        "pages/confirmed.html",
        lang,
        already_confirmed=outcome.already_confirmed,
        still_suppressed=bool(outcome.still_suppressed),
    )


@router.get("/r/{token}")
def consent_receipt(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    """The subscriber's consent receipt as a JSON file (Kantara Consent Receipt v1.1)."""
    try:
        contact = signup.contact_from_token(session, services, token, TokenPurpose.RECEIPT)
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    headers = {
        **_PAGE_HEADERS,
        "Content-Disposition": 'inline; filename="consent-receipt.json"',
    }
    return JSONResponse(receipt_for(session, contact), headers=headers)
