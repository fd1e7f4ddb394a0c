"""``/v1/lists`` and ``/v1/campaigns``: lists, the list-deletion lock, campaigns and engagement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator

from compliance.core.audit import lock_sender
from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput
from compliance.core.i18n import N_
from compliance.core.models import Role, utcnow
from compliance.core.validation import ApiModel, email_address, single_line
from consent.service import ensure_contact, find_contacts
from suppression import campaigns, lists
from suppression.models import Campaign, EventKind, MailingList, SuppressionReason
from suppression.service import active_entries

ERASURE_REASONS = {SuppressionReason.ERASED.value, SuppressionReason.OBJECTION.value}

router = APIRouter(prefix="/v1", tags=["lists"])

SenderKey = Depends(require_roles(Role.SENDER))
MAX_MEMBER_CHANGES = 10_000
MAX_EVENTS = 10_000


# Names of lists and campaigns: one line of at most 200 characters.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]


class ListCreate(ApiModel):
    name: Name


class ListOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    member_count: int
    # End of the 7-day lock after the latest send that used the list, if any.
    locked_until: datetime | None


def _list_out(session: DbSession, mailing_list: MailingList) -> ListOut:
    lock = lists.current_lock(session, mailing_list.id, utcnow())
    return ListOut(
        id=mailing_list.id,
        name=mailing_list.name,
        created_at=mailing_list.created_at,
        member_count=lists.member_count(session, mailing_list.id),
        locked_until=lock.locked_until if lock else None,
    )


@router.post("/lists", status_code=201, response_model=ListOut)
def create_list(body: ListCreate, session: DbSession, principal: Principal = SenderKey) -> ListOut:
    mailing_list = lists.create_list(session, principal.sender_id, body.name, principal.actor)
    return _list_out(session, mailing_list)


@router.get("/lists/{list_id}", response_model=ListOut)
def read_list(list_id: str, session: DbSession, principal: Principal = SenderKey) -> ListOut:
    return _list_out(session, lists.get_list(session, principal.sender_id, list_id))


class DeletedList(BaseModel):
    id: str
    deleted_at: datetime


@router.delete("/lists/{list_id}", response_model=DeletedList)
def delete_list(list_id: str, session: DbSession, principal: Principal = SenderKey) -> DeletedList:
    """Delete a list, or return 409 ``list_locked`` within 7 days of a send that used it."""
    mailing_list = lists.delete_list(session, principal.sender_id, list_id, principal.actor)
    assert mailing_list.deleted_at is not None
    return DeletedList(id=mailing_list.id, deleted_at=mailing_list.deleted_at)


class MemberChange(ApiModel):
    add: list[str] = Field(default_factory=list, max_length=MAX_MEMBER_CHANGES)
    remove: list[str] = Field(default_factory=list, max_length=MAX_MEMBER_CHANGES)

    @field_validator("add", "remove")
    @classmethod
    def _valid_addresses(cls, values: list[str]) -> list[str]:
        return [email_address(value) for value in values]


class MemberChangeOut(BaseModel):
    added: int
    # Addresses of erased or objecting people, never stored again.
    rejected_erased: int
    already_members: int
    removed: int
    not_members: int


@router.post("/lists/{list_id}/members", response_model=MemberChangeOut)
def change_members(
    list_id: str,
    body: MemberChange,
    session: DbSession,
    services: AppServices,
    principal: Principal = SenderKey,
) -> MemberChangeOut:
    """Add or remove members by address; members not named stay as they are."""
    # Taken before any read: an erasure running at the same time either
    # finishes first (and its suppression entry is seen below) or waits for
    # this import and then removes what it added.
    lock_sender(session, principal.sender_id)
    lists.get_list(session, principal.sender_id, list_id)
    to_add: list[str] = []
    rejected = 0
    for address in body.add:
        indexes = services.indexer.all_versions(address)
        reasons = {entry.reason for entry in active_entries(session, principal.sender_id, indexes)}
        if reasons & ERASURE_REASONS:
            # An erased or objecting person must not be stored again; only
            # their own new double opt-in can bring the address back.
            rejected += 1
            continue
        to_add.append(ensure_contact(session, services, principal.sender_id, address).id)
    to_remove = [
        contact.id
        for address in body.remove
        for contact in find_contacts(
            session, principal.sender_id, services.indexer.all_versions(address)
        )
    ]
    change = lists.change_members(
        session, principal.sender_id, list_id, to_add, to_remove, principal.actor
    )
    # An address with no contact cannot be a member: count it as "not a member".
    not_members = change.not_members + len(body.remove) - len(set(to_remove))
    return MemberChangeOut(
        rejected_erased=rejected,
        added=change.added,
        already_members=change.already_members,
        removed=change.removed,
        not_members=not_members,
    )


class CampaignCreate(ApiModel):
    name: Name
    list_ids: list[str] = Field(min_length=1, max_length=100)


class CampaignOut(BaseModel):
    id: str
    name: str
    list_ids: list[str]
    created_at: datetime
    sent_at: datetime | None


def _campaign_out(session: DbSession, campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        list_ids=campaigns.campaign_list_ids(session, campaign.id),
        created_at=campaign.created_at,
        sent_at=campaign.sent_at,
    )


@router.post("/campaigns", status_code=201, response_model=CampaignOut)
def create_campaign(
    body: CampaignCreate, session: DbSession, principal: Principal = SenderKey
) -> CampaignOut:
    campaign = campaigns.create_campaign(
        session, principal.sender_id, body.name, body.list_ids, principal.actor
    )
    return _campaign_out(session, campaign)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def read_campaign(
    campaign_id: str, session: DbSession, principal: Principal = SenderKey
) -> CampaignOut:
    return _campaign_out(session, campaigns.get_campaign(session, principal.sender_id, campaign_id))


class Counts(ApiModel):
    sent: int = Field(default=0, ge=0)
    delivered: int = Field(default=0, ge=0)
    hard_bounces: int = Field(default=0, ge=0)
    soft_bounces: int = Field(default=0, ge=0)
    complaints: int = Field(default=0, ge=0)
    unsubscribes: int = Field(default=0, ge=0)
    opens: int = Field(default=0, ge=0)
    clicks: int = Field(default=0, ge=0)


class MarkSent(ApiModel):
    sent_at: AwareDatetime | None = None
    counts: Counts | None = None


@router.post("/campaigns/{campaign_id}/sent", response_model=CampaignOut)
def mark_sent(
    campaign_id: str,
    session: DbSession,
    body: MarkSent | None = None,
    principal: Principal = SenderKey,
) -> CampaignOut:
    """Record the send; the campaign's lists are then locked for 7 days from ``sent_at``."""
    request = body or MarkSent()
    if request.sent_at is not None and request.sent_at > datetime.now(UTC):
        raise InvalidInput(
            "sent_at", N_("Field sent_at is in the future; give the time the send started.")
        )
    counts = campaigns.SendCounts(**request.counts.model_dump()) if request.counts else None
    campaign = campaigns.mark_sent(
        session, principal.sender_id, campaign_id, principal.actor, request.sent_at, counts
    )
    return _campaign_out(session, campaign)


class EventIn(ApiModel):
    email: str = Field(min_length=3, max_length=320)
    type: Literal["delivered", "open", "click"]
    occurred_at: AwareDatetime | None = None

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


class EventsIn(ApiModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsOut(BaseModel):
    recorded: int


@router.post("/campaigns/{campaign_id}/events", response_model=EventsOut)
def record_events(
    campaign_id: str,
    body: EventsIn,
    session: DbSession,
    services: AppServices,
    principal: Principal = SenderKey,
) -> EventsOut:
    """Record deliveries, opens and clicks; they decide who counts as inactive."""
    events = []
    for item in body.events:
        indexes = services.indexer.all_versions(item.email)
        contacts = find_contacts(session, principal.sender_id, indexes)
        events.append(
            campaigns.EngagementEvent(
                blind_index=indexes[0].digest,
                contact_id=contacts[0].id if contacts else None,
                kind=EventKind(item.type),
                occurred_at=item.occurred_at or utcnow(),
            )
        )
    return EventsOut(
        recorded=campaigns.record_engagement(session, principal.sender_id, campaign_id, events)
    )
