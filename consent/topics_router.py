"""``/v1/topics``: the topics a sender mails about, their wording, and which are public."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, field_validator

from compliance.core.audit import record_event
from compliance.core.auth import Principal, require_roles
from compliance.core.db import DbSession
from compliance.core.i18n import N_
from compliance.core.models import Role
from compliance.core.validation import ApiModel
from consent import topics
from consent.models import Topic

router = APIRouter(prefix="/v1", tags=["topics"])

SenderKey = Depends(require_roles(Role.SENDER))


class TopicCreate(ApiModel):
    key: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=200)
    name_fr: str = Field(min_length=1, max_length=200)
    # The checkbox text the form shows; the ledger keeps its SHA-256.
    wording_en: str = Field(min_length=1, max_length=2000)
    wording_fr: str = Field(min_length=1, max_length=2000)
    wording_version: str = Field(default="1", min_length=1, max_length=64)
    # False: the public form refuses the topic (customers-only lists and the like).
    public: bool = True

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        if not topics.TOPIC_KEY.match(value):
            raise ValueError(
                N_(
                    "each topic id must be 1 to 64 lowercase letters, digits, '-' or '_', "
                    "starting with a letter or digit."
                )
            )
        return value


class TopicPatch(ApiModel):
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    name_fr: str | None = Field(default=None, min_length=1, max_length=200)
    wording_en: str | None = Field(default=None, min_length=1, max_length=2000)
    wording_fr: str | None = Field(default=None, min_length=1, max_length=2000)
    wording_version: str | None = Field(default=None, min_length=1, max_length=64)
    public: bool | None = None


class TopicOut(BaseModel):
    key: str
    name_en: str
    name_fr: str
    wording_en: str
    wording_fr: str
    wording_version: str
    public: bool
    created_at: datetime | None


def _out(row: Topic) -> TopicOut:
    return TopicOut(
        key=row.key,
        name_en=row.name_en,
        name_fr=row.name_fr,
        wording_en=row.wording_en,
        wording_fr=row.wording_fr,
        wording_version=row.wording_version,
        public=row.public,
        created_at=row.created_at if row.sender_id else None,
    )


@router.get("/topics", response_model=list[TopicOut])
def list_topics(session: DbSession, principal: Principal = SenderKey) -> list[TopicOut]:
    """The live topics; a sender that declared none gets the default ``newsletter`` topic."""
    return [_out(row) for row in topics.declared_topics(session, principal.sender_id)]


@router.post("/topics", status_code=201, response_model=TopicOut)
def create_topic(
    body: TopicCreate, session: DbSession, principal: Principal = SenderKey
) -> TopicOut:
    row = topics.create_topic(session, principal.sender_id, topics.TopicInput(**body.model_dump()))
    record_event(
        session,
        principal.sender_id,
        actor=principal.actor,
        action="topic.created",
        object_type="topic",
        object_id=row.id,
    )
    return _out(row)


@router.patch("/topics/{key}", response_model=TopicOut)
def update_topic(
    key: str, body: TopicPatch, session: DbSession, principal: Principal = SenderKey
) -> TopicOut:
    row = topics.get_topic(session, principal.sender_id, key)
    row = topics.update_topic(session, row, body.model_dump(exclude_none=True))
    record_event(
        session,
        principal.sender_id,
        actor=principal.actor,
        action="topic.updated",
        object_type="topic",
        object_id=row.id,
    )
    return _out(row)


@router.delete("/topics/{key}", status_code=204)
def archive_topic(key: str, session: DbSession, principal: Principal = SenderKey) -> Response:
    """Archive a topic: no new sign-up for it; the consent records that name it stay."""
    row = topics.get_topic(session, principal.sender_id, key)
    topics.archive_topic(session, row)
    record_event(
        session,
        principal.sender_id,
        actor=principal.actor,
        action="topic.archived",
        object_type="topic",
        object_id=row.id,
    )
    return Response(status_code=204)
