"""Sendguard's own formats: generic CSV, JSON Lines and JSON, and the hashed CSV.

Columns (CSV) or keys (JSON): ``email``, ``reason``, ``created_at`` (or
``created``), ``scope``, ``scope_ref``, and for entries whose address is
unknown ``blind_index`` with ``key_version``. Column names are matched without
regard to case. A CSV file may also be a plain list of addresses, one per
line, with or without a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, clean_source_reason, default_reason
from suppression.formats.csv_io import CsvRow, Header, iter_csv_rows, read_header
from suppression.formats.json_io import JsonItem, JsonItems, as_object, iter_json_lines, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ImportRecord,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_any, optional_time
from suppression.models import SuppressionReason, SuppressionScope

_BLIND_INDEX = re.compile(r"[0-9a-fA-F]{64}")
_KEY_VERSION = re.compile(r"\d{1,9}")

_COLUMNS = (
    "email",
    "reason",
    "created_at",
    "created",
    "scope",
    "scope_ref",
    "blind_index",
    "key_version",
    "source",
)


@dataclass(frozen=True)
class _Fields:
    """The raw values of one generic entry, from a CSV row or a JSON object."""

    email: str = ""
    reason: str = ""
    created_at: object = None
    scope: str = ""
    scope_ref: str = ""
    blind_index: str = ""
    key_version: str = ""


def _scope(line: int, fields: _Fields) -> tuple[SuppressionScope, str] | RejectedLine:
    text = fields.scope.strip().lower()
    reference = fields.scope_ref.strip()
    try:
        scope = SuppressionScope(text) if text else SuppressionScope.GLOBAL
    except ValueError:
        allowed = [member.value for member in SuppressionScope]
        return RejectedLine(line, "scope", faults.unknown_value("scope", allowed))

    if scope is SuppressionScope.GLOBAL and reference:
        return RejectedLine(line, "scope_ref", faults.UNEXPECTED_SCOPE_REF)
    if scope is not SuppressionScope.GLOBAL and not reference:
        return RejectedLine(line, "scope_ref", faults.MISSING_SCOPE_REF)
    scope_fault = faults.scope_ref_fault(reference)
    if scope_fault is not None:
        return RejectedLine(line, "scope_ref", scope_fault)
    return scope, reference


def _reason(
    line: int, text: str, fallback: SuppressionReason | None
) -> SuppressionReason | RejectedLine:
    text = text.strip().lower()
    if not text and fallback is not None:
        return fallback
    if not text:
        return RejectedLine(line, "reason", faults.missing_value("reason"))
    try:
        return SuppressionReason(text)
    except ValueError:
        allowed = [member.value for member in SuppressionReason]
        return RejectedLine(line, "reason", faults.unknown_value("reason", allowed))


def _hashed_record(
    line: int,
    fields: _Fields,
    reason: SuppressionReason,
    scope: tuple[SuppressionScope, str],
) -> ReadResult:
    digest = fields.blind_index.strip()
    if not _BLIND_INDEX.fullmatch(digest):
        return RejectedLine(line, "blind_index", faults.INVALID_BLIND_INDEX)

    version = fields.key_version.strip()
    if not _KEY_VERSION.fullmatch(version) or int(version) == 0:
        return RejectedLine(line, "key_version", faults.INVALID_KEY_VERSION)

    occurred_at, warnings = optional_time(fields.created_at, from_any)
    source_reason, more_warnings = clean_source_reason(fields.reason)
    return ImportRecord(
        line=line,
        reason=reason,
        # HMAC hex digests are compared as produced by hexdigest(): lower case.
        blind_index=digest.lower(),
        key_version=int(version),
        source_reason=source_reason,
        occurred_at=occurred_at,
        scope=scope[0],
        scope_ref=scope[1],
        warnings=warnings + more_warnings,
    )


def _entry(
    line: int, fields: _Fields, fallback: SuppressionReason | None, *, hashed_only: bool
) -> ReadResult:
    reason = _reason(line, fields.reason, fallback)
    if isinstance(reason, RejectedLine):
        return reason

    scope = _scope(line, fields)
    if isinstance(scope, RejectedLine):
        return scope

    # An exported entry whose address is unknown has an empty email cell and
    # its blind index, so the generic formats read their own exports back.
    if hashed_only or (not fields.email.strip() and fields.blind_index.strip()):
        return _hashed_record(line, fields, reason, scope)

    occurred_at, warnings = optional_time(fields.created_at, from_any)
    return address_record(
        line,
        fields.email,
        reason=reason,
        source_reason=fields.reason,
        occurred_at=occurred_at,
        scope=scope[0],
        scope_ref=scope[1],
        warnings=warnings,
    )


def _fields_from_row(row: CsvRow, header: Header) -> _Fields:
    return _Fields(
        email=row.get(header.find("email")),
        reason=row.get(header.find("reason")),
        created_at=row.get(header.find("created_at", "created")),
        scope=row.get(header.find("scope")),
        scope_ref=row.get(header.find("scope_ref")),
        blind_index=row.get(header.find("blind_index")),
        key_version=row.get(header.find("key_version")),
    )


def _is_header(row: CsvRow) -> bool:
    # A first cell with "@" starts a plain list without a header. Anything
    # else is a header, so a damaged first address is rejected, not lost, and
    # a header without an email column is reported.
    return "@" not in row.cells[0]


def read_generic_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a generic CSV file, or a plain list of addresses with or without a header.

    A row without a reason gets the caller's reason, or MANUAL.
    """
    rows = iter_csv_rows(stream)
    fallback = default_reason(options)

    first: CsvRow | None = None
    for item in rows:
        if isinstance(item, RejectedLine):
            yield item
            continue
        first = item
        break
    if first is None:
        return

    header: Header | None = None
    if _is_header(first):
        header = Header(first, case_sensitive=False)
        if len(first.cells) > 1 and not (header.has("email") or header.has("blind_index")):
            yield RejectedLine(first.line, "header", faults.missing_column(["email"]))
            return
        duplicate = header.duplicated(_COLUMNS)
        if duplicate is not None:
            yield RejectedLine(first.line, "header", faults.duplicate_column(duplicate))
            return
        body: Iterator[CsvRow | RejectedLine] = rows
    else:
        body = _prepend(first, rows)

    for item in body:
        if isinstance(item, RejectedLine):
            yield item
        elif header is None or (len(header.names) == 1 and not header.has("blind_index")):
            # A plain list: the first cell is the address, the rest is ignored.
            yield _entry(item.line, _Fields(email=item.get(0)), fallback, hashed_only=False)
        elif header.extra_cells(item):
            yield RejectedLine(item.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield _entry(item.line, _fields_from_row(item, header), fallback, hashed_only=False)


def _prepend(
    first: CsvRow, rows: Iterator[CsvRow | RejectedLine]
) -> Iterator[CsvRow | RejectedLine]:
    yield first
    yield from rows


def read_hashed_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read entries known only by blind index: ``blind_index,key_version,reason`` and more.

    An ``email`` column, if present, is ignored, so that no address enters
    through this format.
    """
    rows = iter_csv_rows(stream)
    header = yield from read_header(
        rows,
        required=[["blind_index"], ["key_version"], ["reason"]],
        known=_COLUMNS,
        case_sensitive=False,
    )
    if header is None:
        return

    for item in rows:
        if isinstance(item, RejectedLine):
            yield item
        elif header.extra_cells(item):
            yield RejectedLine(item.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield _entry(item.line, _fields_from_row(item, header), None, hashed_only=True)


def _fields_from_json(value: dict[str, object]) -> _Fields:
    return _Fields(
        email=text_of(value, "email"),
        reason=text_of(value, "reason"),
        created_at=value.get("created_at", value.get("created")),
        scope=text_of(value, "scope"),
        scope_ref=text_of(value, "scope_ref"),
        blind_index=text_of(value, "blind_index"),
        key_version=text_of(value, "key_version"),
    )


def _json_entries(
    items: Iterator[JsonItem | RejectedLine], options: ReadOptions
) -> Iterator[ReadResult]:
    fallback = default_reason(options)
    for item in items:
        if isinstance(item, RejectedLine):
            yield item
            continue

        # An array of plain addresses, as in the JSON bodies of several ESPs.
        if isinstance(item.value, str):
            yield _entry(item.line, _Fields(email=item.value), fallback, hashed_only=False)
            continue

        found = as_object(item.value)
        if found is None:
            yield RejectedLine(item.line, "json", faults.NOT_AN_OBJECT)
        else:
            yield _entry(item.line, _fields_from_json(found), fallback, hashed_only=False)


def read_generic_jsonl(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read JSON Lines: one object with the generic keys, or one address string, per line."""
    yield from _json_entries(iter_json_lines(stream), options)


def read_generic_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a JSON array of objects with the generic keys, or of address strings."""
    yield from _json_entries(iter(JsonItems(stream, array_paths=[()])), options)
