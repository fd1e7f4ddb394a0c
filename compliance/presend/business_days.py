"""US business days: weekdays that are not federal holidays (5 U.S.C. 6103).

CAN-SPAM gives a sender 10 business days to honour an opt-out
(15 U.S.C. 7704(a)(4)(A)). The FTC rule does not define the business day,
so this module counts Monday to Friday, minus the federal holidays.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

# Fixed-date holidays as (month, day). Juneteenth counts from 2021, the
# year it was added to 5 U.S.C. 6103(a).
_FIXED = ((1, 1), (6, 19), (7, 4), (11, 11), (12, 25))
JUNETEENTH_FIRST_YEAR = 2021

# Holidays on the n-th given weekday of a month, as (month, weekday, n);
# n = -1 is the last one.
_NTH_WEEKDAY = (
    (1, calendar.MONDAY, 3),  # Birthday of Martin Luther King, Jr.
    (2, calendar.MONDAY, 3),  # Washington's Birthday
    (5, calendar.MONDAY, -1),  # Memorial Day
    (9, calendar.MONDAY, 1),  # Labor Day
    (10, calendar.MONDAY, 2),  # Columbus Day
    (11, calendar.THURSDAY, 4),  # Thanksgiving Day
)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """Return the ``n``-th ``weekday`` of the month (``n = -1``: the last one)."""
    days = [
        day
        for day in calendar.Calendar().itermonthdates(year, month)
        if day.month == month and day.weekday() == weekday
    ]
    return days[n - 1] if n > 0 else days[n]


def observed(holiday: date) -> date:
    """Move a holiday on a weekend to the day off federal employees get (5 U.S.C. 6103(b))."""
    if holiday.weekday() == calendar.SATURDAY:
        return holiday - timedelta(days=1)
    if holiday.weekday() == calendar.SUNDAY:
        return holiday + timedelta(days=1)
    return holiday


def _holidays_of(year: int) -> set[date]:
    days: set[date] = set()
    for month, day in _FIXED:
        if (month, day) == (6, 19) and year < JUNETEENTH_FIRST_YEAR:
            continue
        days.add(observed(date(year, month, day)))
    for month, weekday, n in _NTH_WEEKDAY:
        days.add(nth_weekday(year, month, weekday, n))
    return days


@lru_cache(maxsize=64)
def us_federal_holidays(year: int) -> frozenset[date]:
    """Return the days off of federal holidays that fall in ``year``.

    New Year's Day of the next year observed on 31 December is included.
    """
    candidates = _holidays_of(year) | _holidays_of(year + 1)
    return frozenset(day for day in candidates if day.year == year)


def is_us_business_day(day: date) -> bool:
    return day.weekday() < calendar.SATURDAY and day not in us_federal_holidays(day.year)


def us_business_days_after(start: date, end: date) -> int:
    """Count the business days ``d`` with ``start < d <= end`` (0 when ``end <= start``)."""
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_us_business_day(day):
            count += 1
        day += timedelta(days=1)
    return count


def add_us_business_days(start: date, count: int) -> date:
    """Return the ``count``-th business day after ``start`` (``start`` itself is not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_us_business_day(day):
            remaining -= 1
    return day
