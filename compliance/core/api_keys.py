"""``/v1/keys``: admins create and revoke their sender's API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from compliance.core.auth import Principal, require_roles
from compliance.core.db import DbSession
from compliance.core.errors import Conflict
from compliance.core.i18n import N_
from compliance.core.models import Role
from compliance.core.tenants import issue_key, revoke_key
from compliance.core.validation import ApiModel

router = APIRouter(prefix="/v1", tags=["keys"])


class KeyCreate(ApiModel):
    role: Literal["sender", "dpo", "admin"]


class KeyCreated(BaseModel):
    id: str
    role: str
    # Shown once: only its hash is stored.
    key: str


class KeyRevoked(BaseModel):
    id: str
    revoked_at: datetime


@router.post("/keys", status_code=201, response_model=KeyCreated)
def create_key(
    body: KeyCreate,
    session: DbSession,
    principal: Principal = Depends(require_roles(Role.ADMIN)),  # noqa: B008 - FastAPI dependency
) -> KeyCreated:
    issued = issue_key(session, principal.sender_id, Role(body.role), principal.actor)
    return KeyCreated(id=issued.key_id, role=issued.role.value, key=issued.secret)


@router.delete("/keys/{key_id}", response_model=KeyRevoked)
def delete_key(
    key_id: str,
    session: DbSession,
    principal: Principal = Depends(require_roles(Role.ADMIN)),  # noqa: B008 - FastAPI dependency
) -> KeyRevoked:
    if key_id == principal.key_id:
        raise Conflict(
            N_("This request uses the key it would revoke; revoke it with another admin key.")
        )
    row = revoke_key(session, principal.sender_id, key_id, principal.actor)
    assert row.revoked_at is not None
    return KeyRevoked(id=row.id, revoked_at=row.revoked_at)
