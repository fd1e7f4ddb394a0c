"""Mailjet: CSV files for the bulk ``unsub`` and ``excludemarketing`` imports, and contact JSON.

Mailjet has list-level unsubscribes (per contacts list), an account-wide
exclusion list (``IsExcludedFromCampaigns``) and a spam complaint flag.
https://github.com/mailjet/api-documentation/blob/HEAD/guides/_contacts_bulk.md
https://github.com/mailjet/api-documentation/blob/HEAD/guides/_exclusionlist.md
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from suppression.formats.build import address_record, default_reason, scoped
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


def read_unsub_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a CSV prepared for ``csvimport`` with Method ``unsub`` (``email`` plus properties).

    ``options.scope_ref`` is the ContactsListID. Without it, the unsubscribes
    are global.
    """
    scope, reference = scoped(options.scope_ref, SuppressionScope.LIST)
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
            reason=options.reason or SuppressionReason.UNSUBSCRIBE,
            source_reason="unsub",
            scope=scope,
            scope_ref=reference,
        )


def read_exclusion_csv(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read a CSV prepared for the account exclusion list (Method ``excludemarketing``).

    The rows carry no reason, so they get the caller's reason, or MANUAL.
    """
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
            reason=default_reason(options),
            source_reason="excludemarketing",
        )


def read_contacts_json(
    stream: BinaryIO, options: ReadOptions = DEFAULT_READ_OPTIONS
) -> Iterator[ReadResult]:
    """Read ``GET /v3/REST/contact`` (``{"Count", "Data": [...], "Total"}``).

    A contact yields a COMPLAINT record when ``IsSpamComplaining`` is true, a
    MANUAL record when ``IsExcludedFromCampaigns`` is true and an UNSUBSCRIBE
    record when ``UnsubscribedAt`` is set, or one suppress=False record.
    Booleans may be JSON booleans or the strings "true" and "false", as the
    docs show them.
    """
    items = JsonItems(stream, array_paths=[("Data",)])
    for item in iter_objects(iter(items)):
        if isinstance(item, RejectedLine):
            yield item
            continue
        line, found = item
        address = text_of(found, "Email")
        complained = flag_of(found, "IsSpamComplaining")
        excluded = flag_of(found, "IsExcludedFromCampaigns")

        # The exclusion time is the best available for both flags: Mailjet
        # excludes a contact when it complains.
        occurred_at, warnings = optional_time(
            found.get("ExclusionFromCampaignsUpdatedAt"), from_iso8601
        )
        if complained:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.COMPLAINT,
                source_reason="IsSpamComplaining",
                occurred_at=occurred_at,
                warnings=warnings,
            )
        if excluded:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.MANUAL,
                source_reason="IsExcludedFromCampaigns",
                occurred_at=occurred_at,
                warnings=warnings,
            )
        # NOTE: the meaning of the contact-level UnsubscribedAt is not documented
        # beside list unsubscribes. It is read as a global unsubscribe, the safe side.
        unsubscribed_at = found.get("UnsubscribedAt")
        if unsubscribed_at:
            unsubscribed, unsubscribed_warnings = optional_time(unsubscribed_at, from_iso8601)
            yield address_record(
                line,
                address,
                reason=SuppressionReason.UNSUBSCRIBE,
                source_reason="UnsubscribedAt",
                occurred_at=unsubscribed,
                warnings=unsubscribed_warnings,
            )
        if not complained and not excluded and not unsubscribed_at:
            yield address_record(
                line,
                address,
                reason=SuppressionReason.MANUAL,
                source_reason="subscribed",
                suppress=False,
            )
