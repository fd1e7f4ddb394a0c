"""Mailchimp audience exports: the per-status CSV files, API v3 members and Export API 1.0.

An audience export is a ZIP with one CSV per member status. The status is
known only from the file name (``unsubscribed_members_export_<id>.csv``), from
the caller, or from the columns that only one status has (``UNSUB_TIME``,
``CLEAN_TIME``). Unsubscribes are per audience (a Mailchimp list).
https://mailchimp.com/developer/marketing/docs/account-exports/
https://mailchimp.com/help/about-cleaned-contacts
https://apidocs.mailchimp.com/export/1.0/list.func.php
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, filename_search, scoped
from suppression.formats.csv_io import CsvRow, Header, read_table
from suppression.formats.json_io import (
    JsonItems,
    as_object,
    iter_json_lines,
    iter_objects,
    text_of,
)
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_iso8601, from_mailchimp, optional_time
from suppression.models import SuppressionReason, SuppressionScope

EMAIL_COLUMN = "Email Address"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "nonsubscribed")

# Statuses of API v3 members that are not opt-outs: reported, never applied.
_NOT_OPTED_OUT = {"subscribed", "nonsubscribed", "pending", "transactional", "archived"}

_STATUS_IN_NAME = re.compile(
    r"^(subscribed|unsubscribed|cleaned|nonsubscribed)_(?:members|email_audience)_export"
    r"|status-(subscribed|unsubscribed|cleaned)"
)

# UNSUB_REASON values that are not a plain unsubscribe. Mailchimp publishes
# no list, so every other value (survey answers, free text) is UNSUBSCRIBE.
_UNSUB_REASONS = {
    # Both spellings occur: the export writes "an admin", the API "admin".
    "N/A (Unsubscribed by an admin)": SuppressionReason.MANUAL,
    "N/A (Unsubscribed by admin)": SuppressionReason.MANUAL,
    # The person reports the mail as spam, which is a complaint even though it
    # came through the unsubscribe survey. Complaints are not lifted by a new
    # opt-in, so this is the stricter reading.
    "The emails are spam and should be reported": SuppressionReason.COMPLAINT,
}


def unsubscribe_reason(text: str) -> SuppressionReason:
    """Map an ``UNSUB_REASON`` or ``unsubscribe_reason`` value to a Sendguard reason."""
    return _UNSUB_REASONS.get(text.strip(), SuppressionReason.UNSUBSCRIBE)


def _status_from_columns(header: Header) -> str | None:
    if header.has("UNSUB_TIME"):
        return "unsubscribed"
    if header.has("CLEAN_TIME"):
        return "cleaned"
    if header.has("LAST_CHANGED"):
        # Subscribed and non-subscribed files share their columns, and
        # neither status is an opt-out.
        return "subscribed"
    return None


def _status(options: ReadOptions, header: Header) -> str | RejectedLine:
    requested = (options.status or "").strip().lower()
    if not requested:
        found = filename_search(options, _STATUS_IN_NAME)
        requested = next((group for group in found.groups() if group), "") if found else ""
    if requested and requested not in STATUSES:
        return RejectedLine(header.line, "status", faults.unknown_value("status", STATUSES))

    from_columns = _status_from_columns(header)
    # Subscribed and non-subscribed files share their columns, so either fits.
    compatible = {requested, from_columns} <= {"subscribed", "nonsubscribed"}
    if requested and from_columns and requested != from_columns and not compatible:
        fault = faults.status_mismatch(requested, from_columns)
        return RejectedLine(header.line, "status", fault)

    status = requested or from_columns
    if status is None:
        return RejectedLine(header.line, "status", faults.status_required(STATUSES))
    return status


def _member(row: CsvRow, header: Header, status: str, list_id: str) -> ReadResult:
    address = row.get(header.find(EMAIL_COLUMN))

    if status == "cleaned":
        # Cleaned is a hard bounce, or soft bounces that kept failing. The
        # file cannot tell them apart, and both are confirmed failures.
        occurred_at, warnings = optional_time(row.get(header.find("CLEAN_TIME")), from_mailchimp)
        return address_record(
            row.line,
            address,
            reason=SuppressionReason.HARD_BOUNCE,
            source_reason="cleaned",
            occurred_at=occurred_at,
            warnings=warnings,
        )

    if status == "unsubscribed":
        text = row.get(header.find("UNSUB_REASON"))
        reason = unsubscribe_reason(text)
        occurred_at, warnings = optional_time(row.get(header.find("UNSUB_TIME")), from_mailchimp)
        # UNSUB_REASON_OTHER is free text that may hold personal data, so it is not kept.
        if reason is SuppressionReason.COMPLAINT:
            scope, reference = SuppressionScope.GLOBAL, ""
        else:
            scope, reference = scoped(list_id, SuppressionScope.LIST)
        return address_record(
            row.line,
            address,
            reason=reason,
            source_reason=text or "unsubscribed",
            occurred_at=occurred_at,
            scope=scope,
            scope_ref=reference,
            warnings=warnings,
        )

    occurred_at, warnings = optional_time(row.get(header.find("LAST_CHANGED")), from_mailchimp)
    return address_record(
        row.line,
        address,
        reason=SuppressionReason.MANUAL,
        source_reason=status,
        occurred_at=occurred_at,
        suppress=False,
        warnings=warnings,
    )


def read_csv(stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS) -> Iterator[ReadResult]:
    """Read one CSV of a Mailchimp audience export.

    ``options.scope_ref`` is the audience id. Without it, unsubscribes are global.
    """
    table = yield from read_table(
        stream,
        required=[[EMAIL_COLUMN]],
        known=("UNSUB_TIME", "UNSUB_REASON", "CLEAN_TIME", "LAST_CHANGED"),
    )
    if table is None:
        return
    header, body = table

    status = _status(options, header)
    if isinstance(status, RejectedLine):
        yield status
        return

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
        else:
            yield _member(row, header, status, options.scope_ref or "")


def _cells(line: int, value: object) -> CsvRow | RejectedLine:
    if not isinstance(value, list):
        return RejectedLine(line, "line", faults.NOT_AN_ARRAY)
    cells = []
    for cell in value:
        if cell is None:
            cells.append("")
        elif isinstance(cell, str):
            cells.append(cell)
        else:
            cells.append(json.dumps(cell))
    return CsvRow(line, tuple(cells))


def read_export_api(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read Export API 1.0 ``list`` output: a JSON array of headers, then one array per member.

    The API ended on 2023-06-01, but saved dumps remain. Empty values are
    ``null`` or "".
    """
    lines = (
        item if isinstance(item, RejectedLine) else _cells(item.line, item.value)
        for item in iter_json_lines(stream)
    )
    first = next(lines, None)
    if first is None or isinstance(first, RejectedLine):
        line = 1 if first is None else first.line
        yield RejectedLine(line, "header", faults.MISSING_HEADER)
        return

    header = Header(first, case_sensitive=True)
    if not header.has(EMAIL_COLUMN):
        yield RejectedLine(header.line, "header", faults.missing_column([EMAIL_COLUMN]))
        return

    status = _status(options, header)
    if isinstance(status, RejectedLine):
        yield status
        return

    for row in lines:
        if isinstance(row, RejectedLine):
            yield row
        elif header.extra_cells(row):
            yield RejectedLine(row.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield _member(row, header, status, options.scope_ref or "")


def _api_member(line: int, member: dict[str, object], options: ReadOptions) -> ReadResult:
    status = text_of(member, "status")
    address = text_of(member, "email_address")
    occurred_at, warnings = optional_time(member.get("last_changed"), from_iso8601)

    if status == "cleaned":
        return address_record(
            line,
            address,
            reason=SuppressionReason.HARD_BOUNCE,
            source_reason="cleaned",
            occurred_at=occurred_at,
            warnings=warnings,
        )

    if status == "unsubscribed":
        text = text_of(member, "unsubscribe_reason")
        reason = unsubscribe_reason(text)
        list_id = options.scope_ref or text_of(member, "list_id")
        if reason is SuppressionReason.COMPLAINT:
            scope, reference = SuppressionScope.GLOBAL, ""
        else:
            scope, reference = scoped(list_id, SuppressionScope.LIST)
        return address_record(
            line,
            address,
            reason=reason,
            source_reason=text or "unsubscribed",
            occurred_at=occurred_at,
            scope=scope,
            scope_ref=reference,
            warnings=warnings,
        )

    if status in _NOT_OPTED_OUT:
        return address_record(
            line,
            address,
            reason=SuppressionReason.MANUAL,
            source_reason=status,
            occurred_at=occurred_at,
            suppress=False,
            warnings=warnings,
        )

    allowed = ["cleaned", "unsubscribed", *_NOT_OPTED_OUT]
    return RejectedLine(line, "status", faults.unknown_value("status", allowed))


def read_api_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read Marketing API v3 list members: one member object, or ``{"members": [...]}``.

    The member's ``list_id`` scopes an unsubscribe to its audience.
    """
    items = JsonItems(stream, array_paths=[("members",)], require_match=False)
    found_members = False
    for item in iter_objects(iter(items)):
        found_members = True
        if isinstance(item, RejectedLine):
            yield item
        else:
            yield _api_member(item[0], item[1], options)

    if found_members:
        return

    # A single member: its top-level scalars are all the reader needs.
    member = as_object(dict(items.envelope))
    if member is None or "email_address" not in member:
        yield RejectedLine(1, "json", faults.missing_array(["$.members"]))
        return
    yield _api_member(1, member, options)
