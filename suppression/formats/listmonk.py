"""listmonk: the subscribers CSV export, the import CSV files and the subscribers API.

The CSV export carries the subscriber status (``enabled``, ``disabled``,
``blocklisted``) but not the per-list subscription status, so list-level
unsubscribes are only in the API response (``lists[].subscription_status``).
https://github.com/knadh/listmonk/blob/HEAD/cmd/subscribers.go
https://github.com/knadh/listmonk/blob/HEAD/docs/docs/content/apis/import.md
https://github.com/knadh/listmonk/blob/HEAD/docs/docs/content/apis/subscribers.md
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, default_reason
from suppression.formats.csv_io import read_table
from suppression.formats.json_io import JsonItems, as_object, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_go_time, from_iso8601, optional_time
from suppression.models import SuppressionReason, SuppressionScope

# A blocklisted subscriber gets no mail at all. listmonk blocklists on an
# unsubscribe when its "blocklist on unsubscribe" setting is on, and admins
# blocklist by hand. The unsubscribe reading lets a new opt-in lift it.
STATUSES: dict[str, SuppressionReason | None] = {
    "enabled": None,
    "disabled": None,
    "blocklisted": SuppressionReason.UNSUBSCRIBE,
}


def _subscriber(
    line: int, address: str, status: str, updated_at: datetime | None, warnings: tuple[str, ...]
) -> ReadResult:
    if status not in STATUSES:
        return RejectedLine(line, "status", faults.unknown_value("status", STATUSES))

    reason = STATUSES[status]
    return address_record(
        line,
        address,
        reason=reason or SuppressionReason.MANUAL,
        source_reason=status,
        occurred_at=updated_at if reason else None,
        suppress=reason is not None,
        warnings=warnings if reason else (),
    )


def read_subscribers_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read the subscribers export (``uuid,email,name,attributes,status,created_at,updated_at``).

    Times are Go time strings. ``updated_at`` is taken as the time of the
    status change.
    """
    table = yield from read_table(
        stream, required=[["email"], ["status"]], known=("updated_at", "uuid")
    )
    if table is None:
        return
    header, body = table

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
            continue
        updated_at, warnings = optional_time(row.get(header.find("updated_at")), from_go_time)
        status = row.get(header.find("status")).strip()
        yield _subscriber(row.line, row.get(header.find("email")), status, updated_at, warnings)


def _import_file(
    stream: BinaryIO, reason: SuppressionReason, *, suppress: bool, mode: str
) -> Iterator[ReadResult]:
    # listmonk's importer reads the columns email (required), name and
    # attributes, and ignores the others. It takes the delimiter as a parameter, "," here.
    table = yield from read_table(stream, required=[["email"]], case_sensitive=False)
    if table is None:
        return
    header, body = table

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
            continue
        yield address_record(
            row.line,
            row.get(header.find("email")),
            reason=reason,
            source_reason=mode,
            suppress=suppress,
        )


def read_blocklist_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a CSV for an import in ``blocklist`` mode. Rows get the caller's reason, or MANUAL."""
    yield from _import_file(stream, default_reason(options), suppress=True, mode="blocklist")


def read_subscribe_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a CSV for an import in ``subscribe`` mode. Records have suppress=False."""
    yield from _import_file(stream, SuppressionReason.MANUAL, suppress=False, mode="subscribe")


def read_subscribers_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ``GET /api/subscribers`` (``data.results``), with per-list subscription status.

    A subscriber yields a global record when blocklisted, one list record
    per list whose ``subscription_status`` is ``unsubscribed``, or one
    suppress=False record.
    """
    items = JsonItems(stream, array_paths=[("data", "results")])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item

        address = text_of(found, "email")
        status = text_of(found, "status")
        updated_at, warnings = optional_time(found.get("updated_at"), from_iso8601)
        lists = found.get("lists")
        unsubscribed = []
        for entry in lists if isinstance(lists, list) else []:
            subscription = as_object(entry)
            if subscription and text_of(subscription, "subscription_status") == "unsubscribed":
                unsubscribed.append(text_of(subscription, "id"))

        if status == "blocklisted" or not unsubscribed:
            yield _subscriber(line, address, status, updated_at, warnings)

        # NOTE: the response has no time for a list subscription change (the
        # list's own updated_at is not it), so these records have none.
        for list_id in unsubscribed:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.UNSUBSCRIBE,
                source_reason="unsubscribed",
                scope=SuppressionScope.LIST,
                scope_ref=list_id,
            )
