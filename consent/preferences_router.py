"""Sender-side API of the preference center: unsubscribe headers, link revocation,
preference events and their reviewed reversal, leave reasons, unsubscribe timing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select

from compliance.core.audit import record_event
from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput, NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import Role, utcnow
from compliance.core.validation import ApiModel
from consent import preferences
from consent.headers import preferences_url, unsubscribe_headers
from consent.models import Contact, PreferenceEvent, PreferenceEventKind, PreferenceMethod
from consent.service import subscriptions_of
from consent.topics import declared_topics
from suppression.lists import memberships_of

router = APIRouter(prefix="/v1", tags=["preferences"])

SenderKey = Depends(require_roles(Role.SENDER))
SenderOrDpo = Depends(require_roles(Role.SENDER, Role.DPO))
AdminKey = Depends(require_roles(Role.ADMIN))


def _contact(session: DbSession, sender_id: str, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.sender_id != sender_id:
        raise NotFound(N_("Contact %(contact_id)s not found."), contact_id=safe_id(contact_id))
    return contact


class HeadersIn(ApiModel):
    # "all", "topic:<key>" or "list:<id>": what the link unsubscribes.
    scope: str = Field(default="all", max_length=80)

    @field_validator("scope")
    @classmethod
    def _valid_scope(cls, value: str) -> str:
        kind, _, ref = value.partition(":")
        if value != "all" and (kind not in ("topic", "list") or not ref):
            raise ValueError(N_("give 'all', 'topic:<key>' or 'list:<id>'."))
        return value


class HeadersOut(BaseModel):
    headers: dict[str, str]
    preferences_url: str


@router.post("/contacts/{contact_id}/unsubscribe-headers", response_model=HeadersOut)
def contact_unsubscribe_headers(
    contact_id: str,
    body: HeadersIn,
    session: DbSession,
    services: AppServices,
    principal: Principal = SenderKey,
) -> HeadersOut:
    """Return the RFC 8058 headers and preference link for a campaign email to this contact."""
    contact = _contact(session, principal.sender_id, contact_id)
    kind, _, ref = body.scope.partition(":")
    topics = {topic.key for topic in declared_topics(session, contact.sender_id)}
    topics |= {row.topic for row in subscriptions_of(session, contact)}
    lists = {mailing_list.id for _, mailing_list in memberships_of(session, contact.id)}
    # A link for a scope the contact is not in would unsubscribe from nothing.
    if (kind == "topic" and ref not in topics) or (kind == "list" and ref not in lists):
        raise InvalidInput(
            "scope",
            N_(
                "scope: the contact has no topic or list %(ref)s; use one of its topics"
                " (topic:<key>), one of its lists (list:<id>), or 'all'."
            ),
            ref=safe_id(ref),
        )
    return HeadersOut(
        headers=unsubscribe_headers(services, contact.sender_id, contact.id, body.scope),
        preferences_url=preferences_url(services, contact.sender_id, contact.id),
    )


class RevokedOut(BaseModel):
    contact_id: str
    links_not_before: datetime


@router.post("/contacts/{contact_id}/links/revoke", response_model=RevokedOut)
def revoke_links(
    contact_id: str, session: DbSession, principal: Principal = SenderOrDpo
) -> RevokedOut:
    """Turn off every page link sent to the contact so far; new emails carry working links.

    The cut-off is the next whole second, because link tokens record their
    issue time in whole seconds.
    """
    contact = _contact(session, principal.sender_id, contact_id)
    contact.links_not_before = utcnow().replace(microsecond=0) + timedelta(seconds=1)
    session.add(contact)
    record_event(
        session,
        principal.sender_id,
        actor=principal.actor,
        action="contact.links_revoked",
        object_type="contact",
        object_id=contact.id,
    )
    return RevokedOut(contact_id=contact.id, links_not_before=contact.links_not_before)


class EventOut(BaseModel):
    id: str
    contact_id: str
    kind: str
    method: str
    scope: str
    value: str | None
    client_hash: str | None
    created_at: datetime
    reversed_at: datetime | None


class EventsOut(BaseModel):
    events: list[EventOut]
    # Events per client fingerprint, largest first: a scanner shows up as
    # one fingerprint behind many unsubscribes.
    by_client: dict[str, int]


@router.get("/preference-events", response_model=EventsOut)
def list_events(
    session: DbSession,
    since: Annotated[datetime, Query(description="ISO 8601 time with zone")],
    until: datetime | None = None,
    kind: PreferenceEventKind | None = None,
    method: PreferenceMethod | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    principal: Principal = SenderKey,
) -> EventsOut:
    """Preference events of the sender in a time window, to review a burst of unsubscribes."""
    query = select(PreferenceEvent).where(
        PreferenceEvent.sender_id == principal.sender_id,
        col(PreferenceEvent.created_at) >= since,
    )
    if until is not None:
        query = query.where(col(PreferenceEvent.created_at) < until)
    if kind is not None:
        query = query.where(PreferenceEvent.kind == kind.value)
    if method is not None:
        query = query.where(PreferenceEvent.method == method.value)
    rows = session.exec(query.order_by(col(PreferenceEvent.created_at)).limit(limit)).all()
    counts = Counter(row.client_hash for row in rows if row.client_hash)
    return EventsOut(
        events=[
            EventOut(
                id=row.id,
                contact_id=row.contact_id,
                kind=row.kind,
                method=row.method,
                scope=row.scope,
                value=row.value,
                client_hash=row.client_hash,
                created_at=row.created_at,
                reversed_at=row.reversed_at,
            )
            for row in rows
        ],
        by_client=dict(counts.most_common()),
    )


class ReverseIn(ApiModel):
    event_ids: list[str] = Field(min_length=1, max_length=10_000)
    # Why these unsubscribes are judged not to come from the people: kept
    # with each lifted suppression entry.
    justification: str = Field(min_length=10, max_length=1000)


class ReverseOut(BaseModel):
    reversed_event_ids: list[str]
    skipped_event_ids: list[str]


@router.post("/preference-events/reverse", response_model=ReverseOut)
def reverse_events(
    body: ReverseIn, session: DbSession, principal: Principal = AdminKey
) -> ReverseOut:
    """Undo unsubscribes that a review found were made by a machine (an audited admin action)."""
    outcome = preferences.reverse_unsubscribes(
        session, principal.sender_id, body.event_ids, principal.actor, body.justification
    )
    return ReverseOut(
        reversed_event_ids=outcome.reversed_event_ids,
        skipped_event_ids=[safe_id(item) for item in outcome.skipped_event_ids],
    )


class LeaveReasonsOut(BaseModel):
    since: datetime
    counts: dict[str, int]


@router.get("/leave-reasons", response_model=LeaveReasonsOut)
def leave_reasons(
    session: DbSession,
    since: datetime | None = None,
    principal: Principal = SenderKey,
) -> LeaveReasonsOut:
    """Count the leavers who gave each reason; never who gave which."""
    start = since or utcnow() - timedelta(days=30)
    return LeaveReasonsOut(
        since=start, counts=preferences.leave_reason_counts(session, principal.sender_id, start)
    )
