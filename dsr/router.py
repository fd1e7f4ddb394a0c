"""The DPO's API for data-subject requests: ``/v1/dsr``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.errors import Conflict, InvalidInput, NotFound
from compliance.core.i18n import N_
from compliance.core.keystore import decrypt_bytes
from compliance.core.models import Role, Sender, utcnow
from compliance.core.validation import ApiModel, email_address
from consent.router import country_code
from dsr import closing, queries, workflow
from dsr.access import export_csv, export_json
from dsr.emails import REJECTION_GROUNDS
from dsr.execution import EXCEPTION_CATEGORIES, EXCEPTION_GROUNDS, EXPORT_FIELD, ErasureException
from dsr.models import (
    DataSubjectRequest,
    RequestSource,
    RequestStatus,
    RequestType,
    request_key_id,
)
from dsr.payload import PayloadGone, request_data_key
from dsr.views import DsrDetail, DsrView, request_detail, request_view

router = APIRouter(prefix="/v1", tags=["dsr"])

DPO = Depends(require_roles(Role.DPO))
MAX_IMPORT = 1000


class AttestationBody(ApiModel):
    """The DPO's statement that the requester's identity was verified (GDPR Art. 12(6))."""

    verified_by: str = Field(min_length=1, max_length=200)
    method: Literal[
        "id_document", "account_login", "email_code", "in_person", "signed_letter", "other"
    ]
    verified_at: AwareDatetime

    @field_validator("verified_at")
    @classmethod
    def _not_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC):
            raise ValueError(N_("is in the future; give the time the identity was checked."))
        return value


class ExceptionBody(ApiModel):
    """An Art. 17(3) ground that keeps some data despite the erasure."""

    ground: Literal[EXCEPTION_GROUNDS]  # type: ignore[valid-type]
    categories: list[Literal[EXCEPTION_CATEGORIES]] = Field(min_length=1)  # type: ignore[valid-type]
    note: str = Field(min_length=1, max_length=1000)


class ChangesBody(ApiModel):
    """The corrected values of a rectification (GDPR Art. 16)."""

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    country: str | None = None
    locale: Literal["fr", "en"] | None = None

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @field_validator("country")
    @classmethod
    def _valid_country(cls, value: str | None) -> str | None:
        return None if value is None else country_code(value)


class DsrCreate(ApiModel):
    type: RequestType
    email: str = Field(min_length=3, max_length=320)
    attestation: AttestationBody | None = None
    # The DPO's own reference: a second request with the same one returns the first.
    external_ref: str | None = Field(default=None, min_length=1, max_length=120)
    # When the request reached the organisation; the deadline runs from it.
    received_at: AwareDatetime | None = None
    changes: ChangesBody | None = None
    exceptions: list[ExceptionBody] = Field(default_factory=list, max_length=10)
    execute: bool = True
    notify_subject: bool = True
    send_code: bool = True
    locale: Literal["fr", "en"] | None = None

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)

    @field_validator("received_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC):
            raise ValueError(N_("is in the future; give the date the request was received."))
        return value

    @model_validator(mode="after")
    def _fields_fit_type(self) -> DsrCreate:
        if self.type is RequestType.RECTIFICATION:
            # {"name": null} sets a field but corrects nothing.
            if self.changes is None or not self.changes.model_dump(exclude_none=True):
                raise ValueError(N_("a rectification needs 'changes' with at least one field."))
        elif self.changes is not None:
            raise ValueError(N_("'changes' belongs to rectification requests only; remove it."))
        if self.exceptions and self.type is not RequestType.ERASURE:
            raise ValueError(N_("'exceptions' belongs to erasure requests only; remove it."))
        return self


class ImportBody(ApiModel):
    requests: list[dict[str, object]] = Field(min_length=1, max_length=MAX_IMPORT)


class ImportFailure(ApiModel):
    index: int
    field: str
    error: str


class ImportResult(ApiModel):
    created: list[str]
    existing: list[str]
    errors: list[ImportFailure]


class SubjectQuery(ApiModel):
    email: str = Field(min_length=3, max_length=320)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


class ExtendBody(ApiModel):
    months: int = Field(ge=1, le=2)
    # Art. 12(3): the subject receives the reasons for the delay.
    reason: str = Field(min_length=10, max_length=1000)


class RejectBody(ApiModel):
    ground: Literal[tuple(REJECTION_GROUNDS)]  # type: ignore[valid-type]
    note: str | None = Field(default=None, max_length=1000)


class ExecuteBody(ApiModel):
    exceptions: list[ExceptionBody] | None = Field(default=None, max_length=10)


def new_request_from(body: DsrCreate, sender: Sender, source: RequestSource) -> workflow.NewRequest:
    attestation = (
        workflow.Attestation(
            body.attestation.verified_by, body.attestation.method, body.attestation.verified_at
        )
        if body.attestation
        else None
    )
    changes = (
        {key: value for key, value in body.changes.model_dump().items() if value is not None}
        if body.changes
        else None
    )
    return workflow.NewRequest(
        type=body.type,
        address=body.email,
        source=source,
        locale=body.locale,
        notify=body.notify_subject,
        attestation=attestation,
        external_ref=body.external_ref,
        received_at=body.received_at,
        changes=changes,
        exceptions=[_exception(item) for item in body.exceptions],
        execute=body.execute,
        send_code=body.send_code,
    )


def _exception(body: ExceptionBody) -> ErasureException:
    return ErasureException(body.ground, tuple(body.categories), body.note)


def _sender(session: Session, principal: Principal) -> Sender:
    sender = session.get(Sender, principal.sender_id)
    if sender is None:
        raise NotFound(N_("Sender not found; check the API key."))
    return sender


@router.post("/dsr", status_code=201, response_model=DsrView)
def create_request(
    body: DsrCreate,
    response: Response,
    session: DbSession,
    services: AppServices,
    principal: Principal = DPO,
) -> DsrView:
    """Record a request; with an attestation of identity it is carried out at once."""
    sender = _sender(session, principal)
    request, created = workflow.create_request(
        session,
        services,
        sender,
        new_request_from(body, sender, RequestSource.DPO),
        principal.actor,
    )
    if not created:
        response.status_code = 200
    return request_view(session, request)


@router.post("/dsr/import", response_model=ImportResult)
def import_requests(
    body: ImportBody, session: DbSession, services: AppServices, principal: Principal = DPO
) -> ImportResult:
    """Import requests received elsewhere; each needs an ``external_ref``, so a rerun is safe.

    Each item is checked and recorded on its own: one bad item is reported
    with its index and does not stop the others.
    """
    sender = _sender(session, principal)
    result = ImportResult(created=[], existing=[], errors=[])
    for index, item in enumerate(body.requests):
        try:
            parsed = DsrCreate.model_validate(item)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "item"
            result.errors.append(ImportFailure(index=index, field=field, error=first["type"]))
            continue
        if parsed.external_ref is None:
            result.errors.append(ImportFailure(index=index, field="external_ref", error="missing"))
            continue
        try:
            with session.begin_nested():
                request, created = workflow.create_request(
                    session,
                    services,
                    sender,
                    new_request_from(parsed, sender, RequestSource.IMPORT),
                    principal.actor,
                )
        except Conflict as error:
            field = "external_ref" if error.code == "external_ref_conflict" else "type"
            result.errors.append(ImportFailure(index=index, field=field, error=error.code))
            continue
        (result.created if created else result.existing).append(request.id)
    return result


@router.get("/dsr", response_model=list[DsrView])
def list_requests(
    session: DbSession,
    principal: Principal = DPO,
    status: RequestStatus | None = None,
    type: RequestType | None = None,
    due_before: AwareDatetime | None = None,
    overdue: bool = False,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> list[DsrView]:
    """Requests, soonest deadline first; ``overdue=true`` keeps open ones past their deadline."""
    rows = queries.list_requests(
        session,
        principal.sender_id,
        status=status.value if status else None,
        request_type=type.value if type else None,
        due_before=due_before,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return [request_view(session, row) for row in rows]


@router.post("/dsr/search", response_model=list[DsrView])
def search_by_subject(
    body: SubjectQuery, session: DbSession, services: AppServices, principal: Principal = DPO
) -> list[DsrView]:
    """List the requests of one subject; the address comes in the body, never in a URL."""
    rows = queries.requests_of_subject(
        session, principal.sender_id, services.indexer.all_versions(body.email)
    )
    return [request_view(session, row) for row in rows]


@router.get("/dsr/{request_id}", response_model=DsrDetail)
def get_request(request_id: str, session: DbSession, principal: Principal = DPO) -> DsrDetail:
    return request_detail(session, queries.get_request(session, principal.sender_id, request_id))


@router.post("/dsr/{request_id}/attest", response_model=DsrView)
def attest(
    request_id: str,
    body: AttestationBody,
    session: DbSession,
    services: AppServices,
    principal: Principal = DPO,
    execute: bool = True,
) -> DsrView:
    """Record that the DPO checked the requester's identity; the request then proceeds."""
    request = queries.get_request(session, principal.sender_id, request_id)
    attestation = workflow.Attestation(body.verified_by, body.method, body.verified_at)
    workflow.attest(session, services, request, attestation, principal.actor, execute_now=execute)
    return request_view(session, request)


@router.post("/dsr/{request_id}/send-code", response_model=DsrView)
def send_code(
    request_id: str, session: DbSession, services: AppServices, principal: Principal = DPO
) -> DsrView:
    request = queries.get_request(session, principal.sender_id, request_id)
    workflow.send_code(session, services, request, principal.actor)
    return request_view(session, request)


@router.post("/dsr/{request_id}/execute", response_model=DsrView)
def execute(
    request_id: str,
    session: DbSession,
    services: AppServices,
    body: ExecuteBody | None = None,
    principal: Principal = DPO,
) -> DsrView:
    """Carry out a verified request held with ``execute: false``, with its final exceptions."""
    request = queries.get_request(session, principal.sender_id, request_id)
    if body is not None and body.exceptions is not None:
        if body.exceptions and request.type != RequestType.ERASURE:
            raise InvalidInput(
                "exceptions", N_("Field exceptions belongs to erasure requests only; remove it.")
            )
        request.exceptions = json.dumps([_exception(item).as_json() for item in body.exceptions])
    workflow.execute(session, services, request, principal.actor)
    return request_view(session, request)


@router.post("/dsr/{request_id}/extend", response_model=DsrView)
def extend(
    request_id: str,
    body: ExtendBody,
    session: DbSession,
    services: AppServices,
    principal: Principal = DPO,
) -> DsrView:
    request = queries.get_request(session, principal.sender_id, request_id)
    workflow.extend(session, services, request, body.months, body.reason, principal.actor)
    return request_view(session, request)


@router.post("/dsr/{request_id}/reject", response_model=DsrView)
def reject(
    request_id: str,
    body: RejectBody,
    session: DbSession,
    services: AppServices,
    principal: Principal = DPO,
) -> DsrView:
    request = queries.get_request(session, principal.sender_id, request_id)
    closing.reject_by_dpo(session, services, request, body.ground, body.note, principal.actor)
    return request_view(session, request)


@router.post("/dsr/{request_id}/lift-restriction", response_model=DsrView)
def lift_restriction(
    request_id: str, session: DbSession, services: AppServices, principal: Principal = DPO
) -> DsrView:
    request = queries.get_request(session, principal.sender_id, request_id)
    closing.lift_restriction(session, services, request, principal.actor)
    return request_view(session, request)


@router.get("/dsr/{request_id}/certificate")
def certificate(request_id: str, session: DbSession, principal: Principal = DPO) -> Response:
    """Return the signed certificate of a closed request, as a file to keep."""
    request = queries.get_request(session, principal.sender_id, request_id)
    if request.certificate is None:
        raise Conflict(
            N_("Request %(request_id)s is %(status)s; its certificate exists once it is closed."),
            request_id=request.id,
            status=request.status,
        )
    return Response(
        json.dumps(json.loads(request.certificate), indent=2, sort_keys=True) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="dsr-certificate-{request.id}.json"'
        },
    )


@router.get(
    "/dsr/{request_id}/export",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export(
    request_id: str,
    session: DbSession,
    services: AppServices,
    principal: Principal = DPO,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Return the access or portability export while its link is valid."""
    request = queries.get_request(session, principal.sender_id, request_id)
    return export_response(services, request, format)


def export_response(services: Services, request: DataSubjectRequest, file_format: str) -> Response:
    if (
        request.export_ciphertext is None
        or request.export_expires_at is None
        or request.export_expires_at <= utcnow()
    ):
        raise NotFound(
            N_(
                "The export of request %(request_id)s is not available: it was never made "
                "or it expired. Create a new access request."
            ),
            request_id=request.id,
        )
    try:
        key = request_data_key(services.keystore, request)
    except PayloadGone:
        raise NotFound(
            N_("The export of request %(request_id)s was destroyed."), request_id=request.id
        ) from None
    content = json.loads(
        decrypt_bytes(key, request_key_id(request.id), EXPORT_FIELD, request.export_ciphertext)
    )
    as_csv = file_format == "csv"
    body = export_csv(content) if as_csv else export_json(content)
    filename = f"data-{request.id}.{'csv' if as_csv else 'json'}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8" if as_csv else "application/json",
        # An attachment that browsers never sniff as HTML: a name such as
        # "<script>" in the export stays inert text.
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
