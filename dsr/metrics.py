"""DSR deadline gauges for ``/metrics``, read at scrape time.

GDPR Art. 12(3) gives one month from receipt, two more after an extension;
``due_at`` is the current deadline in both cases.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import Session, col, select

from dsr.models import CLOSED_STATUSES, DataSubjectRequest


def dsr_gauges(session: Session, now: datetime) -> list[Metric]:
    """Count open and overdue requests and measure the time left to the nearest deadline.

    Counts cover every sender, because a per-sender label would expose
    tenants and grow with them.
    """
    # NOTE: no index starts with status, so this scans every request that
    # retention keeps (five years by default). Requests are far fewer than
    # contacts, but add an index on (status, due_at) if this scan grows slow.
    is_open = col(DataSubjectRequest.status).not_in([status.value for status in CLOSED_STATUSES])
    open_count, overdue_count, nearest_due = session.exec(
        select(
            func.count(),
            func.count().filter(col(DataSubjectRequest.due_at) < now),
            func.min(DataSubjectRequest.due_at),
        ).where(is_open)
    ).one()

    open_requests = GaugeMetricFamily(
        "sendguard_dsr_open_requests",
        "Data-subject requests not yet completed, rejected or failed.",
    )
    open_requests.add_metric([], open_count)
    overdue = GaugeMetricFamily(
        "sendguard_dsr_overdue_requests", "Open data-subject requests past their legal deadline."
    )
    overdue.add_metric([], overdue_count)
    # Without open requests there is no deadline: the gauge has no sample
    # then, and an alert on it must not treat absence as a breach.
    nearest = GaugeMetricFamily(
        "sendguard_dsr_nearest_deadline_seconds",
        "Seconds until the nearest deadline of an open request; negative once it has passed.",
    )
    if nearest_due is not None:
        nearest.add_metric([], (nearest_due - now).total_seconds())
    return [open_requests, overdue, nearest]
