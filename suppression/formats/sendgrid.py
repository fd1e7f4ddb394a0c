"""SendGrid suppression lists: the UI CSV downloads and the v3 API JSON bodies.

What each list means (blocks reject a message, not the address):
https://github.com/sendgrid/docs/blob/HEAD/content/docs/ui/sending-email/index-suppressions.md
JSON bodies: https://github.com/twilio/sendgrid-oai/blob/HEAD/spec/yaml/tsg_suppressions_v3.yaml
CSV headers are lower case, and ``created`` is Unix seconds in both forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.build import address_record, filename_search
from suppression.formats.csv_io import read_table
from suppression.formats.json_io import JsonItems, as_object, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    Reader,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_epoch, optional_time
from suppression.models import SuppressionReason, SuppressionScope

# The group export is saved as asm_groups_<group id>_suppressions.csv, and the
# API path is /v3/asm/groups/<group id>/suppressions.
_GROUP_IN_NAME = re.compile(r"asm_groups_(\d+)_suppressions")


@dataclass(frozen=True)
class SendGridList:
    """One SendGrid suppression list and what Sendguard makes of its entries."""

    name: str
    reason: SuppressionReason
    suppress: bool
    scope: SuppressionScope = SuppressionScope.GLOBAL


BOUNCES = SendGridList("bounces", SuppressionReason.HARD_BOUNCE, suppress=True)
# A block is a message the receiving server refused for a reason unrelated
# to the address (an IP block list, a connection error). SendGrid does not
# suppress later sends to the address, so neither does Sendguard.
BLOCKS = SendGridList("blocks", SuppressionReason.MANUAL, suppress=False)
SPAM_REPORTS = SendGridList("spam_reports", SuppressionReason.COMPLAINT, suppress=True)
INVALID_EMAILS = SendGridList("invalid_emails", SuppressionReason.INVALID_ADDRESS, suppress=True)
UNSUBSCRIBES = SendGridList("unsubscribes", SuppressionReason.UNSUBSCRIBE, suppress=True)
# Unsubscribe (ASM) groups are topics: the person left one kind of mail.
GROUP_UNSUBSCRIBES = SendGridList(
    "group_unsubscribes", SuppressionReason.UNSUBSCRIBE, True, SuppressionScope.TOPIC
)


def _source_reason(kind: SendGridList, status: str, reason: str) -> str:
    # Bounce and block rows carry an enhanced status code and the server's
    # text. Other lists have neither, so the list name is used instead.
    text = " ".join(part.strip() for part in (status, reason) if part.strip())
    return text or kind.name


def _entry(
    line: int,
    kind: SendGridList,
    email: str,
    created: object,
    *,
    status: str = "",
    reason: str = "",
    group: str = "",
) -> ReadResult:
    occurred_at, warnings = optional_time(created, from_epoch)
    return address_record(
        line,
        email,
        reason=kind.reason,
        source_reason=_source_reason(kind, status, reason),
        occurred_at=occurred_at,
        scope=kind.scope if group else SuppressionScope.GLOBAL,
        scope_ref=group,
        suppress=kind.suppress,
        warnings=warnings,
    )


def _group_id(options: ReadOptions) -> str:
    if options.scope_ref:
        return options.scope_ref.strip()
    found = filename_search(options, _GROUP_IN_NAME)
    return found.group(1) if found else ""


def csv_reader(kind: SendGridList) -> Reader:
    """Return the reader of one SendGrid CSV download.

    Columns are found by name, so the inferred column order of the spam
    report and invalid email downloads does not matter.
    """

    def read(stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS) -> Iterator[ReadResult]:
        group = ""
        if kind.scope is SuppressionScope.TOPIC:
            group = _group_id(options)
            if not group:
                fault = faults.SENDGRID_GROUP_REQUIRED
                yield RejectedLine(1, "scope_ref", fault)
                return

        table = yield from read_table(
            stream, required=[["email"]], known=("created", "status", "reason", "ip")
        )
        if table is None:
            return
        header, body = table

        for row in body:
            if isinstance(row, RejectedLine):
                yield row
                continue
            yield _entry(
                row.line,
                kind,
                row.get(header.find("email")),
                row.get(header.find("created")),
                status=row.get(header.find("status")),
                reason=row.get(header.find("reason")),
                group=group,
            )

    read.__doc__ = f"Read the SendGrid {kind.name} CSV download."
    return read


def json_reader(kind: SendGridList) -> Reader:
    """Return the reader of a v3 list response: an array of ``{created, email, ...}``.

    For group unsubscribes it reads ``GET /v3/asm/suppressions`` (objects with
    ``group_id``) and ``GET /v3/asm/groups/{id}/suppressions`` (address
    strings, with the group id from the caller or the file name).
    """

    def read(stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS) -> Iterator[ReadResult]:
        group = _group_id(options) if kind.scope is SuppressionScope.TOPIC else ""
        for item in JsonItems(stream, array_paths=[()]):
            if isinstance(item, RejectedLine):
                yield item
                continue

            if isinstance(item.value, str) and kind.scope is SuppressionScope.TOPIC:
                if not group:
                    fault = faults.SENDGRID_GROUP_REQUIRED
                    yield RejectedLine(item.line, "scope_ref", fault)
                    continue
                yield _entry(item.line, kind, item.value, None, group=group)
                continue

            found = as_object(item.value)
            if found is None:
                yield RejectedLine(item.line, "json", faults.NOT_AN_OBJECT)
                continue

            # Only group unsubscribes are scoped. A group_id on another list's
            # entry is ignored, so that entry stays global.
            item_group = ""
            if kind.scope is SuppressionScope.TOPIC:
                item_group = text_of(found, "group_id") or group
            if kind.scope is SuppressionScope.TOPIC and not item_group:
                fault = faults.SENDGRID_GROUP_REQUIRED
                yield RejectedLine(item.line, "scope_ref", fault)
                continue
            yield _entry(
                item.line,
                kind,
                text_of(found, "email"),
                found.get("created", found.get("created_at")),
                status=text_of(found, "status"),
                reason=text_of(found, "reason"),
                group=item_group,
            )

    read.__doc__ = f"Read the SendGrid {kind.name} v3 JSON list."
    return read


def read_global_unsubscribe_request(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read the body of ``POST /v3/asm/suppressions/global``: ``{"recipient_emails": [...]}``."""
    for item in JsonItems(stream, array_paths=[("recipient_emails",)]):
        if isinstance(item, RejectedLine):
            yield item
        elif isinstance(item.value, str):
            yield _entry(item.line, UNSUBSCRIBES, item.value, None)
        else:
            yield RejectedLine(item.line, "email", faults.INVALID_ADDRESS)
