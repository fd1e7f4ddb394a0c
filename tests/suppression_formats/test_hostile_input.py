"""Damaged and hostile files: each bad line is reported once, good lines keep their numbers."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from suppression.formats import FORMATS, ImportRecord, ReadOptions, ReadResult, RejectedLine
from suppression.formats.faults import MAX_LINE_BYTES
from suppression.models import SuppressionReason


def _read(format_name: str, data: bytes, **options: Any) -> list[ReadResult]:
    reader = FORMATS[format_name].reader
    assert reader is not None
    return list(reader(io.BytesIO(data), ReadOptions(**options)))


def _lines(results: list[ReadResult]) -> list[tuple[int, str]]:
    """Each result as (line, address) for records and (line, fault code) for rejections."""
    summary = []
    for result in results:
        if isinstance(result, RejectedLine):
            summary.append((result.line, result.fault.code))
        else:
            summary.append((result.line, result.address or ""))
    return summary


def test_quoted_newlines_keep_line_numbers() -> None:
    data = (
        b"status,reason,email,created\n"
        b'5.1.1,"first line\nsecond, with ""quotes""\nthird",a@example.com,1709618401\n'
        b"5.1.1,plain,b@example.com,1709618401\n"
        b'5.1.1,"one\r\nmore",c@example.com,1709618401\n'
        b"5.1.1,last,d@example.com,1709618401\n"
    )

    results = _read("sendgrid_bounces_csv", data)

    assert _lines(results) == [
        (2, "a@example.com"),
        (5, "b@example.com"),
        (6, "c@example.com"),
        (8, "d@example.com"),
    ]
    first = results[0]
    assert isinstance(first, ImportRecord)
    assert first.source_reason == '5.1.1 first line\nsecond, with "quotes"\nthird'


def test_bom_and_crlf_read() -> None:
    data = b"\xef\xbb\xbfemail,created\r\na@example.com,1712132515\r\nb@example.com,1712132515\r\n"

    results = _read("sendgrid_unsubscribes_csv", data)

    assert _lines(results) == [(2, "a@example.com"), (3, "b@example.com")]


def test_empty_lines_skipped_numbers_kept() -> None:
    data = b"email\n\na@example.com\n\n\n,\nb@example.com\n"

    results = _read("generic_csv", data)

    assert _lines(results) == [(3, "a@example.com"), (7, "b@example.com")]


def test_empty_file_missing_header() -> None:
    results = _read("sendgrid_bounces_csv", b"")

    assert _lines(results) == [(1, "missing_header")]


def test_header_missing_data_first() -> None:
    results = _read("sendgrid_bounces_csv", b"5.1.1,text,a@example.com,1709618401\n")

    assert _lines(results) == [(1, "missing_column")]
    rejected = results[0]
    assert isinstance(rejected, RejectedLine)
    assert rejected.field == "header"
    assert "@" not in rejected.fault.message


def test_wrong_header_rejected() -> None:
    results = _read("generic_csv", b"name,city\nAna,Lisbon\n")

    assert _lines(results) == [(1, "missing_column")]


def test_wrong_header_case_in_esp_format() -> None:
    # ESP exports are matched exactly: "Email" is not SendGrid's "email".
    results = _read("sendgrid_unsubscribes_csv", b"Email,Created\na@example.com,1\n")

    assert _lines(results) == [(1, "missing_column")]


@pytest.mark.parametrize(
    ("format_name", "data"),
    [
        ("generic_csv", b"email,reason,email\na@example.com,manual,b@example.com\n"),
        ("sendgrid_bounces_csv", b"status,reason,email,email,created\n5.1.1,x,a@example.com,b,1\n"),
        ("mailchimp_csv", b'"Email Address","Email Address",UNSUB_TIME\na@example.com,b,x\n'),
    ],
)
def test_duplicate_columns_rejected(format_name: str, data: bytes) -> None:
    results = _read(format_name, data)

    assert _lines(results) == [(1, "duplicate_column")]


def test_long_line_skipped_next_read() -> None:
    data = b"email\n" + b"x" * (10 * 1024 * 1024) + b"\nok@example.com\n"

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "line_too_long"), (3, "ok@example.com")]


@pytest.mark.parametrize(("extra", "expected"), [(0, "a@example.com"), (1, "line_too_long")])
def test_long_line_limit_is_exact(extra: int, expected: str) -> None:
    # Empty trailing cells pad the row to exactly MAX_LINE_BYTES before its
    # newline, which is accepted, and one byte more is not.
    row = b"a@example.com,manual"
    data = b"email,reason\n" + row + b"," * (MAX_LINE_BYTES - len(row) + extra) + b"\n"

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, expected)]


def test_invalid_utf8_line_rejected() -> None:
    data = b"email\nbad\xff\xfe@example.com\nok@example.com\n"

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "invalid_encoding"), (3, "ok@example.com")]


def test_invalid_utf8_inside_multiline_cell() -> None:
    data = b'email,reason\na@example.com,"x\n\xff"\nb@example.com,manual\n'

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "invalid_encoding"), (4, "b@example.com")]


def test_malformed_quote_rejected_then_resumes() -> None:
    data = b'email,reason\n"a@example.com"x,manual\nb@example.com,manual\n'

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "malformed_csv"), (3, "b@example.com")]


def test_unclosed_quote_at_end() -> None:
    data = b'email,reason\nb@example.com,manual\n"c@example.com,manual\n'

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "b@example.com"), (3, "malformed_csv")]


def test_extra_cells_rejected() -> None:
    data = b"email,created\na@example.com,1,surprise\nb@example.com,1,\n"

    results = _read("sendgrid_unsubscribes_csv", data)

    assert _lines(results) == [(2, "unexpected_cells"), (3, "b@example.com")]


def test_mailgun_script_csv_read() -> None:
    # Mailgun's get_suppressions.py adds a MessageHash column to bounces.
    data = (
        b"address,code,error,created_at,MessageHash\n"
        b'a@example.com,550,No such mailbox,"Tue, 05 Mar 2024 06:00:01 UTC",abc123\n'
    )

    results = _read("mailgun_bounces_csv", data)

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert record.source_reason == "550 No such mailbox"
    assert record.occurred_at is not None
    assert record.occurred_at.isoformat() == "2024-03-05T06:00:01+00:00"


def test_short_rows_read_as_empty_cells() -> None:
    results = _read("mailgun_bounces_csv", b"address,code,error,created_at\na@example.com\n")

    assert _lines(results) == [(2, "a@example.com")]


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "two@@example.com",
        "a@b",
        "a..b@example.com",
        "a@-example.com",
        "x@exa mple.com",
    ],
)
def test_invalid_address_rejected(address: str) -> None:
    results = _read("generic_csv", f"email\n{address}\n".encode())

    assert len(results) == 1
    rejected = results[0]
    assert isinstance(rejected, RejectedLine)
    assert (rejected.field, rejected.fault.code) == ("email", "invalid_address")
    assert address not in str(rejected.fault)


def test_address_trimmed_case_kept() -> None:
    results = _read("generic_csv", b"email\n  Ana.Exemple@Example.COM \t\n")

    assert _lines(results) == [(2, "Ana.Exemple@Example.COM")]


def test_unparseable_time_warns() -> None:
    results = _read("sendgrid_unsubscribes_csv", b"email,created\na@example.com,yesterday\n")

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert record.occurred_at is None
    assert record.warnings == ("unparseable_time",)


def test_brevo_windows_1252_fallback() -> None:
    data = "EMAIL;FIRSTNAME\nzoé@example.com;Zoé\nana@example.com;Ana\n".encode("cp1252")

    results = _read("brevo_blocklist_csv", data)

    assert _lines(results) == [(2, "zoé@example.com"), (3, "ana@example.com")]


def test_brevo_utf8_kept() -> None:
    data = "EMAIL;FIRSTNAME\nzoé@example.com;Zoé\n".encode()

    results = _read("brevo_blocklist_csv", data)

    assert _lines(results) == [(2, "zoé@example.com")]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_brevo_delimiter_sniffed(delimiter: str) -> None:
    data = f"EMAIL{delimiter}FIRSTNAME{delimiter}LASTNAME\na@example.com{delimiter}A{delimiter}B\n"

    results = _read("brevo_blocklist_csv", data.encode())

    assert _lines(results) == [(2, "a@example.com")]


def test_other_formats_no_1252_fallback() -> None:
    data = "email\nzoé@example.com\n".encode("cp1252")

    results = _read("generic_csv", data)

    assert _lines(results) == [(2, "invalid_encoding")]


def test_ses_header_tolerated_reason_checked() -> None:
    data = b"email,reason\na@example.com,BOUNCE\nb@example.com,UNSUBSCRIBE\nc@example.com,\n"

    results = _read("ses_put_csv", data)

    assert _lines(results) == [(2, "a@example.com"), (3, "unknown_value"), (4, "missing_value")]


def test_sendgrid_group_needs_id() -> None:
    results = _read("sendgrid_group_unsubscribes_csv", b"email,created\na@example.com,1\n")

    assert _lines(results) == [(1, "scope_ref_required")]


def test_sendgrid_group_id_given() -> None:
    data = b"email,created\na@example.com,1\n"

    results = _read("sendgrid_group_unsubscribes_csv", data, scope_ref="777")

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert (record.scope.value, record.scope_ref) == ("topic", "777")


def test_generic_scope_rules() -> None:
    data = (
        b"email,scope,scope_ref\n"
        b"a@example.com,list,42\n"
        b"b@example.com,list,\n"
        b"c@example.com,,42\n"
        b"d@example.com,planet,1\n"
        b"e@example.com,topic," + b"r" * 65 + b"\n"
    )

    results = _read("generic_csv", data)

    assert _lines(results) == [
        (2, "a@example.com"),
        (3, "missing_scope_ref"),
        (4, "unexpected_scope_ref"),
        (5, "unknown_value"),
        (6, "scope_ref_too_long"),
    ]


def test_control_characters_in_scope_ref() -> None:
    # PostgreSQL text cannot hold NUL: one such cell made the whole import fail.
    data = (
        b"email,scope,scope_ref\n"
        b"a@example.com,list,4\x002\n"
        b'b@example.com,list,"4\n2"\n'
        b"c@example.com,list,4\t2\n"
        b"d@example.com,list,42\n"
    )

    results = _read("generic_csv", data)

    assert _lines(results) == [
        (2, "invalid_scope_ref"),
        (3, "invalid_scope_ref"),
        (5, "invalid_scope_ref"),
        (6, "d@example.com"),
    ]


def test_scope_ref_control_from_caller() -> None:
    results = _read(
        "sendgrid_group_unsubscribes_csv", b"email\na@example.com\n", scope_ref="7\x007"
    )

    assert _lines(results) == [(2, "invalid_scope_ref")]


def test_generic_caller_reason_used() -> None:
    results = _read("generic_csv", b"a@example.com\n", reason=SuppressionReason.OBJECTION)

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert record.reason is SuppressionReason.OBJECTION


def test_hashed_csv_checks_index_and_version() -> None:
    good = "ab" * 32
    data = (
        "blind_index,key_version,reason,email\n"
        f"{good.upper()},2,complaint,leak@example.com\n"
        f"{good[:-1]},2,complaint,\n"
        f"{good},0,complaint,\n"
        f"{good},1,,\n"
    ).encode()

    results = _read("hashed_csv", data)

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert (record.blind_index, record.key_version, record.address) == (good, 2, None)
    assert _lines(results[1:]) == [
        (3, "invalid_blind_index"),
        (4, "invalid_key_version"),
        (5, "missing_value"),
    ]


def test_source_reason_capped() -> None:
    data = b'status,reason,email,created\n5.1.1,"' + b"x" * 300 + b'",a@example.com,1\n'

    results = _read("sendgrid_bounces_csv", data)

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert len(record.source_reason) == 200
    assert record.warnings == ("source_reason_truncated",)


@pytest.mark.parametrize("format_name", sorted(name for name in FORMATS if FORMATS[name].reader))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binary_junk_never_raises(format_name: str, seed: int) -> None:
    junk = random.Random(seed).randbytes(64 * 1024)

    results = _read(format_name, junk, status="unsubscribed", scope_ref="9")

    assert all(isinstance(result, ImportRecord | RejectedLine) for result in results)
    assert all(isinstance(result, RejectedLine) for result in results)


@pytest.mark.parametrize("format_name", sorted(name for name in FORMATS if FORMATS[name].reader))
def test_faults_never_echo_addresses(format_name: str) -> None:
    # Addresses in every position, some valid, some not, some in the wrong column.
    data = (
        b"leak1@example.com,leak2@example.com,UNKNOWN\n"
        b"leak3@example.com,not-an-address@,leak4@example.com,1,2,3,4\n"
        b'{"email": "leak5@", "reason": "leak6@example.com", "status": "leak7@example.com"}\n'
        b'["leak8@example.com", {"Reason": "leak9@example.com"}]\n'
    )

    results = _read(format_name, data, status="unsubscribed", scope_ref="9")

    for result in results:
        if isinstance(result, RejectedLine):
            assert "leak" not in str(result.fault)
            assert "leak" not in result.field
