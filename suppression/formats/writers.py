"""Exporters: Sendguard's own formats and the import formats of the ESPs.

Every writer streams: it keeps one row in memory at a time. CSV cells are guarded
against formula injection (see ``csv_io.neutralise_formula``).

ESP formats list addresses, so entries known only by blind index are
skipped and counted. They list each address once: rows with the same blind
index next to each other are written once, so the caller should order rows
by blind index.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from suppression.formats.csv_io import CsvOutput
from suppression.formats.records import (
    DEFAULT_WRITE_OPTIONS,
    ExportRow,
    WriteOptions,
    WriteReport,
)
from suppression.models import SuppressionReason, SuppressionScope

GENERIC_COLUMNS = (
    "email",
    "blind_index",
    "key_version",
    "reason",
    "scope",
    "scope_ref",
    "source",
    "created_at",
)
HASHED_COLUMNS = GENERIC_COLUMNS[1:]

# SES accepts only these two reasons. An unsubscribe has no SES reason, and
# calling it a bounce would misreport the address, so other rows are skipped.
SES_REASONS = {
    SuppressionReason.HARD_BOUNCE: "BOUNCE",
    SuppressionReason.COMPLAINT: "COMPLAINT",
}

# Skip codes counted in WriteReport.skipped.
SKIP_ADDRESS_UNKNOWN = "address_unknown"
SKIP_SCOPED = "scope_not_global"
SKIP_DUPLICATE = "duplicate_address"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _generic_cells(row: ExportRow) -> list[str]:
    return [
        row.email or "",
        row.blind_index,
        str(row.key_version),
        row.reason.value,
        row.scope.value,
        row.scope_ref,
        row.source,
        _iso(row.created_at),
    ]


def write_generic_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write every entry with the GENERIC_COLUMNS, ``email`` empty when the address is unknown.

    ``created_at`` is ISO 8601 in UTC.
    """
    writer = CsvOutput(out)
    writer.write(GENERIC_COLUMNS)
    written = 0
    for row in rows:
        writer.write(_generic_cells(row))
        written += 1
    return WriteReport(written)


def write_hashed_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write every entry without its address, for a transfer that must not carry addresses."""
    writer = CsvOutput(out)
    writer.write(HASHED_COLUMNS)
    written = 0
    for row in rows:
        writer.write(_generic_cells(row)[1:])
        written += 1
    return WriteReport(written)


def write_generic_jsonl(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write one JSON object per line with the generic columns as keys (``email`` may be null)."""
    written = 0
    for row in rows:
        cells = dict(zip(GENERIC_COLUMNS, _generic_cells(row), strict=True))
        record: dict[str, object] = {**cells, "email": row.email, "key_version": row.key_version}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    return WriteReport(written)


def _addressed(
    rows: Iterable[ExportRow], options: WriteOptions, skipped: Counter[str]
) -> Iterator[tuple[ExportRow, str]]:
    """Yield each row that an ESP format can take, with its address, counting the others."""
    previous_index = ""
    for row in rows:
        if row.email is None:
            skipped[SKIP_ADDRESS_UNKNOWN] += 1
        elif row.scope is not SuppressionScope.GLOBAL and not options.include_scoped:
            skipped[SKIP_SCOPED] += 1
        elif row.blind_index == previous_index:
            skipped[SKIP_DUPLICATE] += 1
        else:
            previous_index = row.blind_index
            yield row, row.email


def _address_list(
    rows: Iterable[ExportRow],
    out: TextIO,
    options: WriteOptions,
    header: list[str],
    *,
    delimiter: str = ",",
) -> WriteReport:
    """Write a one-address-per-row CSV whose other columns stay empty."""
    skipped: Counter[str] = Counter()
    writer = CsvOutput(out, delimiter=delimiter, raw_address_column=True)
    writer.write(header)
    written = 0
    for _, address in _addressed(rows, options, skipped):
        writer.write([address] + [""] * (len(header) - 1))
        written += 1
    return WriteReport(written, dict(skipped))


def _ses_rows(
    rows: Iterable[ExportRow], options: WriteOptions, skipped: Counter[str]
) -> Iterator[tuple[str, str]]:
    for row, address in _addressed(rows, options, skipped):
        code = SES_REASONS.get(row.reason)
        if code is None:
            skipped[f"reason:{row.reason.value}"] += 1
        else:
            yield address, code


def write_ses_put_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write an SES PUT import CSV: ``address,BOUNCE|COMPLAINT``, no header.

    SES takes at most 100,000 addresses per import file, which the caller
    enforces by splitting the rows.
    """
    skipped: Counter[str] = Counter()
    writer = CsvOutput(out, raw_address_column=True)
    written = 0
    for address, code in _ses_rows(rows, options, skipped):
        writer.write([address, code])
        written += 1
    return WriteReport(written, dict(skipped))


def write_ses_put_jsonl(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write an SES PUT import in JSON Lines: ``{"emailAddress": ..., "reason": ...}``."""
    skipped: Counter[str] = Counter()
    written = 0
    for address, code in _ses_rows(rows, options, skipped):
        line = json.dumps({"emailAddress": address, "reason": code}, ensure_ascii=False)
        out.write(line + "\n")
        written += 1
    return WriteReport(written, dict(skipped))


def write_sendgrid_unsubscribes_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a SendGrid global unsubscribes CSV: ``email,created`` with Unix seconds."""
    skipped: Counter[str] = Counter()
    writer = CsvOutput(out, raw_address_column=True)
    writer.write(["email", "created"])
    written = 0
    for row, address in _addressed(rows, options, skipped):
        writer.write([address, str(int(row.created_at.timestamp()))])
        written += 1
    return WriteReport(written, dict(skipped))


def write_mailchimp_unsubscribed_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write ``Email Address,UNSUB_TIME,UNSUB_REASON``, the columns of Mailchimp's export.

    UNSUB_TIME is written in UTC as ``YYYY-MM-DD HH:MM:SS``, and UNSUB_REASON
    is the Sendguard reason.
    """
    skipped: Counter[str] = Counter()
    writer = CsvOutput(out, raw_address_column=True)
    writer.write(["Email Address", "UNSUB_TIME", "UNSUB_REASON"])
    written = 0
    for row, address in _addressed(rows, options, skipped):
        unsubscribed_at = row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        writer.write([address, unsubscribed_at, row.reason.value])
        written += 1
    return WriteReport(written, dict(skipped))


def write_postmark_request_json(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a create-suppressions request body, ``{"Suppressions": [{"EmailAddress": ...}]}``.

    NOTE: Postmark may cap the addresses per request; the limit was not
    checked, so the caller decides how many rows go in one body.
    """
    skipped: Counter[str] = Counter()
    out.write('{"Suppressions": [')
    written = 0
    for _, address in _addressed(rows, options, skipped):
        separator = ",\n  " if written else "\n  "
        out.write(separator + json.dumps({"EmailAddress": address}, ensure_ascii=False))
        written += 1
    out.write("\n]}\n" if written else "]}\n")
    return WriteReport(written, dict(skipped))


def write_brevo_blocklist_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a Brevo contact file for a blocklist import: ``EMAIL``, semicolon-separated."""
    return _address_list(rows, out, options, ["EMAIL"], delimiter=";")


def write_mailjet_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a Mailjet CSV with the one column ``email``, for ``unsub`` or ``excludemarketing``."""
    return _address_list(rows, out, options, ["email"])


def write_listmonk_blocklist_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a listmonk import CSV, ``email,name``, for an import in ``blocklist`` mode.

    Names are left empty, and listmonk then derives one from the address.
    """
    return _address_list(rows, out, options, ["email", "name"])


def write_benchmark_dnc_csv(
    rows: Iterable[ExportRow], out: TextIO, options: WriteOptions = DEFAULT_WRITE_OPTIONS
) -> WriteReport:
    """Write a Benchmark Do Not Contact list CSV with the one column ``Email``."""
    return _address_list(rows, out, options, ["Email"])
