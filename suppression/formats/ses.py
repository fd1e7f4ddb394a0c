"""Amazon SES v2 account suppression list: bulk import files and the list response.

Import files (CreateImportJob): CSV without a header row, ``address,reason``
for PUT and ``address`` for DELETE, or JSON Lines with camelCase keys
``emailAddress`` and ``reason``. Reasons are only BOUNCE and COMPLAINT.
https://github.com/awsdocs/amazon-ses-developer-guide/blob/HEAD/doc-source/sending-email-suppression-list.md
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SuppressedDestinationSummary.html
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record
from suppression.formats.csv_io import iter_csv_rows
from suppression.formats.json_io import JsonItems, iter_json_lines, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_epoch, optional_time
from suppression.models import SuppressionReason

REASONS = {
    "BOUNCE": SuppressionReason.HARD_BOUNCE,
    "COMPLAINT": SuppressionReason.COMPLAINT,
}

# AWS does not say whether a header row is tolerated, so the import files are
# written without one. A first row that is plainly a header is skipped.
_HEADER_NAMES = {"email", "emailaddress", "email_address", "address"}


def _put(
    line: int,
    address: str,
    reason_text: str,
    occurred_at: datetime | None = None,
    warnings: tuple[str, ...] = (),
) -> ReadResult:
    code = reason_text.strip().upper()
    if not code:
        return RejectedLine(line, "reason", faults.missing_value("reason"))
    reason = REASONS.get(code)
    if reason is None:
        return RejectedLine(line, "reason", faults.unknown_value("reason", REASONS))
    return address_record(
        line,
        address,
        reason=reason,
        source_reason=code,
        occurred_at=occurred_at,
        warnings=warnings,
    )


def _delete(line: int, address: str) -> ReadResult:
    # A DELETE file removes addresses from the SES list. An import never lifts
    # a Sendguard suppression, so these rows are reported, not applied.
    return address_record(
        line, address, reason=SuppressionReason.MANUAL, source_reason="DELETE", suppress=False
    )


def _is_header(line: int, first_cell: str) -> bool:
    return line == 1 and first_cell.strip().lower() in _HEADER_NAMES


def read_put_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read an SES PUT import CSV: ``address,BOUNCE|COMPLAINT`` per line, no header."""
    for row in iter_csv_rows(stream):
        if isinstance(row, RejectedLine):
            yield row
        elif _is_header(row.line, row.get(0)):
            continue
        elif any(cell.strip() for cell in row.cells[2:]):
            yield RejectedLine(row.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield _put(row.line, row.get(0), row.get(1))


def read_delete_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read an SES DELETE import CSV (one address per line). Records have suppress=False."""
    for row in iter_csv_rows(stream):
        if isinstance(row, RejectedLine):
            yield row
        elif _is_header(row.line, row.get(0)):
            continue
        elif any(cell.strip() for cell in row.cells[1:]):
            yield RejectedLine(row.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield _delete(row.line, row.get(0))


def read_put_jsonl(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read an SES PUT import in JSON Lines: ``{"emailAddress": ..., "reason": ...}``."""
    for item in iter_objects(iter_json_lines(stream)):
        if isinstance(item, RejectedLine):
            yield item
        else:
            line, found = item
            yield _put(line, text_of(found, "emailAddress"), text_of(found, "reason"))


def read_delete_jsonl(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read an SES DELETE import in JSON Lines. Records have suppress=False."""
    for item in iter_objects(iter_json_lines(stream)):
        if isinstance(item, RejectedLine):
            yield item
        else:
            line, found = item
            yield _delete(line, text_of(found, "emailAddress"))


def read_list_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ListSuppressedDestinations (one page) or GetSuppressedDestination responses.

    SES has no file export, so an export is a series of these pages.
    ``LastUpdateTime`` is Unix seconds with a fraction.
    """
    items = JsonItems(
        stream,
        array_paths=[("SuppressedDestinationSummaries",)],
        object_paths=[("SuppressedDestination",)],
    )
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item
        occurred_at, warnings = optional_time(found.get("LastUpdateTime"), from_epoch)
        yield _put(
            line, text_of(found, "EmailAddress"), text_of(found, "Reason"), occurred_at, warnings
        )
