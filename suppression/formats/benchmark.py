"""Benchmark Email: the Do Not Contact CSV, contact list downloads and API JSON.

Benchmark documents little. Import rules: UTF-8 CSV with a labelled header
row and a required ``Email`` column.
https://benchmarkemail.helpscoutdocs.com/article/52-supported-list-format
API shapes come from the official Postman collection:
https://github.com/BenchmarkEmail/RESTful-API-v3/tree/HEAD/Postman%20Collections
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, default_reason, filename_search
from suppression.formats.csv_io import read_table
from suppression.formats.json_io import JsonItems, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_benchmark, optional_time
from suppression.models import SuppressionReason

# Member statuses of a contact download or of GET /Contact/{ListID}/ContactDetails.
# The API selects them with Filter=2 (unsubscribed) and Filter=5 (hard bounces).
STATUSES: dict[str, SuppressionReason | None] = {
    "active": None,
    "unsubscribed": SuppressionReason.UNSUBSCRIBE,
    "bounced": SuppressionReason.HARD_BOUNCE,
}
_FILTERS = {"2": "unsubscribed", "5": "bounced"}
_FILTER_IN_NAME = re.compile(r"Filter[-=_]?(\d+)", re.IGNORECASE)


def _status(options: ReadOptions) -> str | RejectedLine:
    status = (options.status or "").strip().lower()
    if not status:
        found = filename_search(options, _FILTER_IN_NAME)
        status = _FILTERS.get(found.group(1), "") if found else ""
    if not status:
        return RejectedLine(1, "status", faults.status_required(STATUSES))
    if status not in STATUSES:
        return RejectedLine(1, "status", faults.unknown_value("status", STATUSES))
    return status


def _member(line: int, address: str, status: str, changed: str) -> ReadResult:
    reason = STATUSES[status]
    occurred_at, warnings = optional_time(changed, from_benchmark)
    return address_record(
        line,
        address,
        reason=reason or SuppressionReason.MANUAL,
        source_reason=status,
        occurred_at=occurred_at if reason else None,
        suppress=reason is not None,
        warnings=warnings if reason else (),
    )


def read_dnc_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a Do Not Contact list CSV (``Email``, optional ``First Name``, ``Last Name``).

    The rows carry no reason, so they get the caller's reason or MANUAL.
    """
    table = yield from read_table(stream, required=[["Email"]], case_sensitive=False)
    if table is None:
        return
    header, body = table

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
            continue
        yield address_record(
            row.line,
            row.get(header.find("Email")),
            reason=default_reason(options),
            source_reason="do_not_contact",
        )


def read_contacts_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a contact list download. Only ``Email`` is required, matched without regard to case.

    NOTE: the real header row, delimiter and date columns of this download
    are unconfirmed. The file has no status column because the export filter
    selects the members, so the status must come from the caller or the name.
    """
    status = _status(options)
    if isinstance(status, RejectedLine):
        yield status
        return

    table = yield from read_table(stream, required=[["Email"]], case_sensitive=False)
    if table is None:
        return
    header, body = table

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
        else:
            yield _member(row.line, row.get(header.find("Email")), status, "")


def read_contacts_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ``GET /Contact/{ListID}/ContactDetails`` responses (``Response.Data``).

    ``UpdatedDate`` is taken as the time of the status change.
    """
    status = _status(options)
    if isinstance(status, RejectedLine):
        yield status
        return

    items = JsonItems(stream, array_paths=[("Response", "Data")])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item
        yield _member(line, text_of(found, "Email"), status, text_of(found, "UpdatedDate"))


def read_unsubscribe_report_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a campaign's unsubscribe report, ``GET /Emails/{ID}/Report/Unsubscribes``.

    NOTE: the texts of ``Reason`` 1 to 5 are undocumented, so the value is
    kept as the source reason and every row is an unsubscribe.
    """
    items = JsonItems(stream, array_paths=[("Response", "Data")])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item
        occurred_at, warnings = optional_time(text_of(found, "Date"), from_benchmark)
        yield address_record(
            line,
            text_of(found, "Email"),
            reason=SuppressionReason.UNSUBSCRIBE,
            source_reason=text_of(found, "Reason") or "unsubscribed",
            occurred_at=occurred_at,
            warnings=warnings,
        )
