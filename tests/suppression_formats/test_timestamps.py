"""Time parsers of the ESP formats: each returns an aware UTC datetime or raises TimestampError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from suppression.formats.timestamps import (
    TimestampError,
    from_any,
    from_benchmark,
    from_epoch,
    from_go_time,
    from_iso8601,
    from_mailchimp,
    from_rfc2822,
    optional_time,
)

Parser = Callable[[str], datetime]


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (from_epoch, "1709618401", "2024-03-05T06:00:01+00:00"),
        (from_epoch, "1586552585.077", "2020-04-10T21:03:05.077000+00:00"),
        (from_epoch, "0", "1970-01-01T00:00:00+00:00"),
        (from_epoch, "1712131400.123456789", "2024-04-03T08:03:20.123456+00:00"),
        (from_iso8601, "2024-04-03T04:21:55-04:00", "2024-04-03T08:21:55+00:00"),
        (from_iso8601, "2024-04-03T08:21:55.000Z", "2024-04-03T08:21:55+00:00"),
        (from_iso8601, "2023-05-10T10:00:00.5Z", "2023-05-10T10:00:00.500000+00:00"),
        (from_rfc2822, "Tue, 05 Mar 2024 06:00:01 UTC", "2024-03-05T06:00:01+00:00"),
        (from_rfc2822, "Wed, 03 Apr 2024 08:00:42 GMT", "2024-04-03T08:00:42+00:00"),
        (from_rfc2822, "Wed, 03 Apr 2024 10:00:42 +0200", "2024-04-03T08:00:42+00:00"),
        (from_rfc2822, "Wed, 03 Apr 2024 08:00:42 -0000", "2024-04-03T08:00:42+00:00"),
        (from_mailchimp, "2024-04-03 08:21:55", "2024-04-03T08:21:55+00:00"),
        (from_mailchimp, "2024/04/03 08:21:55", "2024-04-03T08:21:55+00:00"),
        (from_benchmark, "Oct 14, 2017", "2017-10-14T00:00:00+00:00"),
        (from_benchmark, "Aug 26 2016, 12:40 PM", "2016-08-26T12:40:00+00:00"),
        (from_benchmark, "Apr 03 2024, 08:21 AM", "2024-04-03T08:21:00+00:00"),
        (from_benchmark, "Jan 01 2024, 12:05 AM", "2024-01-01T00:05:00+00:00"),
        (from_benchmark, "dec 31, 2023", "2023-12-31T00:00:00+00:00"),
        (from_go_time, "2024-01-15 09:12:44.123456 +0000 UTC", "2024-01-15T09:12:44.123456+00:00"),
        (from_go_time, "2023-05-10 10:00:00.5 +0000 UTC", "2023-05-10T10:00:00.500000+00:00"),
        (from_go_time, "2024-04-03 10:21:55 +0200 CEST", "2024-04-03T08:21:55+00:00"),
        (
            from_go_time,
            "2024-04-03 04:21:55.123456789 -0400 -04",
            "2024-04-03T08:21:55.123456+00:00",
        ),
        (
            from_go_time,
            "2024-04-03 08:21:55.5 +0000 UTC m=+0.003",
            "2024-04-03T08:21:55.500000+00:00",
        ),
        (from_any, "1709618401", "2024-03-05T06:00:01+00:00"),
        (from_any, "2024-04-03T08:21:55", "2024-04-03T08:21:55+00:00"),
        (from_any, "2024/04/03 08:21:55", "2024-04-03T08:21:55+00:00"),
        (from_any, "Tue, 05 Mar 2024 06:00:01 UTC", "2024-03-05T06:00:01+00:00"),
    ],
)
def test_parser_reads_utc(parse: Parser, text: str, expected: str) -> None:
    parsed = parse(text)

    assert parsed.isoformat() == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (from_epoch, "-5"),
        (from_epoch, "1e9"),
        (from_epoch, "253402300800"),
        (from_epoch, "soon"),
        (from_iso8601, "2024-04-03T08:21:55"),
        (from_iso8601, "03/04/2024"),
        (from_rfc2822, "yesterday"),
        (from_mailchimp, "2024-04-03T08:21:55"),
        (from_mailchimp, "2024-02-30 08:21:55"),
        (from_mailchimp, "2024-04/03 08:21:55"),
        (from_benchmark, "Foo 14, 2017"),
        (from_benchmark, "Feb 30, 2017"),
        (from_go_time, "2024-01-15T09:12:44Z"),
        (from_any, "next tuesday"),
    ],
)
def test_parser_rejects(parse: Parser, text: str) -> None:
    with pytest.raises(TimestampError) as caught:
        parse(text)

    assert text not in str(caught.value)


@pytest.mark.parametrize("value", [1712131400, 1712131400.077])
def test_epoch_json_numbers(value: float) -> None:
    assert from_epoch(value).isoformat().startswith("2024-04-03T08:03:20")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True])
def test_epoch_rejects_odd_numbers(value: float) -> None:
    with pytest.raises(TimestampError):
        from_epoch(value)


def test_optional_time_empty_no_warning() -> None:
    assert optional_time("", from_epoch) == (None, ())
    assert optional_time("  ", from_epoch) == (None, ())
    assert optional_time(None, from_epoch) == (None, ())


def test_optional_time_bad_warns() -> None:
    assert optional_time("later", from_epoch) == (None, ("unparseable_time",))
    assert optional_time({"a": 1}, from_epoch) == (None, ("unparseable_time",))


def test_optional_time_number_is_epoch() -> None:
    parsed, warnings = optional_time(1709618401, from_iso8601)

    assert parsed is not None
    assert parsed.isoformat() == "2024-03-05T06:00:01+00:00"
    assert warnings == ()
