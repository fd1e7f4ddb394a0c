"""US federal holidays and the business-day count behind the CAN-SPAM opt-out deadline."""

from __future__ import annotations

from datetime import date

import pytest

from compliance.presend.business_days import (
    add_us_business_days,
    is_us_business_day,
    us_business_days_after,
    us_federal_holidays,
)

# The days off of 2026 as the US Office of Personnel Management lists them.
HOLIDAYS_2026 = {
    date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 5, 25),
    date(2026, 6, 19), date(2026, 7, 3), date(2026, 9, 7), date(2026, 10, 12),
    date(2026, 11, 11), date(2026, 11, 26), date(2026, 12, 25),
}  # fmt: skip


def test_holidays_2026() -> None:
    assert us_federal_holidays(2026) == HOLIDAYS_2026


def test_saturday_new_year_observed_in_december() -> None:
    # 1 January 2022 was a Saturday: the day off was Friday 31 December 2021.
    assert date(2021, 12, 31) in us_federal_holidays(2021)
    assert date(2022, 1, 1) not in us_federal_holidays(2022)
    assert date(2021, 12, 31) not in us_federal_holidays(2022)


def test_sunday_holidays_move_to_monday() -> None:
    holidays = us_federal_holidays(2022)
    assert date(2022, 6, 20) in holidays  # Juneteenth, a Sunday
    assert date(2022, 12, 26) in holidays  # Christmas Day, a Sunday
    assert date(2022, 12, 25) not in holidays


def test_juneteenth_only_from_2021() -> None:
    assert date(2020, 6, 19) not in us_federal_holidays(2020)
    assert date(2021, 6, 18) in us_federal_holidays(2021)


# 2027 has 12 days off: New Year's Day 2028, a Saturday, is observed on 31 December 2027.
@pytest.mark.parametrize(
    ("year", "memorial", "thanksgiving", "days_off"),
    [
        (2024, date(2024, 5, 27), date(2024, 11, 28), 11),
        (2027, date(2027, 5, 31), date(2027, 11, 25), 12),
    ],
)
def test_monday_and_thursday_rules(
    year: int, memorial: date, thanksgiving: date, days_off: int
) -> None:
    holidays = us_federal_holidays(year)
    assert memorial in holidays
    assert thanksgiving in holidays
    assert len(holidays) == days_off


def test_weekend_and_holiday_not_business_days() -> None:
    assert is_us_business_day(date(2026, 11, 10))
    assert not is_us_business_day(date(2026, 11, 11))
    assert not is_us_business_day(date(2026, 11, 14))


def test_ten_business_days_skip_veterans_day() -> None:
    # From Monday 2 November 2026: 8 weekdays to the 13th, one of them the 11th.
    assert add_us_business_days(date(2026, 11, 2), 10) == date(2026, 11, 17)
    assert us_business_days_after(date(2026, 11, 2), date(2026, 11, 17)) == 10


def test_ten_business_days_across_year_end() -> None:
    # 25 December 2026 and 1 January 2027 are both Fridays and days off.
    assert add_us_business_days(date(2026, 12, 21), 10) == date(2027, 1, 6)


def test_count_empty_when_end_not_after_start() -> None:
    assert us_business_days_after(date(2026, 11, 2), date(2026, 11, 2)) == 0
    assert us_business_days_after(date(2026, 11, 5), date(2026, 11, 2)) == 0
