"""``/v1/events``: raw bounce and complaint messages, and ESP webhooks verified by signature."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    SendguardError,
    Unauthorized,
    safe_id,
)
from compliance.core.i18n import N_
from compliance.core.models import Role, Sender
from compliance.core.request_body import RawBody
from suppression.bounces import classify
from suppression.bounces.ingest import ingest, raw_origin
from suppression.bounces.policy import BouncePolicy
from suppression.bounces.webhooks import (
    SignatureError,
    WebhookEvent,
    WebhookFormatError,
    mailgun,
    postmark,
    sendgrid,
    ses,
    sns_subscription,
)
from suppression.bounces.webhooks.sns_subscription import SubscribeUrlFault

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/events", tags=["events"])


class VerdictOut(BaseModel):
    recipient: str
    bounce_class: str
    reason: str
    status: str
    reply_code: str
    feedback_type: str
    outcome: str


class EventsOut(BaseModel):
    events: list[VerdictOut]
    # True when the message exceeded the classifier's size or part bounds:
    # recipients past the cut are not listed, so split the report and send the rest.
    truncated: bool = False


@router.post("/raw", response_model=EventsOut)
def post_raw(
    raw: RawBody,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> EventsOut:
    """Classify one raw message (a bounce, complaint, reply or unsubscribe request) and apply it."""
    if not raw.strip():
        raise InvalidInput(
            "body", N_("The request body is empty; send the raw message as message/rfc822.")
        )
    verdicts = classify(raw)
    outcomes = ingest(
        session,
        principal.sender_id,
        services.indexer,
        verdicts,
        origin=raw_origin(raw),
        source="mail",
        policy=BouncePolicy.from_settings(services.settings),
        actor=principal.actor,
    )
    return EventsOut(
        events=[
            VerdictOut(
                recipient=verdict.recipient,
                bounce_class=verdict.bounce_class.value,
                reason=verdict.reason,
                status=verdict.status,
                reply_code=verdict.reply_code,
                feedback_type=verdict.feedback_type,
                outcome=outcome.value,
            )
            for verdict, outcome in zip(verdicts, outcomes, strict=True)
        ],
        truncated=any(verdict.truncated for verdict in verdicts),
    )


class WebhookOut(BaseModel):
    received: int
    outcomes: dict[str, int]


def _require_sender(session: Any, sender_id: str) -> None:
    if session.get(Sender, sender_id) is None:
        raise NotFound(N_("Sender %(sender_id)s not found."), sender_id=safe_id(sender_id))


def _apply(
    session: Any, services: Services, sender_id: str, provider: str, events: list[WebhookEvent]
) -> WebhookOut:
    _require_sender(session, sender_id)
    counts: dict[str, int] = {}
    policy = BouncePolicy.from_settings(services.settings)
    for event in events:
        for outcome in ingest(
            session,
            sender_id,
            services.indexer,
            [event.verdict],
            origin=event.origin,
            source=provider,
            policy=policy,
            actor=f"webhook:{provider}",
            occurred_at=event.occurred_at,
        ):
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return WebhookOut(received=len(events), outcomes=counts)


def _not_configured(provider: str, setting: str) -> Forbidden:
    return Forbidden(
        N_("The %(provider)s webhook is not enabled; set %(setting)s to enable it."),
        provider=provider,
        setting=setting,
    )


def _bad_signature(provider: str) -> Unauthorized:
    return Unauthorized(
        N_(
            "The %(provider)s webhook signature is missing or invalid; check the signing key "
            "configured for it."
        ),
        provider=provider,
    )


def _bad_payload(provider: str) -> InvalidInput:
    return InvalidInput(
        "body",
        N_("The body is not a %(provider)s webhook payload; check the webhook's event format."),
        provider=provider,
    )


@router.post("/ses/{sender_id}", response_model=WebhookOut)
def post_ses(
    sender_id: str, request: Request, body: RawBody, session: DbSession, services: AppServices
) -> WebhookOut:
    """Amazon SES notifications and event publishing through SNS, verified by SNS's signature."""
    topics = frozenset(
        item.strip() for item in services.settings.ses_topic_arns.split(",") if item.strip()
    )
    if not topics:
        raise _not_configured("Amazon SES", "SENDGUARD_SES_TOPIC_ARNS")
    fetch = getattr(request.app.state, "sns_certificate_fetcher", None)
    try:
        envelope = ses.load(body)
        if fetch is None:
            ses.verify(envelope, topics)
        else:
            ses.verify(envelope, topics, fetch)
    except SignatureError:
        raise _bad_signature("Amazon SES") from None
    except WebhookFormatError:
        raise _bad_payload("Amazon SES") from None

    # ses.verify accepts only the three SNS message types.
    kind = envelope.get("Type")
    if kind == "SubscriptionConfirmation":
        _require_sender(session, sender_id)
        _confirm_subscription(request, sender_id, envelope)
        return WebhookOut(received=0, outcomes={})
    if kind == "UnsubscribeConfirmation":
        # The topic unsubscribed this endpoint, and confirming again would undo that.
        log.info(
            "ses.unsubscribe_confirmation",
            sender_id=safe_id(sender_id),
            topic_arn=envelope.get("TopicArn"),
        )
        return WebhookOut(received=0, outcomes={})

    try:
        events = ses.parse(ses.unwrap(envelope))
    except WebhookFormatError:
        raise _bad_payload("Amazon SES") from None
    return _apply(session, services, sender_id, "ses", events)


class BadGateway(SendguardError):
    """A service that the request depends on failed or returned an unusable response."""

    status_code = 502
    code = "bad_gateway"


# Each fault names the field and the fault, then gives the fix.
_SUBSCRIBE_URL_MESSAGES = {
    SubscribeUrlFault.MALFORMED: N_(
        "Field SubscribeURL is missing or is not a plain https URL, so the SNS subscription "
        "was not confirmed; confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.NOT_HTTPS: N_(
        "Field SubscribeURL does not use https, so the SNS subscription was not confirmed; "
        "confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.NOT_SNS_HOST: N_(
        "Field SubscribeURL is not on an Amazon SNS host (sns.<region>.amazonaws.com), so the "
        "SNS subscription was not confirmed; confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.WRONG_REGION: N_(
        "Field SubscribeURL is on the SNS host of a region other than the TopicArn's, so the "
        "SNS subscription was not confirmed; confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.WRONG_ACTION: N_(
        "Field SubscribeURL does not carry Action=ConfirmSubscription, so the SNS subscription "
        "was not confirmed; confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.WRONG_TOPIC: N_(
        "Field SubscribeURL does not carry the message's TopicArn, so the SNS subscription was "
        "not confirmed; confirm it in the Amazon SNS console."
    ),
    SubscribeUrlFault.WRONG_TOKEN: N_(
        "Field SubscribeURL does not carry the message's Token, so the SNS subscription was "
        "not confirmed; confirm it in the Amazon SNS console."
    ),
}


def _confirm_subscription(request: Request, sender_id: str, envelope: dict[str, Any]) -> None:
    """Confirm the SNS subscription of a verified ``SubscriptionConfirmation`` message.

    Tests put a fake transport in ``app.state.sns_subscription_confirmer``.
    """
    confirmer = getattr(request.app.state, "sns_subscription_confirmer", None)
    topic_arn = envelope.get("TopicArn")
    try:
        # The request blocks for up to a few seconds; the route runs in the thread pool.
        arn = sns_subscription.confirm(envelope, confirmer or sns_subscription.confirm_https)
    except sns_subscription.SubscribeUrlError as error:
        log.warning(
            "ses.subscribe_url_rejected",
            sender_id=sender_id,
            topic_arn=topic_arn,
            fault=error.fault.name,
        )
        raise InvalidInput("SubscribeURL", _SUBSCRIBE_URL_MESSAGES[error.fault]) from None
    except sns_subscription.ConfirmError as error:
        log.warning(
            "ses.subscription_confirm_failed",
            sender_id=sender_id,
            topic_arn=topic_arn,
            error_type=error.error_type,
            http_status=error.http_status,
        )
        raise BadGateway(
            N_(
                "The Amazon SNS subscription is not confirmed because the ConfirmSubscription "
                "request to SNS failed; SNS retries the delivery of the confirmation under its "
                "delivery policy, or you can open the message's SubscribeURL once by hand."
            )
        ) from None
    log.info(
        "ses.subscription_confirmed", sender_id=sender_id, topic_arn=topic_arn, subscription_arn=arn
    )


@router.post("/sendgrid/{sender_id}", response_model=WebhookOut)
def post_sendgrid(
    sender_id: str, request: Request, body: RawBody, session: DbSession, services: AppServices
) -> WebhookOut:
    """SendGrid Event Webhook with Signed Event Webhook enabled (ECDSA)."""
    key = services.settings.sendgrid_webhook_public_key
    if not key:
        raise _not_configured("SendGrid", "SENDGUARD_SENDGRID_WEBHOOK_PUBLIC_KEY")
    try:
        sendgrid.verify(
            key,
            body,
            request.headers.get(sendgrid.SIGNATURE_HEADER, ""),
            request.headers.get(sendgrid.TIMESTAMP_HEADER, ""),
        )
        events = sendgrid.parse(body)
    except SignatureError:
        raise _bad_signature("SendGrid") from None
    except WebhookFormatError:
        raise _bad_payload("SendGrid") from None
    return _apply(session, services, sender_id, "sendgrid", events)


@router.post("/mailgun/{sender_id}", response_model=WebhookOut)
def post_mailgun(
    sender_id: str, body: RawBody, session: DbSession, services: AppServices
) -> WebhookOut:
    """Mailgun webhooks, verified by the HMAC in their ``signature`` field."""
    key = services.settings.mailgun_webhook_signing_key
    if key is None:
        raise _not_configured("Mailgun", "SENDGUARD_MAILGUN_WEBHOOK_SIGNING_KEY")
    try:
        payload = mailgun.load(body)
        mailgun.verify(key.get_secret_value(), payload)
        events = mailgun.parse(payload)
    except SignatureError:
        raise _bad_signature("Mailgun") from None
    except WebhookFormatError:
        raise _bad_payload("Mailgun") from None
    return _apply(session, services, sender_id, "mailgun", events)


@router.post("/postmark/{sender_id}", response_model=WebhookOut)
def post_postmark(
    sender_id: str, request: Request, body: RawBody, session: DbSession, services: AppServices
) -> WebhookOut:
    """Postmark webhooks, which Postmark does not sign: HTTP Basic credentials protect them."""
    password = services.settings.postmark_webhook_password
    if password is None:
        raise _not_configured("Postmark", "SENDGUARD_POSTMARK_WEBHOOK_PASSWORD")
    try:
        postmark.verify(password.get_secret_value(), request.headers.get("authorization", ""))
        events = postmark.parse(body)
    except SignatureError:
        raise _bad_signature("Postmark") from None
    except WebhookFormatError:
        raise _bad_payload("Postmark") from None
    return _apply(session, services, sender_id, "postmark", events)
