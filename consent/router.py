"""``POST /v1/subscribe``: the public sign-up endpoint that forms call."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, Field, field_validator
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from compliance.core.client_address import client_address
from compliance.core.context import AppServices, Services
from compliance.core.db import DbEngine, read_only, transaction
from compliance.core.errors import RateLimited
from compliance.core.i18n import N_
from compliance.core.validation import ApiModel, email_address, is_country_code
from consent import service, signup
from consent.basis import age_of_digital_consent
from consent.topics import TOPIC_KEY, check_public_topics
from consent.urls import form_page_url

router = APIRouter(prefix="/v1", tags=["consent"])

Source = Literal[
    "form", "api", "import", "event", "purchase", "inquiry", "survey", "contest", "social"
]


class SubscribeRequest(ApiModel):
    form_id: str = Field(min_length=1, max_length=40)
    email: str = Field(min_length=3, max_length=320)
    topics: list[str] = Field(default_factory=lambda: ["newsletter"], min_length=1, max_length=50)
    locale: Literal["fr", "en"] | None = None
    consent_text: str = Field(min_length=1, max_length=10_000)
    consent_text_version: str = Field(min_length=1, max_length=64)
    privacy_policy_url: AnyHttpUrl
    privacy_policy_version: str = Field(min_length=1, max_length=64)
    source: Source = "form"
    regime: Literal["gdpr", "casl", "can_spam"] = "gdpr"
    form_url: AnyHttpUrl | None = None
    # ISO 3166-1 alpha-2 country and B2B/B2C status: they choose the legal
    # regime the consent is judged under (docs/lawful-basis.md).
    country: str | None = Field(default=None, min_length=2, max_length=2)
    audience: Literal["b2c", "b2b"] | None = None
    # Only compared with the age of digital consent of the country (GDPR
    # Art. 8); the age itself is not stored.
    declared_age: int | None = Field(default=None, ge=0, le=130)
    parental_consent: bool = False
    # Honeypot: people never see this field, so only bots fill it in.
    website: str = Field(default="", max_length=200)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)

    @field_validator("topics")
    @classmethod
    def _valid_topics(cls, value: list[str]) -> list[str]:
        return valid_topic_keys(value)

    @field_validator("country")
    @classmethod
    def _valid_country(cls, value: str | None) -> str | None:
        return None if value is None else country_code(value)


def valid_topic_keys(value: list[str]) -> list[str]:
    for topic in value:
        if not TOPIC_KEY.match(topic):
            raise ValueError(
                N_(
                    "each topic id must be 1 to 64 lowercase letters, digits, '-' or '_', "
                    "starting with a letter or digit."
                )
            )
    return sorted(set(value))


def country_code(value: str) -> str:
    if not (len(value) == 2 and value.isascii() and is_country_code(value)):
        raise ValueError(N_("give the country as a two-letter ISO 3166-1 code, such as FR or CA."))
    return value.upper()


def declared_minor(age: int | None, country: str | None) -> bool | None:
    """Whether a declared age is under the age of digital consent (GDPR Art. 8)."""
    if age is None:
        return None
    # Unknown country: the highest age GDPR Art. 8(1) allows, the safe side.
    threshold = age_of_digital_consent(country) if country else 16
    return age < threshold


ACCEPTED_BODY = {"status": "pending_confirmation"}


@router.post("/subscribe", status_code=202)
async def subscribe(
    body: SubscribeRequest, request: Request, engine: DbEngine, services: AppServices
) -> JSONResponse:
    """Record a sign-up and send the double opt-in email.

    The response is the same for a new, a pending or a known address, so the
    endpoint cannot be used to learn who is subscribed. Its time is about
    the same too. The sign-up of a new address is the slowest path, because
    it also creates the contact's data key. Every path, that one included,
    then waits in ``asyncio.sleep`` until about the time that recent new
    sign-ups took (:class:`~compliance.core.padding.ResponseTimePadding`).
    The database work runs in the thread pool, so the wait blocks no thread.
    """
    started = time.perf_counter()
    created = await run_in_threadpool(_subscribe, body, request, engine, services)
    if created:
        services.signup_padding.record(time.perf_counter() - started)
    await services.signup_padding.pad(started)
    return JSONResponse(ACCEPTED_BODY, status_code=202)


def _subscribe(
    body: SubscribeRequest, request: Request, engine: Engine, services: Services
) -> bool:
    """Record the sign-up and return True when it stored a new contact (the slowest path)."""
    # Behind a reverse proxy this is the forwarded address when
    # SENDGUARD_TRUSTED_PROXIES lists the proxy, and the TCP peer otherwise.
    client_ip = client_address(request)
    if not services.subscribe_limiter.allow(f"ip:{client_ip}"):
        raise RateLimited(
            N_("Too many sign-ups from this client; wait a minute and try again."),
            retry_after_seconds=60,
        )

    if body.website:
        return False

    # Three steps instead of one transaction, so that SQLite's write lock
    # covers the inserts only (docs/benchmarks-consent.md). The reads run in
    # a read-only transaction and the CPU work with none open. Then a short
    # write checks the reads again and commits before the response is sent.
    with transaction(read_only(engine)) as session:
        sender = signup.sender_by_form_id(session, body.form_id)
        check_public_topics(session, sender.id, body.topics)
        plan = signup.plan_subscribe(session, services, sender, body.email)
    if plan is None:
        return False

    lang = body.locale or sender.default_locale
    proof = signup.SignupProof(
        topics=body.topics,
        lawful_basis="consent",
        regime=body.regime,
        source=body.source,
        form_url=form_page_url(str(body.form_url)) if body.form_url else None,
        wording_text=body.consent_text,
        wording_version=body.consent_text_version,
        privacy_policy_url=str(body.privacy_policy_url),
        privacy_policy_version=body.privacy_policy_version,
        language=lang,
        country=body.country,
        audience=body.audience,
        declared_minor=declared_minor(body.declared_age, body.country),
        parental_consent=body.parental_consent,
        form_id=sender.form_id,
    )
    client = service.ClientInfo(ip=client_ip, user_agent=request.headers.get("user-agent"))
    prepared = signup.prepare_subscribe(services, sender, body.email, proof, client, plan)
    try:
        with transaction(engine) as session:
            signup.commit_subscribe(
                session, services, sender, body.email, proof, client, plan, prepared
            )
    except IntegrityError:
        # A concurrent sign-up of the same new address stored its contact
        # first (PostgreSQL). Done again in one transaction, the sign-up
        # finds that contact and returns the same 202 as for a known address.
        with transaction(engine) as session:
            signup.subscribe(session, services, sender, body.email, proof, client)
        return False
    return plan.contact is None
