"""Timestamp parsers for the ESP time formats. Every parser returns an aware datetime in UTC."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from suppression.formats.records import WARNING_UNPARSEABLE_TIME


class TimestampError(ValueError):
    """A time value is not in the expected format. The message never quotes the value."""


TimeParser = Callable[[str], datetime]

# Epoch seconds from 1970 up to, but not including, the year 10000 (the
# datetime range). The fraction may have up to 9 digits (SES uses 3).
_EPOCH = re.compile(r"(\d{1,12})(?:\.(\d{1,9}))?")
_MAX_EPOCH = 253_402_300_800

# Mailchimp exports write "YYYY-MM-DD HH:MM:SS" without a zone. Files saved
# again by Excel use "/" between the date parts.
_MAILCHIMP = re.compile(r"(\d{4})([-/])(\d{2})\2(\d{2}) (\d{2}):(\d{2}):(\d{2})")

# Benchmark API dates: "Oct 14, 2017" and "Aug 26 2016, 12:40 PM".
_BENCHMARK = re.compile(
    r"([A-Za-z]{3}) (\d{1,2}),? (\d{4})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AaPp][Mm]))?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}

# Go's time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST", trailing
# zeros of the fraction dropped, and a monotonic clock reading ("m=+0.01")
# appended when the value came from time.Now().
_GO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})"
    r"(?: [A-Za-z0-9_+\-/]+)?(?: m=[+-]\d+\.\d+)?"
)


def from_epoch(value: str | int | float) -> datetime:
    """Parse Unix time in seconds, whole or with a fraction.

    :raises TimestampError: the value is not a non-negative number of seconds
        before the year 10000.
    """
    if isinstance(value, bool):
        raise TimestampError("a boolean is not a Unix time")

    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimestampError("the Unix time is not a finite number")
        # repr() gives the shortest text that reads back as the same float,
        # so 1586552585.077 keeps its milliseconds exactly.
        value = repr(value)

    match = _EPOCH.fullmatch(str(value).strip())
    if match is None:
        raise TimestampError("the value is not a Unix time in seconds")

    seconds = int(match.group(1))
    if seconds >= _MAX_EPOCH:
        raise TimestampError("the Unix time is after the year 9999")

    microseconds = int((match.group(2) or "0")[:6].ljust(6, "0"))
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=microseconds)


def from_iso8601(text: str, *, naive_is_utc: bool = False) -> datetime:
    """Parse ISO 8601 with a UTC offset or ``Z``.

    A value without an offset is accepted only when ``naive_is_utc`` is True.

    :raises TimestampError: the text is not ISO 8601, or has no offset.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimestampError("the value is not an ISO 8601 date and time") from None

    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise TimestampError("the ISO 8601 value has no UTC offset")
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_iso8601_naive_utc(text: str) -> datetime:
    """Parse ISO 8601, reading a value without an offset as UTC."""
    return from_iso8601(text, naive_is_utc=True)


def from_rfc2822(text: str) -> datetime:
    """Parse an RFC 2822 date (``Tue, 05 Mar 2024 06:00:01 UTC``), as Mailgun writes it.

    RFC 5322 section 3.3 reads ``-0000`` as UTC with the source zone unknown.
    Python returns that, and unknown zone names, without a zone, and this
    parser reads them as UTC.

    :raises TimestampError: the text is not an RFC 2822 date.
    """
    try:
        parsed = parsedate_to_datetime(text.strip())
    except (ValueError, TypeError, IndexError):
        raise TimestampError("the value is not an RFC 2822 date") from None

    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_mailchimp(text: str) -> datetime:
    """Parse a Mailchimp export time, ``YYYY-MM-DD HH:MM:SS`` or with ``/``, as UTC.

    NOTE: Mailchimp does not document the zone of export times. The Export API
    takes its ``since`` parameter in GMT, which suggests UTC.

    :raises TimestampError: the text has another shape or is not a real date.
    """
    match = _MAILCHIMP.fullmatch(text.strip())
    if match is None:
        raise TimestampError("the value is not a Mailchimp time (YYYY-MM-DD HH:MM:SS)")

    year, _, month, day, hour, minute, second = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        raise TimestampError("the Mailchimp time is not a real date") from None


def from_benchmark(text: str) -> datetime:
    """Parse a Benchmark API date (``Oct 14, 2017`` or ``Aug 26 2016, 12:40 PM``) as UTC.

    Month names are matched in English whatever the process locale is.
    NOTE: Benchmark does not document the zone. A date without a time is
    midnight UTC.

    :raises TimestampError: the text has another shape or is not a real date.
    """
    match = _BENCHMARK.fullmatch(text.strip())
    if match is None:
        raise TimestampError("the value is not a Benchmark date (Oct 14, 2017)")

    month_name, day, year, hour, minute, second, half = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        raise TimestampError("the Benchmark date has an unknown month name")

    hours = 0
    if hour is not None:
        # 12-hour clock: 12 AM is midnight and 12 PM is noon.
        hours = int(hour) % 12 + (12 if half.upper() == "PM" else 0)
    try:
        return datetime(
            int(year),
            month,
            int(day),
            hours,
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        raise TimestampError("the Benchmark date is not a real date") from None


def from_go_time(text: str) -> datetime:
    """Parse Go's ``time.Time.String()`` output, as listmonk's CSV export writes it.

    The numeric offset sets the time. The zone abbreviation after it is ignored.

    :raises TimestampError: the text has another shape or is not a real date.
    """
    match = _GO_TIME.fullmatch(text.strip())
    if match is None:
        raise TimestampError("the value is not a Go time string")

    date, clock, fraction, sign, offset_hours, offset_minutes = match.groups()
    offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
    zone = timezone(-offset if sign == "-" else offset)
    try:
        parsed = datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=zone)
    except ValueError:
        raise TimestampError("the Go time string is not a real date") from None

    # Python keeps microseconds, so nanoseconds are cut.
    microseconds = int((fraction or "0")[:6].ljust(6, "0"))
    return (parsed + timedelta(microseconds=microseconds)).astimezone(UTC)


def from_any(text: str) -> datetime:
    """Parse the formats that the generic formats accept.

    The order is epoch seconds, ISO 8601 (no offset means UTC), the Mailchimp
    layout, then RFC 2822.

    :raises TimestampError: no format matches.
    """
    for parse in (from_epoch, from_iso8601_naive_utc, from_mailchimp, from_rfc2822):
        try:
            return parse(text)
        except TimestampError:
            continue
    raise TimestampError("the value is not a time in any supported format")


def optional_time(
    value: object, parse: Callable[[str], datetime]
) -> tuple[datetime | None, tuple[str, ...]]:
    """Parse a time cell that may be empty.

    Returns the time and no warning, None and no warning for an empty cell,
    or None and the ``unparseable_time`` warning.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ()

    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, (WARNING_UNPARSEABLE_TIME,)

    try:
        if isinstance(value, str):
            return parse(value), ()
        # JSON numbers are Unix times in every format that uses them.
        return from_epoch(value), ()
    except TimestampError:
        return None, (WARNING_UNPARSEABLE_TIME,)
