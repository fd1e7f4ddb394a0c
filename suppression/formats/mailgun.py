"""Mailgun suppressions: bounces, unsubscribes and complaints, as import CSV or list JSON.

Mailgun keeps these lists per sending domain, so each file covers one domain.
Times are RFC 2822 (``Tue, 05 Mar 2024 06:00:01 UTC``).
https://github.com/mailgun/documentation/blob/HEAD/source/api-suppressions.rst
https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/bounces/post-v3--domainid--bounces-import
https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/unsubscribe/post-v3--domainid--unsubscribes-import
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from suppression.formats.build import address_record
from suppression.formats.csv_io import read_table
from suppression.formats.json_io import JsonItems, iter_objects, text_of
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    Reader,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.formats.timestamps import from_rfc2822, optional_time
from suppression.models import SuppressionReason, SuppressionScope

# The unsubscribe tag that means all mail from the domain, and Mailgun's default.
ALL_TAGS = "*"


@dataclass(frozen=True)
class MailgunList:
    """One Mailgun suppression list and the reason its entries get."""

    name: str
    reason: SuppressionReason


# Mailgun adds an address to its bounce list on a permanent failure, so
# every entry is a hard bounce whatever its code.
BOUNCES = MailgunList("bounces", SuppressionReason.HARD_BOUNCE)
UNSUBSCRIBES = MailgunList("unsubscribes", SuppressionReason.UNSUBSCRIBE)
COMPLAINTS = MailgunList("complaints", SuppressionReason.COMPLAINT)


def _records(
    line: int,
    kind: MailgunList,
    address: str,
    created_at: str,
    *,
    code: str = "",
    error: str = "",
    tags: list[str] | None = None,
) -> Iterator[ReadResult]:
    occurred_at, warnings = optional_time(created_at, from_rfc2822)

    if kind is not UNSUBSCRIBES:
        source = " ".join(part.strip() for part in (code, error) if part.strip())
        yield address_record(
            line,
            address,
            reason=kind.reason,
            source_reason=source or kind.name,
            occurred_at=occurred_at,
            warnings=warnings,
        )
        return

    # One record per tag. "*" or no tag is the whole domain, which is the
    # sender's global scope. Other tags are topics.
    for tag in tags or [ALL_TAGS]:
        tag = tag.strip() or ALL_TAGS
        global_tag = tag == ALL_TAGS
        yield address_record(
            line,
            address,
            reason=kind.reason,
            source_reason=f"tag {tag}",
            occurred_at=occurred_at,
            scope=SuppressionScope.GLOBAL if global_tag else SuppressionScope.TOPIC,
            scope_ref="" if global_tag else tag,
            warnings=warnings,
        )


def csv_reader(kind: MailgunList) -> Reader:
    """Return the reader of one Mailgun import CSV.

    Bounces: ``address,code,error,created_at``. Mailgun's own export script
    (mailgun/scripts get_suppressions.py) adds ``MessageHash``, which is
    ignored. Unsubscribes: ``address,tags,created_at``. The older docs spell
    the column ``tag``, so both are read. NOTE: Mailgun does not document how
    one cell lists several tags, so a cell is read as one tag.
    Complaints: ``address,created_at``.
    """

    def read(stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS) -> Iterator[ReadResult]:
        table = yield from read_table(
            stream,
            required=[["address"]],
            known=("code", "error", "created_at", "tags", "tag", "MessageHash"),
        )
        if table is None:
            return
        header, body = table

        for row in body:
            if isinstance(row, RejectedLine):
                yield row
                continue
            tag = row.get(header.find("tags", "tag"))
            yield from _records(
                row.line,
                kind,
                row.get(header.find("address")),
                row.get(header.find("created_at")),
                code=row.get(header.find("code")),
                error=row.get(header.find("error")),
                tags=[tag] if tag else None,
            )

    read.__doc__ = f"Read a Mailgun {kind.name} import CSV."
    return read


def _tags(found: dict[str, object]) -> list[str] | None:
    # Current docs show "tags": [...], older docs a scalar "tag": "*".
    value = found.get("tags", found.get("tag"))
    if isinstance(value, list):
        return [str(tag) for tag in value if isinstance(tag, str)]
    if isinstance(value, str):
        return [value]
    return None


def json_reader(kind: MailgunList) -> Reader:
    """Return the reader of a Mailgun list response (``{"items": [...], "paging": ...}``).

    A bare array, as sent to the JSON bulk-add endpoints, is read too.
    """

    def read(stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS) -> Iterator[ReadResult]:
        for item in iter_objects(iter(JsonItems(stream, array_paths=[(), ("items",)]))):
            if isinstance(item, RejectedLine):
                yield item
                continue
            line, found = item
            yield from _records(
                line,
                kind,
                text_of(found, "address"),
                text_of(found, "created_at"),
                code=text_of(found, "code"),
                error=text_of(found, "error"),
                tags=_tags(found),
            )

    read.__doc__ = f"Read a Mailgun {kind.name} JSON list response."
    return read
