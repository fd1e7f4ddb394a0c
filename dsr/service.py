"""Execute data-subject requests. This slice covers erasure with a DPO attestation."""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import Session

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.models import iso_utc, utcnow
from consent.service import erase_contact, find_contacts
from dsr.models import DataSubjectRequest, RequestStatus, RequestType
from suppression.models import SuppressionReason
from suppression.service import suppress

log = structlog.get_logger(__name__)


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Attestation:
    verified_by: str
    method: str
    verified_at: datetime


@dataclass(frozen=True)
class ErasureReceipt:
    request_id: str
    type: str
    status: str
    received_at: datetime
    due_at: datetime
    completed_at: datetime
    contacts_erased: int
    data_keys_destroyed: int
    subscriptions_deleted: int
    outbox_messages_deleted: int
    consent_records_kept_unreadable: int
    memberships_deleted: int
    delivery_events_deleted: int
    suppression_reason: str
    receipt_sha256: str


def erase_subject(
    session: Session,
    services: Services,
    sender_id: str,
    address: str,
    attestation: Attestation,
    actor: str,
) -> ErasureReceipt:
    """Erase everything held on ``address`` for one sender and keep it suppressed.

    Only the blind index survives, in the suppression list, so that the
    person is never mailed again (GDPR Art. 17(3)(b) and Art. 21(3)); the
    audit trail keeps ids and actions only.
    """
    received = utcnow()
    current = services.indexer.current(address)
    request = DataSubjectRequest(
        sender_id=sender_id,
        type=RequestType.ERASURE,
        status=RequestStatus.IN_PROGRESS,
        subject_index=current.digest,
        received_at=received,
        # GDPR Art. 12(3): respond within one month of receipt.
        due_at=add_months(received, 1),
        verified_by=attestation.verified_by,
        verification_method=attestation.method,
        verified_at=attestation.verified_at,
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="dsr.received.erasure",
        object_type="dsr",
        object_id=request.id,
    )

    erasures = [
        erase_contact(session, services, contact, actor)
        for contact in find_contacts(session, sender_id, services.indexer.all_versions(address))
    ]
    suppress(
        session,
        sender_id,
        current,
        reason=SuppressionReason.ERASED,
        source=f"dsr:{request.id}",
        actor=actor,
    )

    completed = utcnow()
    keys_destroyed = sum(1 for item in erasures if item.data_key_destroyed)
    subscriptions_deleted = sum(item.subscriptions_deleted for item in erasures)
    outbox_deleted = sum(item.outbox_messages_deleted for item in erasures)
    records_kept = sum(item.consent_records_kept_unreadable for item in erasures)
    memberships_deleted = sum(item.memberships_deleted for item in erasures)
    events_deleted = sum(item.delivery_events_deleted for item in erasures)
    outcome: dict[str, object] = {
        "contacts_erased": [item.contact_id for item in erasures],
        "data_keys_destroyed": keys_destroyed,
        "subscriptions_deleted": subscriptions_deleted,
        "outbox_messages_deleted": outbox_deleted,
        "consent_records_kept_unreadable": records_kept,
        "memberships_deleted": memberships_deleted,
        "delivery_events_deleted": events_deleted,
        "suppression_reason": SuppressionReason.ERASED.value,
    }
    canonical = json.dumps(
        {
            "request_id": request.id,
            "sender_id": sender_id,
            "completed_at": iso_utc(completed),
            **outcome,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    # TODO: sign the receipt as a certificate (detached signature) that a third party can verify.
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    request.status = RequestStatus.COMPLETED
    request.completed_at = completed
    request.outcome = json.dumps(outcome, sort_keys=True)
    request.receipt_sha256 = digest
    session.add(request)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="dsr.completed.erasure",
        object_type="dsr",
        object_id=request.id,
    )
    log.info(
        "dsr.erasure_completed", sender_id=sender_id, dsr_id=request.id, contacts=len(erasures)
    )

    return ErasureReceipt(
        request_id=request.id,
        type=request.type,
        status=request.status,
        received_at=request.received_at,
        due_at=request.due_at,
        completed_at=completed,
        contacts_erased=len(erasures),
        data_keys_destroyed=keys_destroyed,
        subscriptions_deleted=subscriptions_deleted,
        outbox_messages_deleted=outbox_deleted,
        consent_records_kept_unreadable=records_kept,
        memberships_deleted=memberships_deleted,
        delivery_events_deleted=events_deleted,
        suppression_reason=SuppressionReason.ERASED.value,
        receipt_sha256=digest,
    )
