"""Public routes of data-subject requests: the subscriber's intake, the code, the export link.

The intake responds the same whether or not the address is known, and the
code goes to the address in both cases. So the person who controls the
mailbox learns what the sender keeps, possibly nothing (Art. 15(1) also
requires the controller to confirm that), and nobody else learns anything.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator

from compliance.core.client_address import client_address
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.error_responses import API_ERROR_RESPONSES
from compliance.core.errors import Conflict, InvalidInput, NotFound, RateLimited, safe_id
from compliance.core.i18n import N_
from compliance.core.tokens import TokenError, TokenPurpose
from compliance.core.validation import ApiModel, email_address
from consent.signup import sender_by_form_id
from dsr import workflow
from dsr.models import DataSubjectRequest, RequestSource, RequestType
from dsr.router import ChangesBody, export_response

router = APIRouter(tags=["dsr-public"])

# At most three codes an hour to one address, so the intake cannot be used
# to flood someone's mailbox (counted by services.dsr_subject_limiter).
CODES_PER_SUBJECT = 3
CODES_PER_SUBJECT_WINDOW_SECONDS = 3600


class IntakeBody(ApiModel):
    form_id: str = Field(min_length=1, max_length=40)
    type: RequestType
    email: str = Field(min_length=3, max_length=320)
    locale: Literal["fr", "en"] | None = None
    changes: ChangesBody | None = None

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


class CodeBody(ApiModel):
    code: str = Field(min_length=1, max_length=20)


@router.post("/v1/dsr/intake", status_code=202, responses=API_ERROR_RESPONSES)
def intake(
    body: IntakeBody, request: Request, session: DbSession, services: AppServices
) -> dict[str, object]:
    """Record a subscriber's request and mail a code to the address given."""
    if not services.subscribe_limiter.allow(f"dsr-ip:{client_address(request)}"):
        raise RateLimited(
            N_("Too many requests from this client; wait a minute and try again."),
            retry_after_seconds=60,
        )
    if body.type is RequestType.RECTIFICATION and (
        body.changes is None or not body.changes.model_dump(exclude_none=True)
    ):
        # {"name": null} sets a field but corrects nothing.
        raise InvalidInput("changes", N_("Field changes is missing; a rectification needs it."))
    if body.type is not RequestType.RECTIFICATION and body.changes is not None:
        raise InvalidInput(
            "changes", N_("Field changes belongs to rectification requests only; remove it.")
        )
    sender = sender_by_form_id(session, body.form_id)
    index = services.indexer.current(body.email)
    if not services.dsr_subject_limiter.allow(f"{sender.id}:{index.digest}"):
        raise RateLimited(
            N_("Too many codes were sent for this request; wait an hour and try again."),
            retry_after_seconds=3600,
        )

    changes = (
        {key: value for key, value in body.changes.model_dump().items() if value is not None}
        if body.changes
        else None
    )
    created, _ = workflow.create_request(
        session,
        services,
        sender,
        workflow.NewRequest(
            type=body.type,
            address=body.email,
            source=RequestSource.SUBSCRIBER,
            locale=body.locale,
            changes=changes,
        ),
        actor="dsr_intake",
    )
    return {
        "request_id": created.id,
        "status": created.status,
        "code_valid_minutes": services.settings.dsr_code_ttl_minutes,
    }


@router.post("/v1/dsr/intake/{request_id}/verify", responses=API_ERROR_RESPONSES)
def verify(
    request_id: str, body: CodeBody, session: DbSession, services: AppServices
) -> JSONResponse:
    """Check the mailed code; the request is then carried out at once."""
    found = session.get(DataSubjectRequest, request_id)
    if found is None or found.source != RequestSource.SUBSCRIBER:
        raise NotFound(
            N_("Request %(request_id)s not found; check the link or start again."),
            request_id=safe_id(request_id),
        )
    check = workflow.verify_code(session, services, found, body.code)
    # A wrong try must stay counted, so it is committed before the error.
    session.commit()

    if check.status == "verified":
        return JSONResponse({"request_id": found.id, "status": found.status})
    if check.status == "wrong":
        raise InvalidInput(
            "code",
            N_("The code is wrong (tries left: %(left)s); copy it again from the email."),
            left=check.attempts_left,
        )
    if check.status == "expired":
        raise InvalidInput(
            "code", N_("The code has expired; start the request again to get a new one.")
        )
    if check.status == "locked":
        raise Conflict(
            N_("Too many wrong codes: the request is closed. Start a new request."),
            context={"status": found.status},
        )
    raise Conflict(
        N_("Request %(request_id)s no longer waits for a code."),
        context={"status": found.status},
        request_id=found.id,
    )


# This route is a page, so its errors are HTML, like every path outside /v1.
@router.get(
    "/x/{token}",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}},
        404: {"description": "The link is invalid or expired.", "content": {"text/html": {}}},
        422: {
            "description": "Query parameter format is not json or csv.",
            "content": {"text/html": {}},
        },
    },
)
def download_export(
    token: str,
    session: DbSession,
    services: AppServices,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Return the subject's export from the emailed link, until the link expires."""
    try:
        claims = services.tokens.verify(token, TokenPurpose.DSR_EXPORT)
    except TokenError:
        raise NotFound(
            N_("This download link is invalid or has expired; ask for your data again.")
        ) from None
    found = session.get(DataSubjectRequest, claims.subject_id)
    if found is None or found.sender_id != claims.sender_id:
        raise NotFound(N_("This download link is invalid or has expired; ask for your data again."))
    return export_response(services, found, format)


@router.get("/v1/dsr/certificate-key")
def certificate_key(services: AppServices) -> dict[str, str]:
    """Return the public key that checks this installation's DSR certificates."""
    return {
        "algorithm": "Ed25519",
        "key_id": services.signer.public_key.key_id,
        "public_key": services.signer.public_key.text,
    }
