"""Finding requests for the DPO: by id, by subject, by deadline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from compliance.core.blind_index import BlindIndex
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import utcnow
from dsr.models import CLOSED_STATUSES, DataSubjectRequest

CLOSED_VALUES = [status.value for status in CLOSED_STATUSES]


def get_request(session: Session, sender_id: str, request_id: str) -> DataSubjectRequest:
    """Return the sender's request; another sender's id is not found, like an unknown one."""
    request = session.get(DataSubjectRequest, request_id)
    if request is None or request.sender_id != sender_id:
        raise NotFound(
            N_("Request %(request_id)s not found; list requests with GET /v1/dsr."),
            request_id=safe_id(request_id),
        )
    return request


def list_requests(
    session: Session,
    sender_id: str,
    *,
    status: str | None = None,
    request_type: str | None = None,
    due_before: datetime | None = None,
    overdue: bool = False,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[DataSubjectRequest]:
    """Requests of a sender, soonest deadline first."""
    query = select(DataSubjectRequest).where(DataSubjectRequest.sender_id == sender_id)
    if status is not None:
        query = query.where(DataSubjectRequest.status == status)
    if request_type is not None:
        query = query.where(DataSubjectRequest.type == request_type)
    if due_before is not None:
        query = query.where(col(DataSubjectRequest.due_at) < due_before)
    if open_only:
        query = query.where(col(DataSubjectRequest.status).not_in(CLOSED_VALUES))
    if overdue:
        query = query.where(
            col(DataSubjectRequest.status).not_in(CLOSED_VALUES),
            col(DataSubjectRequest.due_at) < utcnow(),
        )
    query = query.order_by(col(DataSubjectRequest.due_at), col(DataSubjectRequest.id))
    return list(session.exec(query.offset(offset).limit(limit)).all())


def requests_of_subject(
    session: Session, sender_id: str, indexes: Sequence[BlindIndex]
) -> list[DataSubjectRequest]:
    digests = [index.digest for index in indexes]
    return list(
        session.exec(
            select(DataSubjectRequest)
            .where(
                DataSubjectRequest.sender_id == sender_id,
                col(DataSubjectRequest.subject_index).in_(digests),
            )
            .order_by(col(DataSubjectRequest.received_at))
        ).all()
    )


@dataclass(frozen=True)
class Timeliness:
    closed: int
    closed_late: int
    open_overdue: int


def timeliness(session: Session, sender_id: str, since: datetime) -> Timeliness:
    """Count requests closed since ``since``, those closed late, and open overdue ones."""
    closed = session.exec(
        select(DataSubjectRequest.completed_at, DataSubjectRequest.due_at).where(
            DataSubjectRequest.sender_id == sender_id,
            col(DataSubjectRequest.status).in_(CLOSED_VALUES),
            col(DataSubjectRequest.completed_at) >= since,
        )
    ).all()
    late = sum(1 for completed, due in closed if completed is not None and completed > due)
    overdue = len(list_requests(session, sender_id, overdue=True, limit=100_000))
    return Timeliness(len(closed), late, overdue)
