"""The streaming JSON reader: envelopes, chunk boundaries, damage, and JSON Lines."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from suppression.formats import FORMATS, ImportRecord, ReadOptions, ReadResult, RejectedLine
from suppression.formats.faults import MAX_ITEM_CHARS
from suppression.formats.json_io import JsonItem, JsonItems


def _read(format_name: str, data: bytes, **options: Any) -> list[ReadResult]:
    reader = FORMATS[format_name].reader
    assert reader is not None
    return list(reader(io.BytesIO(data), ReadOptions(**options)))


def _lines(results: list[ReadResult]) -> list[tuple[int, str]]:
    summary = []
    for result in results:
        if isinstance(result, RejectedLine):
            summary.append((result.line, result.fault.code))
        else:
            summary.append((result.line, result.address or ""))
    return summary


@pytest.mark.parametrize("shift", range(-12, 13, 3))
def test_number_split_at_chunk_boundary(shift: int) -> None:
    # The reader decodes 64 KiB at a time. Padding moves the Unix time across
    # that boundary, where a cut number would read as a smaller one.
    prefix = b'[{"email": "a@example.com", "created": '
    padding = b" " * (65536 - len(prefix) + shift)
    data = b'[{"email": "a@example.com", "created": ' + padding + b"1712132515.613}]"

    results = _read("generic_json", data)

    record = results[0]
    assert isinstance(record, ImportRecord)
    assert record.occurred_at is not None
    assert record.occurred_at.isoformat() == "2024-04-03T08:21:55.613000+00:00"


def test_envelope_members_skipped() -> None:
    data = json.dumps(
        {
            "paging": {"next": "https://api.example.net/x?a=[1,2]", "nested": [[{"a": "]"}]]},
            "count": 2,
            "items": [
                {"address": "a@example.com", "created_at": "Tue, 05 Mar 2024 06:00:01 UTC"},
                {"address": "b@example.com", "note": 'quote " and ] and } inside'},
            ],
            "after": {"items": [{"address": "c@example.com"}]},
        }
    ).encode()

    results = _read("mailgun_complaints_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "b@example.com")]


def test_bom_and_whitespace() -> None:
    data = b'\xef\xbb\xbf \n\t[ "a@example.com" ,\n "b@example.com" ]\n'

    results = _read("generic_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "b@example.com")]


def test_empty_array_no_results() -> None:
    assert _read("generic_json", b"[]") == []
    assert _read("mailgun_bounces_json", b'{"items": [], "paging": {}}') == []


def test_missing_array_reported() -> None:
    results = _read("mailgun_bounces_json", b'{"paging": {}}')

    assert _lines(results) == [(1, "unexpected_shape")]


def test_wrong_top_level_shape() -> None:
    results = _read("sendgrid_bounces_json", b'{"email": "a@example.com"}')

    assert _lines(results) == [(1, "unexpected_shape")]


def test_truncated_document() -> None:
    data = b'[{"email": "a@example.com"}, {"email": "b@exa'

    results = _read("generic_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "invalid_json")]


def test_syntax_error_stops_reading() -> None:
    data = b'[{"email": "a@example.com"}, {"email": nope}, {"email": "c@example.com"}]'

    results = _read("generic_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "invalid_json")]


def test_syntax_error_far_from_end() -> None:
    # A fault followed by a lot of valid text is reported as invalid JSON,
    # not as an item too large.
    tail = b", " + b", ".join([b'"x@example.com"'] * 50_000) + b"]"
    data = b'["a@example.com", {"email" "b@example.com"}' + tail

    results = _read("generic_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "invalid_json")]


def test_trailing_garbage() -> None:
    results = _read("generic_json", b'["a@example.com"] extra')

    assert _lines(results) == [(1, "a@example.com"), (2, "invalid_json")]


def test_empty_document() -> None:
    assert _lines(_read("generic_json", b"  \n")) == [(1, "invalid_json")]


def test_item_too_large() -> None:
    data = b'[{"email": "a@example.com", "reason": "' + b"x" * (MAX_ITEM_CHARS + 10) + b'"}]'

    results = _read("generic_json", data)

    assert _lines(results) == [(1, "item_too_large")]


def test_invalid_utf8_in_json() -> None:
    # The text is decoded in 64 KiB chunks, so a bad byte in the first chunk
    # stops the reader before any item, and one in a later chunk after them.
    early = _read("generic_json", b'["a@example.com", "b\xff@example.com"]')
    late = _read("generic_json", b'["a@example.com", ' + b" " * 70_000 + b'"b\xff@example.com"]')

    assert _lines(early) == [(1, "invalid_encoding")]
    assert _lines(late) == [(1, "a@example.com"), (2, "invalid_encoding")]


def test_non_object_items_rejected() -> None:
    results = _read(
        "mailgun_bounces_json", b'{"items": [1, null, ["a"], {"address": "a@example.com"}]}'
    )

    assert _lines(results) == [
        (1, "not_an_object"),
        (2, "not_an_object"),
        (3, "not_an_object"),
        (4, "a@example.com"),
    ]


def test_escapes_decoded() -> None:
    results = _read("generic_json", b'["\\u0061@example.com", {"em\\u0061il": "b@example.com"}]')

    assert _lines(results) == [(1, "a@example.com"), (2, "b@example.com")]


def test_mailchimp_members_list() -> None:
    data = json.dumps(
        {
            "members": [
                {"email_address": "a@example.com", "status": "cleaned", "list_id": "L1"},
                {"email_address": "b@example.com", "status": "pending", "list_id": "L1"},
                {"email_address": "c@example.com", "status": "mystery", "list_id": "L1"},
            ],
            "total_items": 3,
        }
    ).encode()

    results = _read("mailchimp_json", data)

    assert _lines(results) == [(1, "a@example.com"), (2, "b@example.com"), (3, "unknown_value")]
    pending = results[1]
    assert isinstance(pending, ImportRecord)
    assert pending.suppress is False


def test_object_path_single_item() -> None:
    items = list(
        JsonItems(
            io.BytesIO(b'{"Other": 1, "SuppressedDestination": {"EmailAddress": "a"}}'),
            array_paths=[],
            object_paths=[("SuppressedDestination",)],
        )
    )

    assert items == [JsonItem(1, {"EmailAddress": "a"})]


def test_envelope_keeps_top_scalars() -> None:
    items = JsonItems(
        io.BytesIO(b'{"a": "x", "b": 2, "c": {"d": 1}, "e": [1], "f": null}'),
        array_paths=[],
        require_match=False,
    )

    assert list(items) == []
    assert dict(items.envelope) == {"a": "x", "b": 2, "f": None}


def test_jsonl_damage_per_line() -> None:
    data = (
        b'{"email": "a@example.com"}\n'
        b"\n"
        b"{broken\n"
        b'"b@example.com"\n'
        b"42\n"
        b'{"email": "c\xff@example.com"}\n'
        b'{"email": "d@example.com"}'
    )

    results = _read("generic_jsonl", data)

    assert _lines(results) == [
        (1, "a@example.com"),
        (3, "invalid_json"),
        (4, "b@example.com"),
        (5, "not_an_object"),
        (6, "invalid_encoding"),
        (7, "d@example.com"),
    ]


def test_jsonl_long_line() -> None:
    data = b'{"email": "' + b"x" * (2 * MAX_ITEM_CHARS) + b'"}\n{"emailAddress": "a@example.com"}\n'

    results = _read("ses_delete_jsonl", data)

    assert _lines(results) == [(1, "line_too_long"), (2, "a@example.com")]


class _CountingStream(io.BytesIO):
    """A byte stream that counts the bytes handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int | None = -1, /) -> bytes:
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.mark.parametrize("format_name", ["generic_json", "generic_jsonl", "generic_csv"])
def test_first_record_before_whole_file(format_name: str) -> None:
    count = 100_000
    if format_name == "generic_json":
        data = b"[" + b",".join([b'"a@example.com"'] * count) + b"]"
    elif format_name == "generic_jsonl":
        data = b'"a@example.com"\n' * count
    else:
        data = b"email\n" + b"a@example.com\n" * count
    stream = _CountingStream(data)
    reader = FORMATS[format_name].reader
    assert reader is not None

    first = next(reader(stream, ReadOptions()))

    assert isinstance(first, ImportRecord)
    assert stream.bytes_read < len(data) // 10
