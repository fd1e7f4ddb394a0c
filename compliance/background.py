"""The background loops: outbox, processor notifications, erasure event purges, maintenance.

``sendguard serve`` runs them inside its lifespan (the default), and
``sendguard worker`` runs them with no HTTP server. Every loop claims its
rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL or holds a row lock, so
any number of processes may run them against one PostgreSQL database. On
SQLite only one process may write, so only ``serve`` runs them there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from functools import partial

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core.context import Services
from compliance.core.dkim_signing import load_dkim_signer
from compliance.core.metrics import record_job_failure
from compliance.core.outbox import OutboxWorker, PermanentFailure
from compliance.core.ratelimit_db import purge_expired_windows
from compliance.reputation.dashboard_sessions import purge_ended_sessions
from consent.maintenance import run_maintenance
from consent.service import record_hard_bounce
from dsr.closing import on_task_finished
from dsr.event_purge import run_event_purger
from dsr.maintenance import run_dsr_maintenance
from dsr.processor_worker import run_processor_worker
from dsr.retention import apply_retention

log = structlog.get_logger(__name__)


def suppress_refused_recipient(engine: Engine, failure: PermanentFailure) -> None:
    """Suppress, as a hard bounce, an address that a relay refused with a 5xx at RCPT TO."""
    if not failure.recipient_refused or not failure.contact_id:
        return
    with Session(engine) as session:
        if record_hard_bounce(session, failure.contact_id, f"outbox:{failure.outbox_id}"):
            session.commit()
            log.info(
                "outbox.recipient_suppressed",
                outbox_id=failure.outbox_id,
                contact_id=failure.contact_id,
            )


async def run_maintenance_forever(engine: Engine, services: Services) -> None:
    """Run the maintenance and the rate-limit purge every interval, and retention every few hours.

    Retention runs once at start-up, then every ``retention_interval_hours``;
    several processes may run it at once (it skips rows another one holds).
    """
    retention_seconds = services.settings.retention_interval_hours * 3600
    last_retention: float | None = None
    while True:
        try:
            await asyncio.to_thread(run_maintenance, engine, services)
            await asyncio.to_thread(run_dsr_maintenance, engine, services)
        except Exception as error:
            log.error("maintenance.failed", error_type=type(error).__name__)
            record_job_failure("maintenance")
        try:
            await asyncio.to_thread(purge_ended_sessions, engine)
        except Exception as error:
            log.error("dashboard.purge_failed", error_type=type(error).__name__)
            record_job_failure("dashboard_sessions_purge")
        try:
            # The memory store writes no windows, so with it this deletes nothing.
            await asyncio.to_thread(purge_expired_windows, engine)
        except Exception as error:
            log.error("ratelimit.purge_failed", error_type=type(error).__name__)
            record_job_failure("ratelimit_purge")
        started = time.monotonic()
        if last_retention is None or started - last_retention >= retention_seconds:
            last_retention = started
            try:
                await asyncio.to_thread(apply_retention, engine, services)
            except Exception as error:
                log.error("retention.failed", error_type=type(error).__name__)
                record_job_failure("retention")
        await asyncio.sleep(services.settings.maintenance_interval_seconds)


def _close_after_processors(services: Services, session: Session, request_id: str) -> None:
    on_task_finished(session, services, request_id)


class BackgroundLoops:
    """The four background loops of one process, started together and stopped together."""

    def __init__(self, engine: Engine, services: Services) -> None:
        settings = services.settings
        self._engine = engine
        self._services = services
        self.outbox = OutboxWorker(
            engine,
            services.keystore,
            services.transport,
            settings.outbox_poll_seconds,
            settings.outbox_max_attempts,
            on_permanent_failure=partial(suppress_refused_recipient, engine),
            dkim=load_dkim_signer(settings),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every loop as a task of the running event loop."""
        settings = self._services.settings
        poll_seconds = settings.outbox_poll_seconds
        self._tasks = [
            asyncio.create_task(self.outbox.run()),
            asyncio.create_task(run_maintenance_forever(self._engine, self._services)),
            # Processors (GDPR Art. 19) are notified of erasures and objections, and
            # the last response closes the request and signs its certificate.
            asyncio.create_task(
                run_processor_worker(
                    self._engine,
                    self._services,
                    on_final=partial(_close_after_processors, self._services),
                    poll_seconds=poll_seconds,
                )
            ),
            # Erasures of subjects with a long event history finish here.
            asyncio.create_task(run_event_purger(self._engine, self._services, poll_seconds)),
        ]
        log.info("background.started", loops=len(self._tasks))

    async def stop(self) -> None:
        """Stop claiming work, let each loop finish or release what it holds, then return.

        The outbox and the processor loop finish the message or call in hand
        and release the rest of their batch; the purger finishes its batch.
        """
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

        # A cancelled task does not stop a thread that it started with
        # asyncio.to_thread (maintenance, retention): wait for those threads,
        # so that none is still in a transaction when the engines are disposed.
        await asyncio.get_running_loop().shutdown_default_executor()
        log.info("background.stopped")


async def run_until_stopped(engine: Engine, services: Services, stop: asyncio.Event) -> None:
    """Run the loops until ``stop`` is set, then stop them cleanly (``sendguard worker``)."""
    loops = BackgroundLoops(engine, services)
    loops.start()
    try:
        await stop.wait()
    finally:
        await loops.stop()
