"""The delivery and bounce events an erasure leaves to background batches.

An erasure deletes at most ``dsr_inline_event_limit`` events inside the
request and records the rest in ``DataSubjectRequest.event_purge``. This
module deletes them, ``dsr_event_batch_size`` per write transaction, so a
subject with years of history never holds the database's write lock for
long. After the last batch the request completes, or keeps waiting for its
processors (GDPR Art. 19). The subject's contact, key and address are gone
before the first batch; the events left meanwhile hold ids and blind
indexes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine
from sqlmodel import col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.db import read_only, transaction
from compliance.core.metrics import record_job_failure
from compliance.core.signing import canonical_json
from dsr.closing import on_task_finished
from dsr.models import DataSubjectRequest
from suppression.campaigns import delete_contact_events

log = structlog.get_logger(__name__)

# Batches per request in one pass, so that one long history does not
# delay the other pending erasures by more than this many batches.
MAX_BATCHES_PER_PASS = 20


@dataclass(frozen=True)
class PurgeBatch:
    deleted: int
    finished: bool


def pending_purges(engine: Engine) -> list[tuple[str, str]]:
    """Return ``(request id, sender id)`` of erasures with events left to delete, oldest first."""
    with read_only(engine).connect() as connection:
        rows = connection.execute(
            select(DataSubjectRequest.id, DataSubjectRequest.sender_id)
            .where(col(DataSubjectRequest.event_purge).is_not(None))
            .order_by(col(DataSubjectRequest.received_at))
        ).all()
    return [(row[0], row[1]) for row in rows]


def purge_batch(engine: Engine, services: Services, request_id: str, sender_id: str) -> PurgeBatch:
    """Delete one batch of the request's remaining events, in one transaction."""
    batch_size = services.settings.dsr_event_batch_size
    with transaction(engine) as session:
        # The request row first, then the sender (in record_event), the
        # order of the workflow: its autoflush writes the request row before
        # record_event locks the sender. A second purger waits here.
        request = session.get(DataSubjectRequest, request_id, with_for_update={"key_share": True})
        if request is None or request.event_purge is None:
            return PurgeBatch(0, True)
        plan = json.loads(request.event_purge)

        deleted = 0
        for contact_id in plan["contact_ids"]:
            deleted += delete_contact_events(
                session, contact_id, plan["digests"], sender_id, limit=batch_size - deleted
            )
            if deleted >= batch_size:
                break

        outcome = json.loads(request.outcome)
        outcome["delivery_events_deleted"] = outcome.get("delivery_events_deleted", 0) + deleted
        finished = deleted < batch_size
        if finished:
            outcome["delivery_events_pending"] = False
            request.event_purge = None
            # The receipt covers the final outcome, which the certificate signs.
            request.receipt_sha256 = hashlib.sha256(canonical_json(outcome)).hexdigest()
        request.outcome = json.dumps(outcome, sort_keys=True)
        session.add(request)

        if finished:
            record_event(
                session,
                sender_id,
                actor="worker",
                action="dsr.events_purged",
                object_type="dsr",
                object_id=request_id,
            )
            on_task_finished(session, services, request_id)
    return PurgeBatch(deleted, finished)


def purge_erased_events(
    engine: Engine, services: Services, stop: threading.Event | None = None
) -> int:
    """Run batches for every pending erasure, a bounded number each; return the events deleted.

    ``stop`` ends the pass between two batches, for a clean shutdown.
    """
    total = 0
    for request_id, sender_id in pending_purges(engine):
        for _ in range(MAX_BATCHES_PER_PASS):
            if stop is not None and stop.is_set():
                return total
            batch = purge_batch(engine, services, request_id, sender_id)
            total += batch.deleted
            if batch.finished:
                log.info("dsr.events_purged", dsr_id=request_id, sender_id=sender_id)
                break
    return total


async def run_event_purger(engine: Engine, services: Services, poll_seconds: float) -> None:
    """Purge pending erasures every ``poll_seconds``, for ``sendguard serve``.

    On cancellation the batch in flight finishes before this returns, so
    the caller never disposes of the engine under a running transaction.
    """
    log.info("event_purger.started")
    stop = threading.Event()
    while True:
        work = asyncio.ensure_future(asyncio.to_thread(purge_erased_events, engine, services, stop))
        try:
            try:
                deleted = await asyncio.shield(work)
                # Work left after a full pass: go again at once.
                more = deleted > 0 and bool(await asyncio.to_thread(pending_purges, engine))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("event_purger.batch_failed", error_type=type(error).__name__)
                record_job_failure("event_purge")
                more = False
            if not more:
                await asyncio.sleep(poll_seconds)
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(Exception):
                await work
            log.info("event_purger.stopped")
            raise
