"""The life of a data-subject request: receipt, identity, execution, closure.

    received ──► identity_pending ──► verified ──► in_progress ──► completed
        │               │               │   ▲          │   ▲  └──► failed
        └───────────────┴───────────────┤   └ extended ┘   │
                                        └─────────► rejected (from any open state)

(``dsr.transitions.TRANSITIONS`` is the same graph as a table.)

Every transition is checked against that table and audited. A request
from the DPO with an attestation of identity is verified at once. A request
from the subscriber waits for the code mailed to the address.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import Session, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.errors import Conflict, safe_id
from compliance.core.i18n import N_
from compliance.core.models import Sender, utcnow
from compliance.core.signing import canonical_json
from consent.service import find_contacts
from dsr import emails, execution
from dsr.closing import close, reject, send_export_link
from dsr.deadlines import extended_due_date, first_due_date
from dsr.identity import code_matches, issue_code
from dsr.models import (
    DataSubjectRequest,
    RequestSource,
    RequestStatus,
    RequestType,
)
from dsr.payload import (
    RequestPayload,
    processor_changes,
    store_payload,
)
from dsr.processors import enqueue_tasks
from dsr.transitions import InvalidState, queue_notice, sender_of, subject_payload, transition

log = structlog.get_logger(__name__)

# Types that processors must hear about (Art. 19). Rectifications go to
# webhook processors only (dsr/processors.py enqueue_tasks).
NOTIFIED_TYPES = frozenset({RequestType.ERASURE, RequestType.OBJECTION, RequestType.RECTIFICATION})


class ExternalRefConflict(Conflict):
    code = "external_ref_conflict"


@dataclass(frozen=True)
class Attestation:
    """The DPO's statement that the requester's identity was checked (GDPR Art. 12(6))."""

    verified_by: str
    method: str
    verified_at: datetime


@dataclass(frozen=True)
class NewRequest:
    type: RequestType
    address: str
    source: RequestSource
    # None: the contact's language, else the sender's default.
    locale: str | None = None
    notify: bool = True
    attestation: Attestation | None = None
    external_ref: str | None = None
    received_at: datetime | None = None
    changes: dict[str, str] | None = None
    exceptions: Sequence[execution.ErasureException] = ()
    # False keeps a verified request waiting for POST /v1/dsr/{id}/execute.
    execute: bool = True
    # Mail a code to the address when no attestation is given.
    send_code: bool = True


def create_request(
    session: Session, services: Services, sender: Sender, new: NewRequest, actor: str
) -> tuple[DataSubjectRequest, bool]:
    """Record a request and take it as far as it can go; return it and whether it is new.

    A second request with the same ``external_ref`` returns the first one,
    so an import can run twice.
    """
    if new.external_ref is not None:
        existing = session.exec(
            select(DataSubjectRequest).where(
                DataSubjectRequest.sender_id == sender.id,
                DataSubjectRequest.external_ref == new.external_ref,
            )
        ).first()
        if existing is not None:
            same_subject = existing.subject_index in {
                index.digest for index in services.indexer.all_versions(new.address)
            }
            if not same_subject or existing.type != new.type:
                # Another person's or another kind of request under the same
                # reference: a typo in a file, never a repeat to ignore.
                raise ExternalRefConflict(
                    N_(
                        "Reference %(ref)s already belongs to another request (%(request_id)s) "
                        "with a different subject or type; give this request its own reference."
                    ),
                    context={"request_id": existing.id},
                    ref=safe_id(new.external_ref),
                    request_id=existing.id,
                )
            return existing, False

    index = services.indexer.current(new.address)
    received = new.received_at or utcnow()
    request = DataSubjectRequest(
        sender_id=sender.id,
        type=new.type,
        source=new.source,
        external_ref=new.external_ref,
        subject_index=index.digest,
        subject_index_version=index.version,
        received_at=received,
        due_at=first_due_date(received),
        exceptions=json.dumps([item.as_json() for item in new.exceptions]),
    )
    # NOTE: the key is created in the key store's own transaction; if this
    # transaction then fails, an unused key is left behind, holding nothing.
    store_payload(
        services.keystore,
        request,
        RequestPayload(
            new.address.strip(),
            dict(new.changes or {}),
            new.locale or _subject_locale(session, services, sender, new.address),
            new.notify,
        ),
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        sender.id,
        actor=actor,
        action=f"dsr.received.{new.type.value}",
        object_type="dsr",
        object_id=request.id,
    )

    if new.attestation is not None:
        attest(session, services, request, new.attestation, actor, execute_now=new.execute)
    elif new.type is RequestType.OBJECTION and new.source is RequestSource.DPO:
        # Art. 21(3): marketing stops on objection. Adding a suppression
        # harms no one, so the DPO's word is enough.
        attest(
            session,
            services,
            request,
            Attestation("dpo", "not_required", utcnow()),
            actor,
            execute_now=new.execute,
        )
    elif new.send_code:
        send_code(session, services, request, actor)
    return request, True


def _subject_locale(session: Session, services: Services, sender: Sender, address: str) -> str:
    """Return the language of the subject's emails: the contact's, else the sender's default."""
    contacts = find_contacts(session, sender.id, services.indexer.all_versions(address))
    return contacts[0].locale if contacts else sender.default_locale


def attest(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    attestation: Attestation,
    actor: str,
    *,
    execute_now: bool = True,
) -> None:
    transition(session, request, RequestStatus.VERIFIED, actor)
    request.verified_by = attestation.verified_by
    request.verification_method = attestation.method
    request.verified_at = attestation.verified_at
    request.code_hash = None
    session.add(request)
    if execute_now:
        execute(session, services, request, actor)


def send_code(
    session: Session, services: Services, request: DataSubjectRequest, actor: str
) -> None:
    """Mail a new code to the request's address; earlier codes stop working."""
    if request.status == RequestStatus.RECEIVED:
        transition(session, request, RequestStatus.IDENTITY_PENDING, actor)
    elif request.status != RequestStatus.IDENTITY_PENDING:
        raise InvalidState(
            N_("Request %(request_id)s is %(status)s; a code is sent only before verification."),
            context={"status": request.status},
            request_id=request.id,
            status=request.status,
        )
    now = utcnow()
    issued = issue_code(request.id, now, services.settings.dsr_code_ttl_minutes)
    request.code_hash = issued.code_hash
    request.code_expires_at = issued.expires_at
    request.code_attempts = 0
    session.add(request)
    payload = subject_payload(services, request)
    sender = sender_of(session, request)
    notice = emails.code_notice(
        payload.locale, sender, request.type, issued.code, services.settings.dsr_code_ttl_minutes
    )
    # The code email goes out even when the DPO turned notices off: it is
    # the identity check itself. Its idempotency key is per code.
    queue_notice(session, services, request, payload, notice, f"code:{issued.code_hash[:16]}")
    record_event(
        session,
        request.sender_id,
        actor=actor,
        action="dsr.code_sent",
        object_type="dsr",
        object_id=request.id,
    )


@dataclass(frozen=True)
class CodeCheck:
    # One of: verified, wrong, expired, locked, not_pending.
    status: str
    attempts_left: int = 0


def verify_code(
    session: Session, services: Services, request: DataSubjectRequest, code: str
) -> CodeCheck:
    """Check the subject's code; a match verifies the request and carries it out.

    Wrong tries are counted and stay counted: the caller commits before it
    reports the failure.
    """
    if request.status != RequestStatus.IDENTITY_PENDING or request.code_hash is None:
        return CodeCheck("not_pending")
    now = utcnow()
    if request.code_expires_at is None or now > request.code_expires_at:
        return CodeCheck("expired")

    if code_matches(request.id, request.code_hash, code):
        attest(
            session,
            services,
            request,
            Attestation("subject", "email_code", now),
            actor=f"dsr_subject:{request.id}",
        )
        return CodeCheck("verified")

    request.code_attempts += 1
    session.add(request)
    left = services.settings.dsr_code_max_attempts - request.code_attempts
    if left <= 0:
        reject(
            session,
            services,
            request,
            "identity_not_verified",
            "too many wrong codes",
            actor=f"dsr_subject:{request.id}",
        )
        return CodeCheck("locked")
    return CodeCheck("wrong", left)


def execute(session: Session, services: Services, request: DataSubjectRequest, actor: str) -> None:
    """Carry out a verified request, and close it unless processors still have to respond."""
    if request.outcome != "{}":
        raise InvalidState(
            N_("Request %(request_id)s was already carried out."), request_id=request.id
        )
    transition(session, request, RequestStatus.IN_PROGRESS, actor)
    payload = subject_payload(services, request)
    exceptions = [
        execution.ErasureException(item["ground"], tuple(item["categories"]), item["note"])
        for item in json.loads(request.exceptions)
    ]

    request_type = RequestType(request.type)
    if request_type is RequestType.ERASURE:
        outcome = execution.erase(session, services, request, payload, exceptions, actor)
    elif request_type is RequestType.OBJECTION:
        outcome = execution.object_to_marketing(session, services, request, payload, actor)
    elif request_type is RequestType.RESTRICTION:
        outcome = execution.restrict(session, services, request, payload, actor)
    elif request_type is RequestType.RECTIFICATION:
        outcome = execution.rectify(session, services, request, payload, actor)
        if not outcome["contacts_found"]:
            # Nothing to correct: the subject learns that no data is held (Art. 12(4)).
            request.outcome = json.dumps(outcome, sort_keys=True)
            reject(session, services, request, "no_data", None, actor)
            return
    else:
        outcome = execution.prepare_export(session, services, request, payload)
        if payload.notify:
            send_export_link(session, services, request, payload)

    request.outcome = json.dumps(outcome, sort_keys=True)
    request.receipt_sha256 = hashlib.sha256(canonical_json(outcome)).hexdigest()
    session.add(request)

    notified = request_type in NOTIFIED_TYPES
    if request_type is RequestType.RECTIFICATION and not processor_changes(payload.changes):
        # A new address takes effect only once the subject confirms it, so a
        # change of address alone has nothing to pass on yet.
        # TODO: tell webhook processors the new address once the subject confirms it.
        notified = False
    tasks = enqueue_tasks(session, request, request_type.value) if notified else []
    # Processors must respond, and a long event history must be purged
    # (dsr.event_purge), before the request completes.
    if not tasks and request.event_purge is None:
        close(session, services, request, RequestStatus.COMPLETED, actor)


def extend(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    months: int,
    reason: str,
    actor: str,
) -> None:
    """Extend the deadline once, by one or two months, within the first month (Art. 12(3))."""
    if request.original_due_at is not None:
        raise InvalidState(
            N_("Request %(request_id)s was already extended; the law allows one extension."),
            request_id=request.id,
        )
    now = utcnow()
    if now > request.due_at:
        raise InvalidState(
            N_(
                "The first month of request %(request_id)s ended on %(due)s; an extension "
                "must be announced to the subject before that date."
            ),
            request_id=request.id,
            due=request.due_at.date().isoformat(),
        )
    transition(session, request, RequestStatus.EXTENDED, actor)
    request.original_due_at = request.due_at
    request.due_at = extended_due_date(request.due_at, months)
    request.extended_at = now
    request.extension_reason = reason
    session.add(request)

    payload = subject_payload(services, request)
    if payload.notify:
        notice = emails.extension_notice(
            payload.locale, sender_of(session, request), request.due_at.date().isoformat(), reason
        )
        queue_notice(session, services, request, payload, notice, "extension")
        request.extension_notified_at = now
