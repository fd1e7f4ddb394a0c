"""``POST /v1/screen`` and ``POST /v1/screen/recheck``: which recipients may be mailed.

Screening lives in the suppression package; this module adds the consent
package's basis look-up, which the suppression package may not import.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.metrics import observe_screening
from compliance.core.models import Role
from compliance.core.validation import ApiModel
from compliance.presend.recipients import index_threshold
from consent.evidence import digests_with_basis
from suppression.screening import ScreenOptions, ScreenResult, recheck_batch, screen

router = APIRouter(prefix="/v1", tags=["screening"])

MAX_SCREEN_RECIPIENTS = 100_000


class ScreenRequest(ApiModel):
    recipients: list[str] = Field(max_length=MAX_SCREEN_RECIPIENTS)
    # Entries scoped to these lists apply too (global entries always apply).
    list_ids: list[str] = Field(default_factory=list, max_length=100)
    exclude_role_addresses: bool = False
    exclude_inactive: bool = False
    # Remove recipients without a confirmed double opt-in.
    require_consent: bool = False


class RecheckRequest(ApiModel):
    recipients: list[str] = Field(max_length=MAX_SCREEN_RECIPIENTS)
    # The lists the batch is sent to: their scoped opt-outs apply too.
    list_ids: list[str] = Field(default_factory=list, max_length=100)


class Removal(BaseModel):
    position: int
    reason: str
    # For no_basis and basis_warning: the lawful-basis verdict code, such as
    # consent_unconfirmed (see docs/lawful-basis.md). Absent otherwise.
    detail: str | None = None


class ScreenResponse(BaseModel):
    kept: list[str]
    kept_count: int
    removed_count: int
    removed: list[Removal]
    # Kept but worth review: role addresses, inactive recipients.
    flagged: list[Removal]
    # Counts by reason: suppression reasons, invalid_syntax, duplicate,
    # no_basis, role_address, inactive, and flagged_* for kept ones.
    counts: dict[str, int]


def _response(result: ScreenResult) -> ScreenResponse:
    return ScreenResponse(
        kept=result.kept,
        kept_count=len(result.kept),
        removed_count=len(result.removed),
        removed=[
            Removal(position=item.position, reason=item.reason, detail=item.detail)
            for item in result.removed
        ],
        flagged=[
            Removal(position=item.position, reason=item.reason, detail=item.detail)
            for item in result.flagged
        ],
        counts=result.counts,
    )


@router.post("/screen", response_model=ScreenResponse, response_model_exclude_none=True)
def screen_recipients(
    body: ScreenRequest,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> ScreenResponse:
    """Screen up to 100,000 recipients; split larger lists, or use `sendguard screen`."""
    options = ScreenOptions(
        exclude_role_addresses=body.exclude_role_addresses,
        exclude_inactive=body.exclude_inactive,
        basis_lookup=digests_with_basis if body.require_consent else None,
        list_ids=tuple(body.list_ids),
        index_threshold=index_threshold(services.settings),
        build_index_in_background=True,
    )
    started = time.perf_counter()
    result = screen(session, principal.sender_id, services.indexer, body.recipients, options)
    observe_screening(len(result.kept), len(result.removed), time.perf_counter() - started)
    return _response(result)


@router.post("/screen/recheck", response_model=ScreenResponse, response_model_exclude_none=True)
def recheck(
    body: RecheckRequest,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> ScreenResponse:
    """Re-check one batch right before sending it: an opt-out made since screening applies."""
    return _response(
        recheck_batch(
            session, principal.sender_id, services.indexer, body.recipients, tuple(body.list_ids)
        )
    )
