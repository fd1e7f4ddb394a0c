"""The effect of each request type on the data, once identity is verified.

Each function returns the outcome to record: counts and ids, never
personal data, since the outcome goes into the signed certificate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from compliance.core.context import Services
from compliance.core.keystore import encrypt_bytes
from compliance.core.models import Sender, iso_utc, utcnow
from consent.models import Contact
from consent.rectification import rectify_contact
from consent.service import (
    ClientInfo,
    ContactErasure,
    erase_contact,
    find_contacts,
    unsubscribe_all,
)
from dsr.access import EXPORT_FORMAT, build_access_export
from dsr.models import DataSubjectRequest, RequestType, request_key_id
from dsr.payload import RequestPayload, request_data_key
from suppression.models import SuppressionEntry, SuppressionReason
from suppression.service import suppress
from suppression.subject_data import subject_records

EXPORT_FIELD = "export"

# Art. 17(3) grounds a DPO can record, and the data categories an exception can keep.
EXCEPTION_GROUNDS = (
    "freedom_of_expression",  # Art. 17(3)(a)
    "legal_obligation",  # (b)
    "public_health",  # (c)
    "archiving_research",  # (d)
    "legal_claims",  # (e)
)
EXCEPTION_CATEGORIES = ("consent_history", "delivery_events")


@dataclass(frozen=True)
class ErasureException:
    ground: str
    categories: tuple[str, ...]
    note: str

    def as_json(self) -> dict[str, object]:
        return {"ground": self.ground, "categories": list(self.categories), "note": self.note}


def _contacts(
    session: Session, services: Services, request: DataSubjectRequest, address: str
) -> list[Contact]:
    return find_contacts(session, request.sender_id, services.indexer.all_versions(address))


def _suppress_subject(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    reason: SuppressionReason,
    event_ref: str,
    actor: str,
) -> SuppressionEntry:
    """Add a global suppression entry for the request's subject, by blind index."""
    return suppress(
        session,
        request.sender_id,
        services.indexer.current(payload.address),
        reason=reason,
        source="dsr",
        event_ref=event_ref,
        actor=actor,
    )


def _pending_plans(session: Session, request: DataSubjectRequest) -> list[dict[str, list[str]]]:
    """Return the event purges still pending for the sender's other requests."""
    plans = session.exec(
        select(DataSubjectRequest.event_purge).where(
            DataSubjectRequest.sender_id == request.sender_id,
            DataSubjectRequest.id != request.id,
            col(DataSubjectRequest.event_purge).is_not(None),
        )
    ).all()
    return [json.loads(plan) for plan in plans if plan is not None]


def _event_purge_plan(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    erasures: Sequence[ContactErasure],
) -> str | None:
    """Build the JSON plan of the events left to delete, or None when none remain."""
    remaining = [item for item in erasures if item.events_remaining]
    contact_ids = {item.contact_id for item in remaining}
    digests = {digest for item in remaining for digest in item.event_digests}

    # An earlier erasure of the same person may still be purging. This one
    # waits for the same events, so its certificate is not issued while
    # some of them still exist.
    subject_digests = {index.digest for index in services.indexer.all_versions(payload.address)}
    for plan in _pending_plans(session, request):
        if subject_digests & set(plan["digests"]):
            contact_ids.update(plan["contact_ids"])
            digests.update(plan["digests"])

    if not contact_ids and not digests:
        return None
    return json.dumps({"contact_ids": sorted(contact_ids), "digests": sorted(digests)})


def erase(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    exceptions: Sequence[ErasureException],
    actor: str,
) -> dict[str, object]:
    """Erase every store, keep the blind index suppressed (Art. 17(3)(b) and Art. 21(3))."""
    kept_categories = {category for item in exceptions for category in item.categories}

    erasures = [
        erase_contact(
            session,
            services,
            contact,
            actor,
            keep_consent_history="consent_history" in kept_categories,
            keep_delivery_events="delivery_events" in kept_categories,
            event_limit=services.settings.dsr_inline_event_limit,
        )
        for contact in _contacts(session, services, request, payload.address)
    ]
    # A long history is deleted in background batches (dsr.event_purge), so
    # that the request stays short and other writers are not held back.
    request.event_purge = _event_purge_plan(session, services, request, payload, erasures)

    # Suppressed whether or not the address was known: an erased person
    # must not come back through a later import.
    _suppress_subject(
        session, services, request, payload, SuppressionReason.ERASED, f"dsr:{request.id}", actor
    )
    return {
        "contacts_erased": [item.contact_id for item in erasures],
        "data_keys_destroyed": sum(1 for item in erasures if item.data_key_destroyed),
        "subscriptions_deleted": sum(item.subscriptions_deleted for item in erasures),
        "outbox_messages_deleted": sum(item.outbox_messages_deleted for item in erasures),
        "consent_records_kept_unreadable": sum(
            item.consent_records_kept_unreadable for item in erasures if item.data_key_destroyed
        ),
        "memberships_deleted": sum(item.memberships_deleted for item in erasures),
        "delivery_events_deleted": sum(item.delivery_events_deleted for item in erasures),
        "delivery_events_pending": request.event_purge is not None,
        "categories_kept": sorted(kept_categories),
        "suppression_reason": SuppressionReason.ERASED.value,
    }


def object_to_marketing(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    actor: str,
) -> dict[str, object]:
    """Stop direct marketing at once (Art. 21(3)): withdraw every topic and suppress globally."""
    contacts = _contacts(session, services, request, payload.address)
    withdrawn = [
        contact.id
        for contact in contacts
        if unsubscribe_all(session, services, contact, source="dsr", event_ref=f"dsr:{request.id}")
    ]
    _suppress_subject(
        session, services, request, payload, SuppressionReason.OBJECTION, f"dsr:{request.id}", actor
    )
    return {
        "contacts_found": [contact.id for contact in contacts],
        "consent_withdrawn": withdrawn,
        "suppression_reason": SuppressionReason.OBJECTION.value,
    }


def restrict(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    actor: str,
) -> dict[str, object]:
    """Keep the data but use it for nothing (Art. 18): no mail goes out while it lasts."""
    contacts = _contacts(session, services, request, payload.address)
    entry = _suppress_subject(
        session,
        services,
        request,
        payload,
        SuppressionReason.MANUAL,
        restriction_ref(request.id),
        actor,
    )
    return {
        "contacts_found": [contact.id for contact in contacts],
        "suppression_entry": entry.id,
        "suppression_reason": SuppressionReason.MANUAL.value,
    }


def restriction_ref(request_id: str) -> str:
    return f"dsr:{request_id}:restriction"


def rectify(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
    actor: str,
) -> dict[str, object]:
    contacts = _contacts(session, services, request, payload.address)
    changed: dict[str, list[str]] = {}
    # The request's client is not the subscriber's browser: no IP or user agent.
    client = ClientInfo(ip=None, user_agent=None)
    for contact in contacts:
        changed[contact.id] = rectify_contact(
            session, services, contact, payload.changes, actor, client
        )
    return {
        "contacts_found": [contact.id for contact in contacts],
        "fields_changed": changed,
    }


def prepare_export(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
) -> dict[str, object]:
    """Build the access export (Art. 15 and 20) and keep it, encrypted, until its link expires."""
    contacts = _contacts(session, services, request, payload.address)
    if contacts:
        exports = [build_access_export(session, services, contact) for contact in contacts]
        export: dict[str, object] = exports[0] if len(exports) == 1 else {"contacts": exports}
    else:
        export = _export_without_contact(session, services, request, payload)
    export["request_id"] = request.id
    export["portable"] = request.type == RequestType.PORTABILITY

    key = request_data_key(services.keystore, request)
    content = json.dumps(export, ensure_ascii=False).encode("utf-8")
    request.export_ciphertext = encrypt_bytes(
        key, request_key_id(request.id), EXPORT_FIELD, content
    )
    request.export_expires_at = utcnow() + timedelta(days=services.settings.dsr_export_ttl_days)
    return {
        "contacts_found": [contact.id for contact in contacts],
        "export_sections": sorted(export),
        "export_expires_at": iso_utc(request.export_expires_at),
    }


def _export_without_contact(
    session: Session,
    services: Services,
    request: DataSubjectRequest,
    payload: RequestPayload,
) -> dict[str, object]:
    """Build the export of an address with no contact: its suppression state, if any, only.

    Art. 15(1) gives a right to confirmation that no data is processed, so
    the export exists even when it is empty.
    """
    sender = session.get(Sender, request.sender_id)
    digests = [index.digest for index in services.indexer.all_versions(payload.address)]
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "generated_at": iso_utc(utcnow()),
        "controller": {
            "name": sender.name if sender else "",
            "postal_address": sender.postal_address if sender else "",
        },
        "contact": None,
        **subject_records(session, request.sender_id, None, digests),
    }
