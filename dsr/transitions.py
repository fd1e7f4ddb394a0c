"""Shared workflow steps: the checked state transition and the emails to the subject."""

from __future__ import annotations

import structlog
from sqlmodel import Session

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.errors import Conflict
from compliance.core.i18n import N_
from compliance.core.models import Sender, utcnow
from compliance.core.outbox import enqueue
from dsr import emails
from dsr.models import (
    DataSubjectRequest,
    RequestStatus,
)
from dsr.payload import (
    PayloadGone,
    RequestPayload,
    read_payload,
    request_data_key,
)

log = structlog.get_logger(__name__)

S = RequestStatus
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.RECEIVED: frozenset({S.IDENTITY_PENDING, S.VERIFIED, S.REJECTED}),
    S.IDENTITY_PENDING: frozenset({S.VERIFIED, S.REJECTED}),
    S.VERIFIED: frozenset({S.IN_PROGRESS, S.EXTENDED, S.REJECTED}),
    S.EXTENDED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.FAILED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.EXTENDED, S.COMPLETED, S.FAILED, S.REJECTED}),
    # Only a retried processor reopens a failed request (dsr.closing.reopen_after_retry).
    S.FAILED: frozenset({S.IN_PROGRESS}),
}


class InvalidState(Conflict):
    code = "invalid_state"


def transition(
    session: Session, request: DataSubjectRequest, target: RequestStatus, actor: str
) -> None:
    """Move ``request`` to ``target`` if the workflow allows it, and audit the move."""
    current = RequestStatus(request.status)
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidState(
            N_("Request %(request_id)s is %(status)s; it cannot become %(target)s."),
            context={"status": current.value},
            request_id=request.id,
            status=current.value,
            target=target.value,
        )
    request.status = target
    request.updated_at = utcnow()
    session.add(request)
    session.flush()
    record_event(
        session,
        request.sender_id,
        actor=actor,
        action=f"dsr.{target.value}",
        object_type="dsr",
        object_id=request.id,
    )
    log.info("dsr.transition", dsr_id=request.id, source=current.value, target=target.value)


def queue_notice(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    notice: emails.Notice,
    kind: str,
) -> None:
    """Queue an email to the subject, encrypted under the request's key (not a contact's)."""
    message = emails.render_notice(
        services.jinja,
        sender_of(session, request),
        services.settings.mail_from,
        payload.address,
        payload.locale,
        notice,
    )
    enqueue(
        session,
        sender_id=request.sender_id,
        contact_id=request.id,
        data_key=request_data_key(services.keystore, request),
        kind=f"dsr_{kind.split(':')[0]}",
        idempotency_key=f"dsr:{request.id}:{kind}",
        message=message,
    )


def subject_payload(services: Services, request: DataSubjectRequest) -> RequestPayload:
    try:
        return read_payload(services.keystore, request)
    except PayloadGone:
        raise InvalidState(
            N_("The personal data of request %(request_id)s is already destroyed."),
            request_id=request.id,
        ) from None


def sender_of(session: Session, request: DataSubjectRequest) -> Sender:
    sender = session.get(Sender, request.sender_id)
    if sender is None:
        raise RuntimeError(f"request {request.id} belongs to no sender")
    return sender
