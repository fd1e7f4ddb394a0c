"""``/v1/suppressions/import`` and ``/v1/suppressions/export``: suppression files in ESP formats."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, TextIO, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput, request_locale, safe_id
from compliance.core.i18n import N_, translate
from compliance.core.models import Role
from suppression.exports import export_rows
from suppression.formats import FORMATS, ReadOptions, WriteOptions, detect_format
from suppression.imports import ImportOptions, import_records
from suppression.models import SuppressionReason

router = APIRouter(prefix="/v1", tags=["suppression"])

SenderKey = Depends(require_roles(Role.SENDER))
MEDIA_TYPES = {"json": "application/json", "jsonl": "application/x-ndjson"}


class RejectedOut(BaseModel):
    line: int
    field: str
    fault: str
    message: str


class ImportOut(BaseModel):
    import_id: str
    format: str
    read: int
    imported: int
    already_present: int
    not_applied: int
    rejected_count: int
    # The first 1,000 rejected lines; rejected_count has the total.
    rejected: list[RejectedOut]
    warnings: dict[str, int]


def _reader_format(name: str | None, filename: str | None, head: bytes) -> str:
    chosen = name or detect_format(filename, head)
    if chosen is None:
        raise InvalidInput(
            "format",
            N_(
                "The file format could not be detected; pass ?format=NAME "
                "(see GET /v1/suppressions/formats)."
            ),
        )
    spec = FORMATS.get(chosen)
    if spec is None or spec.reader is None:
        raise InvalidInput(
            "format",
            N_("Format %(format)s cannot be imported; see GET /v1/suppressions/formats."),
            format=safe_id(chosen),
        )
    return chosen


@router.post("/suppressions/import", response_model=ImportOut)
async def import_file(
    request: Request,
    session: DbSession,
    services: AppServices,
    format: Annotated[str | None, Query(max_length=60)] = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    reason: SuppressionReason | None = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    # The list, group or stream id of scoped formats (a SendGrid group id),
    # as the CLI's --scope-ref. Without it, the readers take it from ``filename``.
    scope_ref: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    keep_scope: bool = False,
    principal: Principal = SenderKey,
) -> ImportOut:
    """Import a suppression file sent as the raw request body (up to the body-size limit).

    Larger files go through `sendguard suppression import`, which streams.
    """
    body = await request.body()
    # Like the API's errors, each rejected line's message follows ?lang= or Accept-Language.
    lang = request_locale(request)
    chosen = _reader_format(format, filename, body[:8192])
    reader = FORMATS[chosen].reader
    assert reader is not None
    options = ReadOptions(filename=filename, reason=reason, status=status, scope_ref=scope_ref)
    import_options = ImportOptions(
        source=f"import:{chosen}", actor=principal.actor, keep_scope=keep_scope
    )

    report = await run_in_threadpool(
        import_records,
        session,
        principal.sender_id,
        services.indexer,
        reader(io.BytesIO(body), options),
        import_options,
    )
    return ImportOut(
        import_id=report.import_id,
        format=chosen,
        read=report.read,
        imported=report.imported,
        already_present=report.already_present,
        not_applied=report.not_applied,
        rejected_count=report.rejected_count,
        rejected=[
            RejectedOut(
                line=item.line,
                field=item.field,
                fault=item.fault.code,
                message=translate(lang, item.fault.msgid, **dict(item.fault.params)),
            )
            for item in report.rejected
        ],
        warnings=dict(report.warnings),
    )


class FormatOut(BaseModel):
    name: str
    esp: str
    description: str
    importable: bool
    exportable: bool
    mapping: list[tuple[str, str]]


@router.get("/suppressions/formats", response_model=list[FormatOut])
def list_formats(principal: Principal = SenderKey) -> list[FormatOut]:
    return [
        FormatOut(
            name=spec.name,
            esp=spec.esp,
            description=spec.description,
            importable=spec.reader is not None,
            exportable=spec.writer is not None,
            mapping=list(spec.mapping),
        )
        for spec in FORMATS.values()
    ]


@router.get(
    "/suppressions/export",
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}, "application/x-ndjson": {}},
            "description": "The file in the chosen format.",
        }
    },
)
def export_file(
    request: Request,
    session: DbSession,
    services: AppServices,
    format: Annotated[str, Query(max_length=60)] = "generic_csv",
    reason: Annotated[list[SuppressionReason] | None, Query()] = None,
    include_scoped: bool = False,
    principal: Principal = SenderKey,
) -> StreamingResponse:
    """Export active entries; ``reason`` (repeatable) keeps only those reasons."""
    spec = FORMATS.get(format)
    if spec is None or spec.writer is None:
        raise InvalidInput(
            "format",
            N_("Format %(format)s cannot be exported; see GET /v1/suppressions/formats."),
            format=safe_id(format),
        )

    lookup: Any = request.app.state.export_addresses
    rows = export_rows(
        session,
        principal.sender_id,
        reason,
        lambda current, sender, digests: lookup(current, services.keystore, sender, digests),
    )
    # Spooled: small exports stay in memory, large ones go to a temporary file.
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by the response's generator
        max_size=8_000_000, mode="w+", encoding="utf-8", newline=""
    )
    written = spec.writer(rows, cast(TextIO, spool), WriteOptions(include_scoped=include_scoped))
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(65536):
                yield chunk.encode("utf-8")

    if "jsonl" in format:
        extension = "jsonl"
    elif format.endswith("json"):
        extension = "json"
    else:
        extension = "csv"
    headers = {
        "Content-Disposition": f'attachment; filename="suppressions-{format}.{extension}"',
        "X-Sendguard-Rows-Written": str(written.written),
        "X-Sendguard-Rows-Skipped": str(sum(written.skipped.values())),
    }
    media = MEDIA_TYPES.get(extension, "text/csv; charset=utf-8")
    return StreamingResponse(chunks(), media_type=media, headers=headers)
