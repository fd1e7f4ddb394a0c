"""``/v1/suppressions``: add entries by hand and lift sticky ones by audited admin override."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, field_validator, model_validator

from compliance.core.auth import Principal, require_roles
from compliance.core.blind_index import BlindIndex
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput, NotFound
from compliance.core.i18n import N_
from compliance.core.models import Role
from compliance.core.validation import ApiModel, email_address
from suppression import service
from suppression.lists import get_list
from suppression.models import SuppressionReason, SuppressionScope

router = APIRouter(prefix="/v1", tags=["suppression"])

_DIGEST = re.compile(r"^[0-9a-f]{64}$")

# Reasons a sender may add by hand. Erasure and objection come from
# data-subject requests, so they carry the DSR's proof.
ManualReason = Literal[
    "unsubscribe", "hard_bounce", "complaint", "manual", "invalid_address", "spam_trap"
]


class SuppressionIn(ApiModel):
    """An address, or a blind index when only the hash is known (``key_version`` then required)."""

    email: str | None = Field(default=None, min_length=3, max_length=320)
    blind_index: str | None = None
    key_version: int | None = Field(default=None, ge=1)
    reason: ManualReason = "manual"
    scope: Literal["global", "list", "topic"] = "global"
    scope_ref: str = Field(default="", max_length=64)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @model_validator(mode="after")
    def _one_identifier(self) -> SuppressionIn:
        if (self.email is None) == (self.blind_index is None):
            raise ValueError(N_("give exactly one of 'email' and 'blind_index'."))
        if self.blind_index is not None and (
            not _DIGEST.match(self.blind_index) or self.key_version is None
        ):
            raise ValueError(
                N_("'blind_index' must be 64 lowercase hex characters, with 'key_version'.")
            )
        if self.scope != "global" and not self.scope_ref:
            raise ValueError(N_("a list or topic scope needs 'scope_ref', the list or topic id."))
        return self


class SuppressionOut(BaseModel):
    id: str
    reason: str
    scope: str
    scope_ref: str
    key_version: int
    created_at: datetime


@router.post("/suppressions", status_code=201, response_model=SuppressionOut)
def add_suppression(
    body: SuppressionIn,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> SuppressionOut:
    """Suppress an address (or a blind index). Adding the same entry twice returns the first."""
    if body.scope == "topic":
        # TODO: accept topic scopes once topics exist; screening ignores them today.
        raise InvalidInput(
            "scope", N_("Field scope 'topic' is not available yet; use 'global' or 'list'.")
        )
    if body.scope == "list":
        get_list(session, principal.sender_id, body.scope_ref)
    if body.email is not None:
        index = services.indexer.current(body.email)
    else:
        assert body.blind_index is not None and body.key_version is not None
        if body.key_version not in services.indexer.versions:
            raise InvalidInput(
                "key_version",
                N_("Field key_version %(version)s is not a live blind-index key version."),
                version=body.key_version,
            )
        index = BlindIndex(body.key_version, body.blind_index)

    entry = service.suppress(
        session,
        principal.sender_id,
        index,
        reason=SuppressionReason(body.reason),
        source="api",
        actor=principal.actor,
        scope=SuppressionScope(body.scope),
        scope_ref=body.scope_ref,
    )
    return SuppressionOut(
        id=entry.id,
        reason=entry.reason,
        scope=entry.scope,
        scope_ref=entry.scope_ref,
        key_version=entry.key_version,
        created_at=entry.created_at,
    )


class OverrideIn(ApiModel):
    email: str = Field(min_length=3, max_length=320)
    reason: Literal["complaint", "hard_bounce", "manual", "invalid_address", "spam_trap"]
    # Why the override is justified; kept in the audit log's record of the action.
    justification: str = Field(min_length=10, max_length=1000)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


class OverrideOut(BaseModel):
    lifted: int


@router.post("/suppressions/override", response_model=OverrideOut)
def override_suppression(
    body: OverrideIn,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.ADMIN)),  # noqa: B008 - FastAPI dependency
) -> OverrideOut:
    """Lift a sticky entry (complaint, hard bounce...) by admin decision; audited."""
    lifted = service.lift_by_admin(
        session,
        principal.sender_id,
        services.indexer.all_versions(body.email),
        SuppressionReason(body.reason),
        principal.actor,
        body.justification,
    )
    if not lifted:
        raise NotFound(
            N_("No active suppression with reason %(reason)s for this address."), reason=body.reason
        )
    return OverrideOut(lifted=len(lifted))
