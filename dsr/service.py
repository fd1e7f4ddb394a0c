"""Shortcuts over the workflow for callers that erase in one step.

The preference center's erase button, the benchmark and tests erase a
subject with an identity already proven; they go through the same
workflow as the DPO's API, so the request, its certificate and its audit
trail are the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from compliance.core.context import Services
from compliance.core.models import Sender
from dsr.models import DataSubjectRequest, RequestSource, RequestType
from dsr.workflow import Attestation, NewRequest, create_request

__all__ = ["Attestation", "ErasureReceipt", "erase_subject"]


@dataclass(frozen=True)
class ErasureReceipt:
    request_id: str
    type: str
    status: str
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    contacts_erased: int
    data_keys_destroyed: int
    subscriptions_deleted: int
    outbox_messages_deleted: int
    consent_records_kept_unreadable: int
    memberships_deleted: int
    delivery_events_deleted: int
    suppression_reason: str
    receipt_sha256: str | None


def erase_subject(
    session: Session,
    services: Services,
    sender_id: str,
    address: str,
    attestation: Attestation,
    actor: str,
    *,
    source: RequestSource = RequestSource.DPO,
    locale: str | None = None,
) -> ErasureReceipt:
    """Erase everything held on ``address`` for one sender and keep it suppressed.

    Only the blind index survives, in the suppression list, so that the
    person is never mailed again (GDPR Art. 17(3)(b) and Art. 21(3)); the
    audit trail keeps ids and actions only.
    """
    sender = session.get(Sender, sender_id)
    if sender is None:
        raise LookupError(f"sender {sender_id} not found")
    request, _ = create_request(
        session,
        services,
        sender,
        NewRequest(
            type=RequestType.ERASURE,
            address=address,
            source=source,
            locale=locale or sender.default_locale,
            attestation=attestation,
        ),
        actor,
    )
    return erasure_receipt(request)


def erasure_receipt(request: DataSubjectRequest) -> ErasureReceipt:
    outcome = json.loads(request.outcome)
    return ErasureReceipt(
        request_id=request.id,
        type=request.type,
        status=request.status,
        received_at=request.received_at,
        due_at=request.due_at,
        completed_at=request.completed_at,
        contacts_erased=len(outcome.get("contacts_erased", [])),
        data_keys_destroyed=outcome.get("data_keys_destroyed", 0),
        subscriptions_deleted=outcome.get("subscriptions_deleted", 0),
        outbox_messages_deleted=outcome.get("outbox_messages_deleted", 0),
        consent_records_kept_unreadable=outcome.get("consent_records_kept_unreadable", 0),
        memberships_deleted=outcome.get("memberships_deleted", 0),
        delivery_events_deleted=outcome.get("delivery_events_deleted", 0),
        suppression_reason=outcome.get("suppression_reason", ""),
        receipt_sha256=request.receipt_sha256,
    )
