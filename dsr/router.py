"""``POST /v1/dsr``: data-subject requests created by the DPO."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, Field, field_validator

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput
from compliance.core.i18n import N_
from compliance.core.models import Role
from compliance.core.validation import ApiModel, email_address
from dsr import service

router = APIRouter(prefix="/v1", tags=["dsr"])


class AttestationBody(ApiModel):
    """The DPO's statement that the requester's identity was verified (GDPR Art. 12(6))."""

    verified_by: str = Field(min_length=1, max_length=200)
    method: Literal[
        "id_document", "account_login", "email_code", "in_person", "signed_letter", "other"
    ]
    verified_at: AwareDatetime


class DsrRequest(ApiModel):
    type: Literal["access", "portability", "rectification", "erasure", "objection", "restriction"]
    email: str = Field(min_length=3, max_length=320)
    attestation: AttestationBody

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


@router.post("/dsr", status_code=201, response_model=service.ErasureReceipt)
def create_request(
    body: DsrRequest,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.DPO)),  # noqa: B008 - FastAPI dependency
) -> service.ErasureReceipt:
    if body.type != "erasure":
        # TODO: access, portability, rectification, objection and restriction requests.
        raise InvalidInput(
            "type",
            N_("Request type %(type)s is not available yet; only 'erasure' is."),
            type=body.type,
        )
    if body.attestation.verified_at > datetime.now(UTC):
        raise InvalidInput(
            "attestation.verified_at",
            N_(
                "Field attestation.verified_at is in the future; give the time the "
                "identity was checked."
            ),
        )

    attestation = service.Attestation(
        body.attestation.verified_by, body.attestation.method, body.attestation.verified_at
    )
    return service.erase_subject(
        session, services, principal.sender_id, body.email, attestation, principal.actor
    )
