"""``POST /v1/screen``: remove suppressed addresses from a recipient list."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.models import Role
from suppression import service

router = APIRouter(prefix="/v1", tags=["suppression"])

MAX_SCREEN_RECIPIENTS = 100_000


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(max_length=MAX_SCREEN_RECIPIENTS)


class RemovedItem(BaseModel):
    position: int
    reason: str


class ScreenResponse(BaseModel):
    kept: list[str]
    kept_count: int
    removed_count: int
    removed: list[RemovedItem]
    invalid: list[RemovedItem]
    duplicates: list[int]
    reasons: dict[str, int]


@router.post("/screen", response_model=ScreenResponse)
def screen_recipients(
    body: ScreenRequest,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> ScreenResponse:
    result = service.screen(session, principal.sender_id, services.indexer, body.recipients)
    return ScreenResponse(
        kept=result.kept,
        kept_count=len(result.kept),
        removed_count=len(result.removed),
        removed=[
            RemovedItem(position=item.position, reason=item.reason) for item in result.removed
        ],
        invalid=[
            RemovedItem(position=item.position, reason=item.reason) for item in result.invalid
        ],
        duplicates=result.duplicates,
        reasons=result.reasons,
    )
