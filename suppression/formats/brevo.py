"""Brevo (formerly Sendinblue): the blocklist import file, and the two blocklists in the API.

Brevo keeps a marketing blocklist (``emailBlacklisted`` on a contact, with
per-list ``listUnsubscribed``) and a transactional one (``/smtp/blockedContacts``).
Import files use ``;``, ``,`` or tab, in UTF-8 or Windows-1252.
https://help.brevo.com/hc/en-us/articles/208729849-Create-a-file-to-import-your-contacts
https://developers.brevo.com/reference/get-transac-blocked-contacts.md
https://github.com/sendinblue/APIv3-php-library/blob/HEAD/docs/Model/GetContactDetails.md
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, default_reason
from suppression.formats.csv_io import read_table
from suppression.formats.json_io import JsonItems, flag_of, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_iso8601, optional_time
from suppression.models import SuppressionReason, SuppressionScope

# reason.code of a transactional blocked contact. Brevo's docs recommend
# comparing the code, not reason.message.
BLOCKED_REASONS = {
    "unsubscribedViaMA": SuppressionReason.UNSUBSCRIBE,
    "unsubscribedViaEmail": SuppressionReason.UNSUBSCRIBE,
    "unsubscribedViaApi": SuppressionReason.UNSUBSCRIBE,
    "adminBlocked": SuppressionReason.MANUAL,
    "hardBounce": SuppressionReason.HARD_BOUNCE,
    "contactFlaggedAsSpam": SuppressionReason.COMPLAINT,
}

# Maximum length of the fileBody string of an import request, in characters.
# NOTE: Brevo documents no size limit for fileBody (UI files may reach 250 MB).
MAX_FILE_BODY_CHARS = 32 << 20


def read_blocklist_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a contact file prepared for a blocklist import (``EMAIL`` plus attributes).

    The delimiter is sniffed among ``;``, ``,`` and tab, and lines that are
    not UTF-8 are read as Windows-1252. Rows get the caller's reason, or MANUAL.
    """
    table = yield from read_table(
        stream,
        required=[["EMAIL"]],
        case_sensitive=False,
        sniff_delimiters=";,\t",
        windows_1252_fallback=True,
    )
    if table is None:
        return
    header, body = table

    for row in body:
        if isinstance(row, RejectedLine):
            yield row
            continue
        yield address_record(
            row.line,
            row.get(header.find("EMAIL")),
            reason=default_reason(options),
            source_reason="blocklist",
        )


def read_import_request_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a ``POST /v3/contacts/import`` body, whose ``fileBody`` is a semicolon CSV.

    With ``emailBlacklist`` true the contacts are blocklisted. Otherwise the
    request only adds contacts, and records have suppress=False. Line
    numbers count lines of ``fileBody``.
    """
    items = JsonItems(
        stream, array_paths=[], require_match=False, envelope_max_chars=MAX_FILE_BODY_CHARS
    )
    # No array path is given, so the walk yields only the fault of a malformed document.
    rejected = [item for item in items if isinstance(item, RejectedLine)]
    if rejected:
        yield from rejected
        return

    body = items.envelope.get("fileBody")
    if not isinstance(body, str):
        yield RejectedLine(1, "fileBody", faults.missing_value("fileBody"))
        return

    blocklisted = flag_of(dict(items.envelope), "emailBlacklist")
    for record in read_blocklist_csv(io.BytesIO(body.encode("utf-8")), options):
        if isinstance(record, RejectedLine) or blocklisted:
            yield record
        else:
            yield address_record(
                record.line,
                record.address or "",
                reason=SuppressionReason.MANUAL,
                source_reason="import",
                suppress=False,
            )


def read_blocked_contacts_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ``GET /v3/smtp/blockedContacts``: transactional blocks with a reason code."""
    items = JsonItems(stream, array_paths=[("contacts",)])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item

        reason_object = found.get("reason")
        code = text_of(reason_object, "code") if isinstance(reason_object, dict) else ""
        reason = BLOCKED_REASONS.get(code)
        if reason is None:
            yield RejectedLine(line, "reason", faults.unknown_value("reason.code", BLOCKED_REASONS))
            continue

        occurred_at, warnings = optional_time(found.get("blockedAt"), from_iso8601)
        yield address_record(
            line,
            text_of(found, "email"),
            reason=reason,
            source_reason=code,
            occurred_at=occurred_at,
            warnings=warnings,
        )


def read_contacts_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ``GET /v3/contacts``: the marketing blocklist flag and per-list unsubscribes.

    A contact yields one global record when ``emailBlacklisted`` is true, one
    list record per id in ``listUnsubscribed``, or one suppress=False record.
    ``modifiedAt`` is the best available time of the change.
    """
    items = JsonItems(stream, array_paths=[("contacts",)])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item

        address = text_of(found, "email")
        occurred_at, warnings = optional_time(found.get("modifiedAt"), from_iso8601)
        lists = found.get("listUnsubscribed")
        list_ids = [str(value) for value in lists] if isinstance(lists, list) else []

        if flag_of(found, "emailBlacklisted"):
            # Brevo blocklists a contact when they unsubscribe from marketing.
            yield address_record(
                line,
                address,
                reason=SuppressionReason.UNSUBSCRIBE,
                source_reason="emailBlacklisted",
                occurred_at=occurred_at,
                warnings=warnings,
            )
        for list_id in list_ids:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.UNSUBSCRIBE,
                source_reason="listUnsubscribed",
                occurred_at=occurred_at,
                scope=SuppressionScope.LIST,
                scope_ref=list_id,
                warnings=warnings,
            )
        if not flag_of(found, "emailBlacklisted") and not list_ids:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.MANUAL,
                source_reason="subscribed",
                suppress=False,
            )
