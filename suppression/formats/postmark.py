"""Postmark suppressions, which Postmark keeps per message stream.

``GET /message-streams/{stream}/suppressions/dump`` returns
``{"Suppressions": [{EmailAddress, SuppressionReason, Origin, CreatedAt}]}``.
The create request ``POST /message-streams/{stream}/suppressions`` takes
``{"Suppressions": [{"EmailAddress": ...}]}``.
https://postmarkapp.com/developer/api/suppressions-api
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, filename_search, scoped
from suppression.formats.json_io import JsonItems, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_iso8601, optional_time
from suppression.models import SuppressionReason, SuppressionScope

# Saved responses are named after the API path, message-streams/<id>/suppressions.
_STREAM_IN_NAME = re.compile(r"message-streams[_/-]([A-Za-z0-9-]+)[_/-]suppressions")

# HardBounce and SpamComplaint are facts about the address, so they apply to
# every stream. ManualSuppression stays in its stream.
REASONS = {
    "HardBounce": SuppressionReason.HARD_BOUNCE,
    "SpamComplaint": SuppressionReason.COMPLAINT,
    "ManualSuppression": SuppressionReason.MANUAL,
}


def _stream(options: ReadOptions) -> str:
    if options.scope_ref:
        return options.scope_ref
    found = filename_search(options, _STREAM_IN_NAME)
    return found.group(1) if found else ""


def _reason(code: str, origin: str) -> SuppressionReason | None:
    # NOTE: reading ManualSuppression with Origin "Recipient" as an unsubscribe
    # link click is an inference from Postmark's docs example, not a documented rule.
    if code == "ManualSuppression" and origin == "Recipient":
        return SuppressionReason.UNSUBSCRIBE
    return REASONS.get(code)


def read_dump_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a suppressions dump. The stream id comes from the caller or the file name.

    Without a stream id, manual suppressions are global, which suppresses
    more than Postmark did and never less.
    """
    stream_id = _stream(options)
    items = JsonItems(stream, array_paths=[("Suppressions",)])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item

        code = text_of(found, "SuppressionReason")
        origin = text_of(found, "Origin")
        reason = _reason(code, origin)
        if reason is None:
            yield RejectedLine(line, "reason", faults.unknown_value("SuppressionReason", REASONS))
            continue

        if code == "ManualSuppression":
            scope, reference = scoped(stream_id, SuppressionScope.TOPIC)
        else:
            scope, reference = SuppressionScope.GLOBAL, ""
        occurred_at, warnings = optional_time(found.get("CreatedAt"), from_iso8601)
        yield address_record(
            line,
            text_of(found, "EmailAddress"),
            reason=reason,
            source_reason=f"{code} ({origin})" if origin else code,
            occurred_at=occurred_at,
            scope=scope,
            scope_ref=reference,
            warnings=warnings,
        )


def read_create_request_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a create-suppressions request body.

    Postmark records these as ManualSuppression with Origin "Customer", so
    the reason is the caller's, or MANUAL. The response to that request has
    the same shape plus ``Status``. An item whose Status is not "Suppressed"
    (Postmark also returns "Failed" and "Deleted") has suppress=False.
    """
    scope, reference = scoped(_stream(options), SuppressionScope.TOPIC)
    items = JsonItems(stream, array_paths=[("Suppressions",)])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item
        status = text_of(found, "Status")
        yield address_record(
            line,
            text_of(found, "EmailAddress"),
            reason=options.reason or SuppressionReason.MANUAL,
            source_reason=f"ManualSuppression (Customer) {status}".strip(),
            scope=scope,
            scope_ref=reference,
            suppress=status in ("", "Suppressed"),
        )
