"""The embeddable sign-up form: its HTML snippet, and the page its POST lands on.

The snippet needs no JavaScript: a plain HTML form posts to ``/f/{form_id}``,
which records the sign-up with the wording Sendguard holds for each topic
and responds with one page, the same whether or not the address was known.
"""

from __future__ import annotations

import hashlib
from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AnyHttpUrl
from starlette.datastructures import FormData

from compliance.core.auth import Principal, require_roles
from compliance.core.client_address import client_address
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput, NotFound, RateLimited, safe_id
from compliance.core.i18n import N_, gettext_context, translate
from compliance.core.models import Role, Sender
from compliance.core.request_body import PageForm
from compliance.core.validation import email_address
from consent import service, signup
from consent.pages import page_locale, render
from consent.topics import TOPIC_KEY, declared_topics
from consent.urls import form_page_url

api_router = APIRouter(prefix="/v1", tags=["consent"])
page_router = APIRouter(tags=["pages"], include_in_schema=False)

SenderKey = Depends(require_roles(Role.SENDER))

MAX_FIELD = 2000


@api_router.get("/forms/snippet", response_class=HTMLResponse)
def form_snippet(
    request: Request,
    session: DbSession,
    services: AppServices,
    privacy_policy_url: AnyHttpUrl,
    privacy_policy_version: str = Query(min_length=1, max_length=64),
    lang: Literal["fr", "en"] | None = None,
    topics: str | None = Query(
        default=None, max_length=2000, description="comma-separated topic ids; default: all public"
    ),
    principal: Principal = SenderKey,
) -> HTMLResponse:
    """An HTML sign-up form for the sender's site: one checkbox per public topic, a honeypot."""
    sender = session.get(Sender, principal.sender_id)
    if sender is None:
        raise NotFound(N_("Sender not found."))
    public = [topic for topic in declared_topics(session, sender.id) if topic.public]
    if topics:
        wanted = [key.strip() for key in topics.split(",") if key.strip()]
        by_key = {topic.key: topic for topic in public}
        for key in wanted:
            if key not in by_key:
                raise InvalidInput(
                    "topics",
                    N_("topics: %(topic)s is not a public topic of this sender."),
                    topic=safe_id(key),
                )
        public = [by_key[key] for key in wanted]
    if not public:
        raise InvalidInput(
            "topics",
            N_("topics: the sender has no public topic; declare one with POST /v1/topics."),
        )

    language = lang or sender.default_locale
    html = services.jinja.get_template("snippet/form.html").render(
        action=f"{services.settings.public_url}/f/{sender.form_id}",
        topics=public,
        privacy_policy_url=str(privacy_policy_url),
        privacy_policy_version=privacy_policy_version,
        **gettext_context(language),
    )
    return HTMLResponse(html)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _error_page(
    request: Request, services: AppServices, lang: str, msgid: str, **params: object
) -> Response:
    message = translate(lang, msgid, **params)
    return render(request, services, "pages/signup_error.html", lang, status=422, message=message)


@page_router.post("/f/{form_id}")
def submit_form(
    form_id: str, request: Request, form: PageForm, session: DbSession, services: AppServices
) -> Response:
    """Record a sign-up posted by the HTML form, then show one "check your inbox" page."""
    chosen = _field(form, "lang")
    lang = chosen if chosen in ("fr", "en") else page_locale(request, services, None)

    client_ip = client_address(request)
    if not services.subscribe_limiter.allow(f"ip:{client_ip}"):
        raise RateLimited(
            N_("Too many sign-ups from this client; wait a minute and try again."),
            retry_after_seconds=60,
        )
    if _field(form, "website"):
        # A bot filled in the honeypot: the same page as a real sign-up, nothing recorded.
        return render(request, services, "pages/signup_done.html", lang)

    sender = signup.sender_by_form_id(session, form_id)
    address = _field(form, "email").strip()
    try:
        email_address(address)
    except ValueError:
        return _error_page(
            request, services, lang, N_("Email address: this is not a valid address; check it.")
        )
    keys = sorted({value for value in form.getlist("topics") if isinstance(value, str) and value})
    if not keys:
        return _error_page(request, services, lang, N_("Tick at least one box to subscribe."))
    public = {topic.key: topic for topic in declared_topics(session, sender.id) if topic.public}
    unknown = [key for key in keys if key not in public]
    if unknown:
        shown = unknown[0] if TOPIC_KEY.match(unknown[0]) else "(invalid id)"
        return _error_page(
            request,
            services,
            lang,
            N_("The topic %(topic)s is not offered by this form."),
            topic=shown,
        )
    policy_url = _field(form, "privacy_policy_url")
    policy_version = _field(form, "privacy_policy_version")
    if urlsplit(policy_url).scheme not in ("http", "https") or not 0 < len(policy_url) <= MAX_FIELD:
        return _error_page(
            request, services, lang, N_("The form has no valid privacy-policy link; tell the site.")
        )
    if not 0 < len(policy_version) <= 64:
        return _error_page(
            request,
            services,
            lang,
            N_("The form has no privacy-policy version; tell the site."),
        )

    # The wording is Sendguard's stored copy for each ticked topic, in the
    # form's language, so the proof does not rest on what the browser sent.
    chosen_topics = [public[key] for key in keys]
    wording = "\n".join(
        topic.wording_fr if lang == "fr" else topic.wording_en for topic in chosen_topics
    )
    version = ",".join(f"{topic.key}:{topic.wording_version}" for topic in chosen_topics)
    proof = signup.SignupProof(
        topics=keys,
        lawful_basis="consent",
        regime="gdpr",
        source="form",
        form_url=form_page_url(request.headers.get("referer")),
        wording_text=wording,
        # Over 64 characters (many topics), the list is kept as its digest.
        wording_version=version
        if len(version) <= 64
        else hashlib.sha256(version.encode()).hexdigest(),
        privacy_policy_url=policy_url,
        privacy_policy_version=policy_version,
        language=lang,
        form_id=sender.form_id,
    )
    client = service.ClientInfo(ip=client_ip, user_agent=request.headers.get("user-agent"))
    signup.subscribe(session, services, sender, address, proof, client)
    return render(request, services, "pages/signup_done.html", lang)
