"""Exporters: formula injection, skipped rows, and a round trip through each matching reader."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from suppression.formats import (
    FORMATS,
    ExportRow,
    ImportRecord,
    ReadOptions,
    RejectedLine,
    WriteOptions,
)
from suppression.formats.csv_io import neutralise_formula, restore_formula
from suppression.formats.writers import (
    write_generic_csv,
    write_sendgrid_unsubscribes_csv,
    write_ses_put_csv,
    write_ses_put_jsonl,
)
from suppression.models import SuppressionReason, SuppressionScope

WHEN = datetime(2024, 4, 3, 8, 21, 55, tzinfo=UTC)


def _row(
    number: int,
    reason: SuppressionReason = SuppressionReason.UNSUBSCRIBE,
    *,
    email: str | None = "",
    scope: SuppressionScope = SuppressionScope.GLOBAL,
    scope_ref: str = "",
    source: str = "import:test",
) -> ExportRow:
    return ExportRow(
        blind_index=f"{number:064x}",
        key_version=1,
        reason=reason,
        created_at=WHEN,
        scope=scope,
        scope_ref=scope_ref,
        source=source,
        email=f"person{number}@example.com" if email == "" else email,
    )


ROWS = [
    _row(1, SuppressionReason.HARD_BOUNCE),
    _row(2, SuppressionReason.COMPLAINT),
    _row(3, SuppressionReason.UNSUBSCRIBE),
    _row(4, SuppressionReason.MANUAL),
]


def _export(format_name: str, rows: list[ExportRow], options: WriteOptions | None = None) -> str:
    writer = FORMATS[format_name].writer
    assert writer is not None
    out = io.StringIO(newline="")
    report = writer(rows, out, options or WriteOptions())
    assert report.written + sum(report.skipped.values()) == len(rows)
    return out.getvalue()


def _import(format_name: str, text: str) -> list[ImportRecord | RejectedLine]:
    reader = FORMATS[format_name].reader
    assert reader is not None
    return list(reader(io.BytesIO(text.encode("utf-8")), ReadOptions()))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://example.net")', '\'=HYPERLINK("http://example.net")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=already", "''=already"),
        ("plain", "plain"),
        ("it's", "it's"),
        ("", ""),
    ],
)
def test_formula_cells_neutralised(cell: str, expected: str) -> None:
    assert neutralise_formula(cell) == expected
    assert restore_formula(neutralise_formula(cell)) == cell


def test_generic_csv_guards_every_cell() -> None:
    row = _row(
        7,
        email="=cmd@example.com",
        scope=SuppressionScope.LIST,
        scope_ref="-2+3",
        source="@import",
    )

    text = _export("generic_csv", [row])

    cells = list(csv.reader(io.StringIO(text)))[1]
    assert cells[0] == "'=cmd@example.com"
    assert cells[5] == "'-2+3"
    assert cells[6] == "'@import"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_formula_guard_round_trip() -> None:
    row = _row(7, email="=cmd@example.com", scope=SuppressionScope.TOPIC, scope_ref="+tag")

    records = _import("generic_csv", _export("generic_csv", [row]))

    record = records[0]
    assert isinstance(record, ImportRecord)
    assert record.address == "=cmd@example.com"
    assert record.scope_ref == "+tag"


ADDRESS_CSV_WRITERS = sorted(
    name
    for name, spec in FORMATS.items()
    if spec.writer and name.endswith("_csv") and name != "hashed_csv"
)


# Sendguard's own CSV is for people and spreadsheets; the ESP files are for
# upload, where the address must arrive exactly as it is.
GUARDED_CSV_WRITERS = ["generic_csv"]
ESP_CSV_WRITERS = [name for name in ADDRESS_CSV_WRITERS if name not in GUARDED_CSV_WRITERS]


@pytest.mark.parametrize("format_name", GUARDED_CSV_WRITERS)
def test_own_csv_guards_addresses(format_name: str) -> None:
    row = _row(1, SuppressionReason.COMPLAINT, email="-x@example.com")

    text = _export(format_name, [row])

    assert "'-x@example.com" in text
    assert "\n-x@example.com" not in text


@pytest.mark.parametrize("format_name", ESP_CSV_WRITERS)
def test_esp_csv_keeps_exact_address(format_name: str) -> None:
    row = _row(1, SuppressionReason.COMPLAINT, email="-x@example.com")

    text = _export(format_name, [row])

    assert "'-x@example.com" not in text
    assert "-x@example.com" in text


def test_ses_skips_other_reasons() -> None:
    out = io.StringIO(newline="")

    report = write_ses_put_csv(ROWS, out)

    assert out.getvalue() == "person1@example.com,BOUNCE\nperson2@example.com,COMPLAINT\n"
    assert report.written == 2
    assert report.skipped == {"reason:unsubscribe": 1, "reason:manual": 1}


def test_ses_jsonl_lines() -> None:
    out = io.StringIO(newline="")

    report = write_ses_put_jsonl(ROWS, out)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"emailAddress": "person1@example.com", "reason": "BOUNCE"},
        {"emailAddress": "person2@example.com", "reason": "COMPLAINT"},
    ]
    assert report.written == 2


def test_esp_writers_skip_unknown_scoped_duplicates() -> None:
    rows = [
        _row(1),
        _row(1, SuppressionReason.COMPLAINT),
        _row(2, email=None),
        _row(3, scope=SuppressionScope.LIST, scope_ref="42"),
        _row(4),
    ]
    out = io.StringIO(newline="")

    report = write_sendgrid_unsubscribes_csv(rows, out)

    assert out.getvalue() == (
        "email,created\nperson1@example.com,1712132515\nperson4@example.com,1712132515\n"
    )
    assert report.skipped == {"duplicate_address": 1, "address_unknown": 1, "scope_not_global": 1}


def test_esp_writers_include_scoped_on_request() -> None:
    rows = [_row(3, scope=SuppressionScope.LIST, scope_ref="42")]

    text = _export("mailjet_unsub_csv", rows, WriteOptions(include_scoped=True))

    assert text == "email\nperson3@example.com\n"


def test_generic_csv_layout() -> None:
    out = io.StringIO(newline="")

    report = write_generic_csv([_row(1), _row(2, email=None)], out)

    assert out.getvalue().splitlines() == [
        "email,blind_index,key_version,reason,scope,scope_ref,source,created_at",
        f"person1@example.com,{1:064x},1,unsubscribe,global,,import:test,2024-04-03T08:21:55+00:00",
        f",{2:064x},1,unsubscribe,global,,import:test,2024-04-03T08:21:55+00:00",
    ]
    assert report.written == 2


def test_postmark_request_shape() -> None:
    assert json.loads(_export("postmark_request_json", ROWS[:2])) == {
        "Suppressions": [
            {"EmailAddress": "person1@example.com"},
            {"EmailAddress": "person2@example.com"},
        ]
    }
    assert json.loads(_export("postmark_request_json", [])) == {"Suppressions": []}


def test_brevo_semicolon() -> None:
    assert _export("brevo_blocklist_csv", ROWS[:1]) == "EMAIL\nperson1@example.com\n"


def test_mailchimp_layout() -> None:
    assert _export("mailchimp_csv", ROWS[2:3]).splitlines() == [
        "Email Address,UNSUB_TIME,UNSUB_REASON",
        "person3@example.com,2024-04-03 08:21:55,unsubscribe",
    ]


ROUND_TRIP = sorted(name for name, spec in FORMATS.items() if spec.reader and spec.writer)


def test_round_trip_covers_writers() -> None:
    writers_only = sorted(name for name, spec in FORMATS.items() if spec.writer and not spec.reader)

    assert writers_only == []
    assert len(ROUND_TRIP) == 13
    assert len(ADDRESS_CSV_WRITERS) == 9


@pytest.mark.parametrize("format_name", ROUND_TRIP)
def test_round_trip_addresses(format_name: str) -> None:
    rows = [_row(1, SuppressionReason.HARD_BOUNCE), _row(2, SuppressionReason.COMPLAINT)]

    records = _import(format_name, _export(format_name, rows))

    assert all(isinstance(record, ImportRecord) for record in records)
    addresses = [record.address for record in records if isinstance(record, ImportRecord)]
    if format_name != "hashed_csv":
        assert addresses == ["person1@example.com", "person2@example.com"]
    assert all(record.suppress for record in records if isinstance(record, ImportRecord))


@pytest.mark.parametrize("format_name", ["generic_csv", "generic_jsonl", "hashed_csv"])
def test_round_trip_generic_lossless(format_name: str) -> None:
    rows = [
        _row(1, SuppressionReason.HARD_BOUNCE),
        _row(2, SuppressionReason.ERASED, email=None),
        _row(3, SuppressionReason.OBJECTION, scope=SuppressionScope.TOPIC, scope_ref="news"),
    ]

    records = _import(format_name, _export(format_name, rows))

    summary = [
        (r.address, r.blind_index, r.reason, r.occurred_at, r.scope, r.scope_ref)
        for r in records
        if isinstance(r, ImportRecord)
    ]
    keep_address = format_name != "hashed_csv"
    assert summary == [
        (
            row.email if keep_address and row.email else None,
            None if keep_address and row.email else row.blind_index,
            row.reason,
            row.created_at,
            row.scope,
            row.scope_ref,
        )
        for row in rows
    ]


@pytest.mark.parametrize(
    ("format_name", "reason"),
    [
        ("ses_put_csv", SuppressionReason.COMPLAINT),
        ("ses_put_jsonl", SuppressionReason.HARD_BOUNCE),
        ("sendgrid_unsubscribes_csv", SuppressionReason.UNSUBSCRIBE),
        ("mailchimp_csv", SuppressionReason.UNSUBSCRIBE),
    ],
)
def test_round_trip_esp_reason_and_time(format_name: str, reason: SuppressionReason) -> None:
    records = _import(format_name, _export(format_name, [_row(1, reason)]))

    record = records[0]
    assert isinstance(record, ImportRecord)
    assert record.reason is reason
    if format_name.startswith(("sendgrid", "mailchimp")):
        assert record.occurred_at == WHEN
