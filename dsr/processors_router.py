"""``/v1/processors`` and their notification tasks: who is notified of erasures (GDPR Art. 19)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.models import Role
from compliance.core.validation import ApiModel
from dsr import processors
from dsr.closing import reopen_after_retry
from dsr.models import Processor, ProcessorKind

router = APIRouter(prefix="/v1", tags=["processors"])

# An admin key is granted the dpo role too (compliance.core.auth).
DpoKey = Depends(require_roles(Role.DPO, Role.ADMIN))


class ProcessorCreate(ApiModel):
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["webhook", "sendgrid", "postmark", "mailchimp"]
    # Required for a webhook; for an API adapter, its official base URL by default.
    url: str | None = Field(default=None, min_length=1, max_length=500)
    # The webhook signing secret, or the API key (Postmark: the account token).
    secret: str = Field(min_length=1, max_length=1000)
    # Postmark only: the server token its suppressions API needs for objections.
    server_token: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)


class ProcessorOut(BaseModel):
    id: str
    name: str
    kind: str
    url: str
    config: dict[str, Any]
    active: bool
    created_at: datetime
    disabled_at: datetime | None


class TaskOut(BaseModel):
    task_id: str
    processor_id: str
    processor_name: str
    kind: str
    action: str
    status: str
    attempts: int
    last_error: str | None
    response_status: int | None
    remote_ref: str | None
    next_attempt_at: datetime | None
    completed_at: datetime | None


def _processor_out(processor: Processor) -> ProcessorOut:
    return ProcessorOut(
        id=processor.id,
        name=processor.name,
        kind=processor.kind,
        url=processor.url,
        config=processors.processor_config(processor),
        active=processor.active,
        created_at=processor.created_at,
        disabled_at=processor.disabled_at,
    )


def _task_out(view: processors.TaskView) -> TaskOut:
    return TaskOut.model_validate(view, from_attributes=True)


@router.post("/processors", status_code=201, response_model=ProcessorOut)
def register_processor(
    body: ProcessorCreate,
    session: DbSession,
    services: AppServices,
    principal: Principal = DpoKey,
) -> ProcessorOut:
    """Register a processor; the response never contains its secret."""
    processor = processors.register_processor(
        session,
        services,
        principal.sender_id,
        body.name,
        ProcessorKind(body.kind),
        body.url,
        body.secret,
        body.config,
        principal.actor,
        server_token=body.server_token,
    )
    return _processor_out(processor)


@router.get("/processors", response_model=list[ProcessorOut])
def list_processors(session: DbSession, principal: Principal = DpoKey) -> list[ProcessorOut]:
    return [
        _processor_out(processor)
        for processor in processors.list_processors(session, principal.sender_id)
    ]


@router.delete("/processors/{processor_id}", status_code=204)
def deactivate_processor(
    processor_id: str, session: DbSession, principal: Principal = DpoKey
) -> Response:
    """Stop queuing tasks for a processor; its queued tasks still run."""
    processors.deactivate_processor(session, principal.sender_id, processor_id, principal.actor)
    return Response(status_code=204)


@router.get("/dsr/{request_id}/processors", response_model=list[TaskOut])
def request_tasks(
    request_id: str, session: DbSession, principal: Principal = DpoKey
) -> list[TaskOut]:
    """List each processor notification of a request, with its status."""
    processors.get_request(session, principal.sender_id, request_id)
    return [_task_out(view) for view in processors.task_views(session, request_id)]


@router.post("/processor-tasks/{task_id}/retry", response_model=TaskOut)
def retry_task(
    task_id: str, session: DbSession, services: AppServices, principal: Principal = DpoKey
) -> TaskOut:
    """Queue a dead task again, with its attempts reset."""
    task = processors.retry_task(session, services, principal.sender_id, task_id, principal.actor)
    # A request that failed on this processor opens again; the processor's
    # response closes it once more, with a new certificate.
    reopen_after_retry(session, task.request_id, principal.actor)
    views = processors.task_views(session, task.request_id)
    return next(_task_out(view) for view in views if view.task_id == task.id)
