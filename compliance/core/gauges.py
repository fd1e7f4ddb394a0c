"""Gauges read from the database when Prometheus scrapes ``/metrics``.

Values such as the outbox depth live in the database, which every worker
process shares, so they are read at scrape time instead of being kept in
each process. All sources run in one short read-only transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

import structlog
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from compliance.core.db import is_postgresql, read_only
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow

log = structlog.get_logger(__name__)

# A scrape must complete before Prometheus's own timeout (10 s by default), so
# each statement is cut off after two seconds on PostgreSQL.
STATEMENT_TIMEOUT_MS = 2000

# A gauge source reads aggregate values in the given session; ``now`` is the
# scrape time, shared by every source.
GaugeSource = Callable[[Session, datetime], Iterable[Metric]]


class DatabaseGaugeCollector:
    """Run every gauge source in one read-only transaction at each scrape.

    A failed read does not fail the scrape: the other metrics still matter
    when the database is down. ``sendguard_database_gauges_up`` is then 0.
    """

    def __init__(self, engine: Engine, sources: Sequence[GaugeSource]) -> None:
        self._engine = engine
        self._sources = tuple(sources)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "sendguard_database_gauges_up",
            "1 when the database gauges of this scrape were read, 0 when the read failed.",
        )
        try:
            metrics = self._read()
        except Exception as error:
            log.error("metrics.gauges_failed", error_type=type(error).__name__)
            up.add_metric([], 0)
            yield up
            return

        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> list[Metric]:
        now = utcnow()
        with Session(read_only(self._engine)) as session:
            if is_postgresql(self._engine):
                session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            # NOTE: SQLite has no statement timeout. Its reads do not wait for
            # writers in WAL mode, so only a very large outbox slows them.
            metrics = [metric for source in self._sources for metric in source(session, now)]
            session.rollback()
        return metrics


def outbox_gauges(session: Session, now: datetime) -> list[Metric]:
    """Count pending and dead outbox rows and measure the age of the oldest pending one.

    Sent rows are never purged, so counting them would scan a table that only
    grows; ``sendguard_outbox_sent_total`` counts sends instead. Both counts
    here use the index on ``status``.
    """
    depth = GaugeMetricFamily(
        "sendguard_outbox_messages",
        "Outbox rows by status: pending (waiting to be sent) or dead (given up).",
        labels=["status"],
    )
    for status in (OutboxStatus.PENDING, OutboxStatus.DEAD):
        count = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
        ).one()
        depth.add_metric([status.value], count)

    oldest = session.exec(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    ).one()
    age = GaugeMetricFamily(
        "sendguard_outbox_oldest_pending_age_seconds",
        "Seconds since the oldest pending outbox row was queued; 0 when none is pending.",
    )
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return [depth, age]
