"""Closing a request: completion with a certificate, refusal, processor results, key release."""

from __future__ import annotations

import json
from datetime import timedelta

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.i18n import N_
from compliance.core.models import OutboxMessage, OutboxStatus, iso_utc, utcnow
from compliance.core.tokens import TokenPurpose
from dsr import emails, execution
from dsr.certificate import build_certificate
from dsr.models import (
    CLOSED_STATUSES,
    FINAL_TASK_STATUSES,
    DataSubjectRequest,
    Processor,
    ProcessorTask,
    RequestStatus,
    RequestType,
    TaskStatus,
)
from dsr.payload import (
    PayloadGone,
    RequestPayload,
    read_payload,
    shred,
)
from dsr.transitions import InvalidState, queue_notice, sender_of, transition
from suppression.service import lift_for_restriction

log = structlog.get_logger(__name__)

# How long a failed request keeps the subject's address, so that the DPO can
# retry a processor once it is reachable again.
FAILED_KEEP = timedelta(days=30)


def reject(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    ground: str,
    note: str | None,
    actor: str,
) -> None:
    """Refuse the request with a ground, and tell the subject why and where to complain."""
    transition(session, request, RequestStatus.REJECTED, actor)
    request.rejection_ground = ground
    request.rejection_note = note
    request.code_hash = None
    _finish(session, services, request)
    try:
        payload = read_payload(services.keystore, request)
    except PayloadGone:
        return
    if payload.notify:
        notice = emails.rejection_notice(payload.locale, sender_of(session, request), ground)
        queue_notice(session, services, request, payload, notice, "rejection")


def reject_by_dpo(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    ground: str,
    note: str | None,
    actor: str,
) -> None:
    """Reject a request on the DPO's decision, unless it was already carried out.

    Once an erasure or an objection has run, the data is gone and the subject
    must not receive a rejection notice: the request completes instead.
    """
    if request.outcome != "{}":
        raise InvalidState(
            N_(
                "Request %(request_id)s was already carried out, so it can no longer be "
                "rejected; it completes when its processors and event purge finish."
            ),
            request_id=request.id,
        )
    reject(session, services, request, ground, note, actor)


def close(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    status: RequestStatus,
    actor: str,
) -> None:
    """Close a request as completed or failed, sign its certificate and tell the subject."""
    transition(session, request, status, actor)
    _finish(session, services, request)
    if status is not RequestStatus.COMPLETED or request.type in (
        RequestType.ACCESS,
        RequestType.PORTABILITY,
    ):
        return
    try:
        payload = read_payload(services.keystore, request)
    except PayloadGone:
        return
    if payload.notify:
        notice = emails.completion_notice(payload.locale, sender_of(session, request), request.type)
        queue_notice(session, services, request, payload, notice, "completion")


def on_task_finished(session: Session, services: Services, request_id: str) -> None:
    """Close the request once every processor task is final and its events are purged.

    The processor worker calls this after each final task, and the event
    purge after its last batch; whichever finishes last closes the request.
    """
    request = session.get(DataSubjectRequest, request_id)
    if request is None or request.status not in (RequestStatus.IN_PROGRESS, RequestStatus.EXTENDED):
        return
    if request.event_purge is not None:
        return
    statuses = session.exec(
        select(ProcessorTask.status).where(ProcessorTask.request_id == request_id)
    ).all()
    if any(status not in FINAL_TASK_STATUSES for status in statuses):
        return
    failed = any(status == TaskStatus.DEAD for status in statuses)
    target = RequestStatus.FAILED if failed else RequestStatus.COMPLETED
    close(session, services, request, target, actor="worker")


def lift_restriction(
    session: Session, services: Services, request: DataSubjectRequest, actor: str
) -> int:
    """End a restriction of processing (Art. 18(3)); return the entries lifted."""
    if request.type != RequestType.RESTRICTION or request.status != RequestStatus.COMPLETED:
        raise InvalidState(
            N_("Request %(request_id)s is not a completed restriction; nothing to lift."),
            request_id=request.id,
        )
    lifted = lift_for_restriction(
        session, request.sender_id, execution.restriction_ref(request.id), actor
    )
    outcome = json.loads(request.outcome)
    outcome["restriction_lifted_at"] = iso_utc(utcnow())
    request.outcome = json.dumps(outcome, sort_keys=True)
    session.add(request)
    record_event(
        session,
        request.sender_id,
        actor=actor,
        action="dsr.restriction_lifted",
        object_type="dsr",
        object_id=request.id,
    )
    return len(lifted)


def release_closed_requests(session: Session, services: Services) -> int:
    """Destroy the keys of closed requests that need their personal data no more.

    A closed request keeps its key while an email to the subject waits in
    the outbox and while its export link works. Returns the keys destroyed.
    """
    now = utcnow()
    candidates = session.exec(
        select(DataSubjectRequest).where(
            col(DataSubjectRequest.status).in_([status.value for status in CLOSED_STATUSES]),
            col(DataSubjectRequest.payload_ciphertext).is_not(None),
        )
    ).all()
    released = 0
    for request in candidates:
        if request.export_expires_at is not None and request.export_expires_at > now:
            continue
        failed_recently = (
            request.status == RequestStatus.FAILED
            and request.completed_at is not None
            and request.completed_at > now - FAILED_KEEP
        )
        if failed_recently:
            continue
        waiting = session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.contact_id == request.id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        ).first()
        if waiting is not None:
            continue
        shred(services.keystore, request)
        session.add(request)
        released += 1
    session.flush()
    if released:
        log.info("dsr.keys_released", requests=released)
    return released


def processor_results(session: Session, request_id: str) -> list[dict[str, object]]:
    """List each processor's result for the certificate and the DPO: ids and statuses only."""
    rows = session.exec(
        select(ProcessorTask, Processor)
        .join(Processor, col(Processor.id) == col(ProcessorTask.processor_id))
        .where(ProcessorTask.request_id == request_id)
        .order_by(col(Processor.name))
    ).all()
    return [
        {
            "processor_id": processor.id,
            "name": processor.name,
            "kind": processor.kind,
            "action": task.action,
            "status": task.status,
            "attempts": task.attempts,
            "response_status": task.response_status,
            "remote_ref": task.remote_ref,
            "last_error": task.last_error,
            "completed_at": iso_utc(task.completed_at) if task.completed_at else None,
        }
        for task, processor in rows
    ]


def _finish(session: Session, services: Services, request: DataSubjectRequest) -> None:
    request.completed_at = utcnow()
    certificate = build_certificate(
        request, processor_results(session, request.id), services.signer
    )
    request.certificate = json.dumps(certificate, sort_keys=True)
    session.add(request)
    session.flush()


def send_export_link(
    session: Session, services: Services, request: DataSubjectRequest, payload: RequestPayload
) -> None:
    lifetime = timedelta(days=services.settings.dsr_export_ttl_days)
    token = services.tokens.issue(TokenPurpose.DSR_EXPORT, request.id, request.sender_id, lifetime)
    link = f"{services.settings.public_url}/x/{token}"
    expires = (utcnow() + lifetime).date().isoformat()
    notice = emails.export_notice(payload.locale, sender_of(session, request), link, expires)
    queue_notice(session, services, request, payload, notice, "export")


def reopen_after_retry(session: Session, request_id: str, actor: str) -> None:
    """Move a failed request back in progress when the DPO retries one of its processors."""
    request = session.get(DataSubjectRequest, request_id)
    if request is None or request.status != RequestStatus.FAILED:
        return
    transition(session, request, RequestStatus.IN_PROGRESS, actor)
    request.completed_at = None
    session.add(request)
