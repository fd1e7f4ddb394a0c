"""The preference center (``/p``), the unsubscribe page (``/u``), the magic link
(``/m``), the new-address confirmation (``/a``) and the self-service links (``/s``).

Every form works without JavaScript and carries a CSRF field checked
against a SameSite=Strict cookie. The RFC 8058 one-click POST on ``/u`` is
the exception the RFC requires, because mailbox providers send it without
cookies: the signed token in the path is its authorisation. Each POST answers with a redirect to the
page (Post/Redirect/Get), so a reload repeats nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from time import perf_counter
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from compliance.core.client_address import client_address
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.errors import RateLimited
from compliance.core.i18n import N_
from compliance.core.models import utcnow
from compliance.core.request_body import PageForm, RawBody
from compliance.core.tokens import TokenPurpose
from compliance.core.validation import email_address
from consent import preferences, self_service, service, signup
from consent.models import ContactStatus, PreferenceMethod, SelfServiceAction
from consent.pages import (
    _LINK_STATUS,
    _PAGE_HEADERS,
    client_info,
    link_error,
    page_locale,
    render,
)
from consent.topics import declared_topics
from dsr.access import build_access_export, export_csv, export_json
from dsr.models import RequestSource
from dsr.service import Attestation, erase_subject
from suppression.lists import memberships_of

router = APIRouter(tags=["pages"], include_in_schema=False)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _render_form_page(
    request: Request,
    services: Services,
    template: str,
    lang: str,
    status: int = 200,
    **values: object,
) -> Response:
    """Render a page with forms, with a CSRF field and its cookie."""
    cookie, field = services.csrf.issue(request)
    response = render(request, services, template, lang, status, csrf=field, **values)
    services.csrf.set_cookie(response, cookie)
    return response


def _back(path: str, lang: str, result: str) -> RedirectResponse:
    return RedirectResponse(
        f"{path}?lang={lang}&result={quote(result)}", status_code=303, headers=_PAGE_HEADERS
    )


def _csrf_failed(request: Request, services: Services, lang: str) -> Response:
    return render(request, services, "pages/csrf_failed.html", lang, status=403)


# Results a redirect may show; anything else in the query string is ignored,
# so no text from the URL is ever written into the page.
RESULTS = frozenset(
    {
        "topics_saved",
        "frequency_saved",
        "paused",
        "resumed",
        "name_saved",
        "address_sent",
        "download_sent",
        "erase_sent",
        "unsubscribed",
        "already",
        "resubscribe_sent",
        "invalid_date",
        "invalid_address",
        "invalid_choice",
        "invalid_name",
        "nothing_changed",
    }
)


@router.get("/p/{token}")
def preference_center(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    try:
        link = signup.open_link(session, services, token, TokenPurpose.PREFERENCES)
    except service.LinkError as error:
        return link_error(request, services, error.reason)

    contact = link.contact
    lang = page_locale(request, services, contact)
    subscriptions = {row.topic: row for row in service.subscriptions_of(session, contact)}
    topics = [topic for topic in declared_topics(session, contact.sender_id) if topic.public]
    # Private topics the contact has stay visible, so they can be turned off.
    known = {topic.key for topic in topics}
    private = [key for key in subscriptions if key not in known]
    frequency = next(iter(subscriptions.values())).frequency if subscriptions else "normal"
    result = request.query_params.get("result")
    return _render_form_page(
        request,
        services,
        "pages/preferences.html",
        lang,
        masked=self_service.masked_address(self_service.current_address(services, contact)),
        name=self_service.contact_name(services, contact),
        topics=topics,
        private_topics=private,
        subscriptions=subscriptions,
        lists=memberships_of(session, contact.id),
        frequency=frequency,
        frequencies=preferences.FREQUENCIES,
        leave_reasons=preferences.LEAVE_REASONS,
        paused_until=contact.paused_until,
        unsubscribed=contact.status == ContactStatus.UNSUBSCRIBED,
        pending=contact.status == ContactStatus.PENDING,
        address_pending=contact.pending_email_ciphertext is not None,
        result=result if result in RESULTS else None,
        tomorrow=(utcnow() + timedelta(days=1)).date().isoformat(),
    )


@router.post("/p/{token}/{action}")
def preference_action(
    token: str,
    action: str,
    request: Request,
    form: PageForm,
    session: DbSession,
    services: AppServices,
) -> Response:
    """Apply one form of the preference page, then redirect back to it."""
    try:
        link = signup.open_link(session, services, token, TokenPurpose.PREFERENCES)
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    contact = link.contact
    lang = page_locale(request, services, contact)
    if not services.csrf.check(request, form.get("csrf")):
        return _csrf_failed(request, services, lang)

    client = client_info(request)
    path = f"/p/{token}"
    if action == "topics":
        wanted = {value for value in form.getlist("topics") if isinstance(value, str)}
        public = [topic for topic in declared_topics(session, contact.sender_id) if topic.public]
        change = preferences.set_topics(session, services, contact, wanted, public, client)
        changed = bool(change.added or change.removed)
        return _back(path, lang, "topics_saved" if changed else "nothing_changed")
    if action == "frequency":
        frequency = _field(form, "frequency")
        if frequency not in preferences.FREQUENCIES:
            return _back(path, lang, "invalid_choice")
        preferences.set_frequency(session, services, contact, frequency, client)
        return _back(path, lang, "frequency_saved")
    if action == "pause":
        try:
            day = datetime.strptime(_field(form, "until"), "%Y-%m-%d").date()
            preferences.pause(
                session, services, contact, datetime.combine(day, time.min, UTC), client
            )
        except ValueError:
            return _back(path, lang, "invalid_date")
        return _back(path, lang, "paused")
    if action == "resume":
        changed = preferences.resume(session, services, contact, client)
        return _back(path, lang, "resumed" if changed else "nothing_changed")
    if action == "name":
        name = _field(form, "name")
        if "\x00" in name or len(name) > self_service.MAX_NAME:
            return _back(path, lang, "invalid_name")
        changed = self_service.rename(session, services, contact, name, client)
        return _back(path, lang, "name_saved" if changed else "nothing_changed")
    if action == "address":
        new_address = _field(form, "email").strip()
        try:
            email_address(new_address)
        except ValueError:
            return _back(path, lang, "invalid_address")
        self_service.request_address_change(session, services, contact, new_address, client)
        return _back(path, lang, "address_sent")
    if action in ("download", "erase"):
        self_service.request_self_service(
            session, services, contact, SelfServiceAction(action), client
        )
        return _back(path, lang, f"{action}_sent")
    if action == "unsubscribe":
        reason = _field(form, "reason")
        if reason in preferences.LEAVE_REASONS:
            preferences.record_leave_reason(session, services, contact, reason, client)
        outcome = preferences.unsubscribe_scope(
            session, services, contact, link.claims, PreferenceMethod.PAGE, client
        )
        return _back(path, lang, "unsubscribed" if outcome.changed else "already")
    if action == "resubscribe":
        self_service.resubscribe(session, services, contact, client)
        return _back(path, lang, "resubscribe_sent")
    return link_error(request, services, "invalid")


@router.get("/u/{token}")
def unsubscribe_page(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    """Show what the link unsubscribes from, and for which address (masked); changes nothing."""
    try:
        link = signup.open_link(session, services, token, TokenPurpose.UNSUBSCRIBE)
    except service.LinkError as error:
        return link_error(request, services, error.reason)

    contact = link.contact
    lang = page_locale(request, services, contact)
    kind, _, ref = link.claims.scope.partition(":")
    list_name = None
    if kind == "list":
        list_name = next(
            (item.name for _, item in memberships_of(session, contact.id) if item.id == ref), None
        )
    return _render_form_page(
        request,
        services,
        "pages/unsubscribe.html",
        lang,
        masked=self_service.masked_address(self_service.current_address(services, contact)),
        scope_kind=kind if kind in ("topic", "list") else "all",
        scope_ref=ref,
        list_name=list_name,
        unsubscribed=contact.status == ContactStatus.UNSUBSCRIBED,
        stale=preferences.is_stale(session, contact, link.claims),
        leave_reasons=preferences.LEAVE_REASONS,
    )


@router.post("/u/{token}")
def unsubscribe(
    token: str,
    request: Request,
    raw: RawBody,
    form: PageForm,
    session: DbSession,
    services: AppServices,
) -> Response:
    """Unsubscribe what the link was sent for: the page's button or an RFC 8058 one-click POST."""
    # RFC 8058 section 3.1: the body carries List-Unsubscribe=One-Click, sent
    # as application/x-www-form-urlencoded or multipart/form-data.
    # Some senders of one-click POSTs omit the Content-Type; the body alone
    # is then the RFC 8058 marker.
    one_click = (
        form.get("List-Unsubscribe") == "One-Click" or raw.strip() == b"List-Unsubscribe=One-Click"
    )
    try:
        link = signup.open_link(session, services, token, TokenPurpose.UNSUBSCRIBE)
    except service.LinkError as error:
        if one_click:
            return Response(status_code=_LINK_STATUS[error.reason], headers=_PAGE_HEADERS)
        return link_error(request, services, error.reason)

    contact = link.contact
    lang = page_locale(request, services, contact)
    # RFC 8058 section 3.2: the one-click POST carries no cookie and no CSRF
    # field; the page's own button does.
    if not one_click and not services.csrf.check(request, form.get("csrf")):
        return _csrf_failed(request, services, lang)

    client = client_info(request)
    method = PreferenceMethod.ONE_CLICK if one_click else PreferenceMethod.PAGE
    if not one_click:
        reason = _field(form, "reason")
        if reason in preferences.LEAVE_REASONS:
            preferences.record_leave_reason(session, services, contact, reason, client)
    outcome = preferences.unsubscribe_scope(session, services, contact, link.claims, method, client)
    if one_click:
        # RFC 8058 section 3.2: the mailbox provider needs a 2xx and no redirect.
        return Response(status_code=200, headers=_PAGE_HEADERS)
    return render(
        request,
        services,
        "pages/unsubscribed.html",
        lang,
        already=not outcome.changed and not outcome.stale,
        stale=outcome.stale,
        scope_kind=outcome.scope.partition(":")[0],
    )


@router.get("/m/{form_id}")
def magic_link_page(
    form_id: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    """Ask for a link to the preference page by address, for someone without our email."""
    sender = signup.sender_by_form_id(session, form_id)
    lang = page_locale(request, services, None)
    sent = request.query_params.get("result") == "sent"
    return _render_form_page(
        request, services, "pages/magic_link.html", lang, sender=sender, sent=sent
    )


@router.post("/m/{form_id}")
async def magic_link(
    form_id: str, request: Request, form: PageForm, session: DbSession, services: AppServices
) -> Response:
    """Email a preference-center link to the address, if it is a contact of the sender.

    The route stays ``async`` for the padding's ``asyncio.sleep``. Everything
    that reads or writes the database runs in the thread pool, the rate
    limiter included (see compliance.core.request_body).
    """
    lang = page_locale(request, services, None)
    if not services.csrf.check(request, form.get("csrf")):
        return _csrf_failed(request, services, lang)
    address = _field(form, "email").strip()
    # The same response whether or not the address is known (no enumeration),
    # and about the same time: every request waits, in asyncio.sleep, until
    # about as long as recent ones that sent an email took. The commit is
    # inside the measured time because it is part of the sending path's work.
    started = perf_counter()
    outcome = await run_in_threadpool(
        _request_magic_link, request, session, services, form_id, address, lang
    )
    if isinstance(outcome, Response):
        return outcome
    if outcome:
        services.magic_link_padding.record(perf_counter() - started)
    await services.magic_link_padding.pad(started)
    return _back(f"/m/{form_id}", lang, "sent")


def _request_magic_link(
    request: Request,
    session: Session,
    services: Services,
    form_id: str,
    address: str,
    lang: str,
) -> bool | Response:
    """Send the link and return whether one was sent, or return the page for an invalid address."""
    if not services.subscribe_limiter.allow(f"magic:{client_address(request)}"):
        raise RateLimited(
            N_("Too many requests from this client; wait a minute and try again."),
            retry_after_seconds=60,
        )
    sender = signup.sender_by_form_id(session, form_id)
    try:
        email_address(address)
    except ValueError:
        return _render_form_page(
            request,
            services,
            "pages/magic_link.html",
            lang,
            status=422,
            sender=sender,
            sent=False,
            invalid=True,
        )
    sent = self_service.send_magic_link(session, services, sender, address)
    session.commit()
    return sent


@router.get("/a/{token}")
def address_change_page(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    try:
        link = signup.open_link(session, services, token, TokenPurpose.ADDRESS_CHANGE)
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    lang = page_locale(request, services, link.contact)
    return _render_form_page(request, services, "pages/address_change.html", lang, done=None)


@router.post("/a/{token}")
def address_change(
    token: str, request: Request, form: PageForm, session: DbSession, services: AppServices
) -> Response:
    try:
        link = signup.open_link(session, services, token, TokenPurpose.ADDRESS_CHANGE)
        lang = page_locale(request, services, link.contact)
        if not services.csrf.check(request, form.get("csrf")):
            return _csrf_failed(request, services, lang)
        outcome = self_service.confirm_address_change(session, services, link, client_info(request))
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    return render(request, services, "pages/address_change.html", lang, done=outcome)


@router.get("/s/{token}")
def self_service_page(
    token: str, request: Request, session: DbSession, services: AppServices
) -> Response:
    try:
        link = signup.open_link(session, services, token, TokenPurpose.SELF_SERVICE)
        opened = self_service.open_self_service(session, link)
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    lang = page_locale(request, services, link.contact)
    return _render_form_page(
        request,
        services,
        "pages/self_service.html",
        lang,
        action=opened.action.value,
        masked=self_service.masked_address(self_service.current_address(services, link.contact)),
        erased=False,
    )


@router.post("/s/{token}")
def self_service_action(
    token: str, request: Request, form: PageForm, session: DbSession, services: AppServices
) -> Response:
    """Send the data download, or carry out the erasure, that the emailed link unlocked."""
    try:
        link = signup.open_link(session, services, token, TokenPurpose.SELF_SERVICE)
        opened = self_service.open_self_service(session, link)
    except service.LinkError as error:
        return link_error(request, services, error.reason)
    contact = link.contact
    lang = page_locale(request, services, contact)
    if not services.csrf.check(request, form.get("csrf")):
        return _csrf_failed(request, services, lang)

    if opened.action is SelfServiceAction.DOWNLOAD:
        export = build_access_export(session, services, contact)
        as_csv = _field(form, "format") == "csv"
        body = export_csv(export) if as_csv else export_json(export)
        media = "text/csv; charset=utf-8" if as_csv else "application/json"
        filename = "my-data.csv" if as_csv else "my-data.json"
        headers = {**_PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(body, media_type=media, headers=headers)

    # Erasure: the emailed link proved control of the address (GDPR Art.
    # 12(6)); the request is recorded as a DSR the DPO can follow.
    address = self_service.current_address(services, contact)
    self_service.mark_used(session, opened.request)
    erase_subject(
        session,
        services,
        contact.sender_id,
        address,
        Attestation(verified_by="subscriber", method="email_link", verified_at=utcnow()),
        actor=f"contact:{contact.id}",
        source=RequestSource.SUBSCRIBER,
        locale=lang,
    )
    return render(request, services, "pages/self_service.html", lang, action="erase", erased=True)
