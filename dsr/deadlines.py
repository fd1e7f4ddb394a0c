"""Response deadlines of data-subject requests (GDPR Art. 12(3)).

The controller answers "without undue delay and in any event within one
month of receipt"; the period "may be extended by two further months where
necessary", once, and the subject must be informed of the extension, with the
reasons, within the first month.
"""

from __future__ import annotations

import calendar
from datetime import datetime

RESPONSE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def first_due_date(received_at: datetime) -> datetime:
    return add_months(received_at, RESPONSE_MONTHS)


def extended_due_date(original_due_at: datetime, months: int) -> datetime:
    """Return the deadline after an extension of ``months`` (1 or 2) beyond the first month."""
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 1 to {MAX_EXTENSION_MONTHS} months, not {months}")
    return add_months(original_due_at, months)
