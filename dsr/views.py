"""Response models of the DPO's API: dates, state and outcome of a request, no personal data."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from compliance.core.models import AuditEvent, utcnow
from dsr.closing import processor_results
from dsr.models import CLOSED_STATUSES, DataSubjectRequest


class HistoryEntry(BaseModel):
    action: str
    actor: str
    at: datetime


class DsrView(BaseModel):
    id: str
    type: str
    status: str
    source: str
    external_ref: str | None
    received_at: datetime
    due_at: datetime
    original_due_at: datetime | None
    # Whole days until the deadline; negative once it has passed.
    days_left: int | None
    overdue: bool
    extended_at: datetime | None
    extension_reason: str | None
    extension_notified_at: datetime | None
    completed_at: datetime | None
    verified_by: str | None
    verification_method: str | None
    verified_at: datetime | None
    code_expires_at: datetime | None
    rejection_ground: str | None
    rejection_note: str | None
    exceptions: list[dict[str, object]]
    outcome: dict[str, object]
    processors: list[dict[str, object]]
    export_expires_at: datetime | None
    export_available: bool
    certificate_available: bool
    receipt_sha256: str | None


class DsrDetail(DsrView):
    history: list[HistoryEntry]


def request_view(session: Session, request: DataSubjectRequest) -> DsrView:
    now = utcnow()
    is_open = request.status not in CLOSED_STATUSES
    export_available = (
        request.export_ciphertext is not None
        and request.export_expires_at is not None
        and request.export_expires_at > now
    )
    return DsrView(
        id=request.id,
        type=request.type,
        status=request.status,
        source=request.source,
        external_ref=request.external_ref,
        received_at=request.received_at,
        due_at=request.due_at,
        original_due_at=request.original_due_at,
        days_left=(request.due_at - now).days if is_open else None,
        overdue=is_open and request.due_at < now,
        extended_at=request.extended_at,
        extension_reason=request.extension_reason,
        extension_notified_at=request.extension_notified_at,
        completed_at=request.completed_at,
        verified_by=request.verified_by,
        verification_method=request.verification_method,
        verified_at=request.verified_at,
        code_expires_at=request.code_expires_at if request.code_hash else None,
        rejection_ground=request.rejection_ground,
        rejection_note=request.rejection_note,
        exceptions=json.loads(request.exceptions),
        outcome=json.loads(request.outcome),
        processors=processor_results(session, request.id),
        export_expires_at=request.export_expires_at,
        export_available=export_available,
        certificate_available=request.certificate is not None,
        receipt_sha256=request.receipt_sha256,
    )


def request_detail(session: Session, request: DataSubjectRequest) -> DsrDetail:
    """Build the view plus every audited step of the request, oldest first."""
    events = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.sender_id == request.sender_id,
            AuditEvent.object_type == "dsr",
            AuditEvent.object_id == request.id,
        )
        .order_by(col(AuditEvent.id))
    ).all()
    history = [HistoryEntry(action=e.action, actor=e.actor, at=e.created_at) for e in events]
    return DsrDetail(**request_view(session, request).model_dump(), history=history)
