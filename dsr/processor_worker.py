"""The queue worker that passes data-subject requests on to processors (GDPR Art. 19).

Each task goes through three steps, so that no transaction stays open
during an HTTP call: claim due tasks and commit, call the processors with
no transaction open, then record each result in a short transaction of its
own. A claim sets ``claimed_until``; a worker that dies mid-batch leaves
its tasks to be claimed again once that lease ends. A processor may then
receive a task twice, with the same event id, which receivers use to drop
the copy (at-least-once delivery, as in the email outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from compliance.core.context import Services
from compliance.core.db import is_postgresql, transaction
from compliance.core.metrics import record_job_failure
from compliance.core.models import utcnow
from dsr.adapters import (
    MAX_MAILCHIMP_LISTS,
    Action,
    CallResult,
    Notification,
    Outcome,
    ProcessorCall,
    call_processor,
)
from dsr.models import DataSubjectRequest, Processor, ProcessorKind, ProcessorTask, TaskStatus
from dsr.outbound import OutboundClient
from dsr.payload import PayloadGone, processor_changes, read_payload
from dsr.processors import load_credentials, processor_config

log = structlog.get_logger(__name__)

# Retries back off exponentially from 30 s, capped at one hour, as the email outbox does.
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
# The most HTTP calls one task makes (Mailchimp: one per audience).
MAX_CALLS_PER_TASK = MAX_MAILCHIMP_LISTS

DEFAULT_BATCH_SIZE = 20

# A processor that is still carrying out a request (Outcome.WAITING) is asked
# again after this delay. The wait counts no attempt, but it ends: GDPR Art.
# 12(3) gives one month to act on a request, so a task still waiting after
# WAITING_LIMIT is dead and a person must follow it up with the processor.
WAITING_POLL = timedelta(minutes=15)
WAITING_LIMIT = timedelta(days=30)

FinalHook = Callable[[Session, str], None]
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class _Job:
    """A claimed task with what its call needs, read in the claim transaction."""

    task: ProcessorTask
    processor: Processor
    request: DataSubjectRequest | None


def claim_lease(services: Services, limit: int) -> timedelta:
    """Return how long a claim lasts: longer than a whole batch of calls can take."""
    seconds = limit * MAX_CALLS_PER_TASK * services.settings.processor_timeout_seconds
    return timedelta(seconds=seconds + 60)


def backoff_delay(attempts: int) -> timedelta:
    """Return the wait after failed attempt number ``attempts`` (1-based), with jitter.

    The jitter draws from the upper half of the exponential delay, so tasks
    failed together by one outage do not all return at the same second.
    """
    ceiling = min(BASE_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=_random.uniform(ceiling / 2, ceiling))


def drain_processor_tasks(
    engine: Engine,
    services: Services,
    *,
    on_final: FinalHook,
    now: datetime | None = None,
    limit: int = DEFAULT_BATCH_SIZE,
    client: OutboundClient | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run up to ``limit`` due tasks once; return how many were claimed.

    ``on_final(session, request_id)`` runs in the transaction that makes a
    task SUCCEEDED or DEAD, once per task. If it raises, that transaction
    rolls back and the task is called again after its lease ends. Once
    ``stop`` is set, the tasks not yet called are released for another
    worker to claim at once.
    """
    jobs = _claim(engine, services, now or utcnow(), limit)
    if not jobs:
        return 0

    # Made only when there is work: loading the system's CA certificates
    # costs about 20 ms of CPU, and the loop polls every second.
    client = client or OutboundClient(services.settings)
    for position, job in enumerate(jobs):
        if stop is not None and stop.is_set():
            _release(engine, [pending.task for pending in jobs[position:]])
            break

        moment = now or utcnow()
        result = _run(client, services, job, moment)
        try:
            _record(engine, services, job, result, moment, on_final)
        except Exception as error:
            log.error(
                "processor_task.record_failed",
                task_id=job.task.id,
                request_id=job.task.request_id,
                error_type=type(error).__name__,
            )
            record_job_failure("processor_record")
    return len(jobs)


def _claim(engine: Engine, services: Services, now: datetime, limit: int) -> list[_Job]:
    lease_end = now + claim_lease(services, limit)
    with transaction(engine) as session:
        query = (
            select(ProcessorTask)
            .where(
                ProcessorTask.status == TaskStatus.PENDING,
                col(ProcessorTask.next_attempt_at) <= now,
                or_(
                    col(ProcessorTask.claimed_until).is_(None),
                    col(ProcessorTask.claimed_until) <= now,
                ),
            )
            .order_by(col(ProcessorTask.next_attempt_at), col(ProcessorTask.id))
            .limit(limit)
        )
        if is_postgresql(engine):
            # Several workers may drain one database: each task goes to one.
            query = query.with_for_update(skip_locked=True)
        jobs: list[_Job] = []
        for task in session.exec(query).all():
            # Counted at claim time, so a call that kills the worker still counts.
            task.attempts += 1
            task.claimed_until = lease_end
            session.add(task)
            processor = session.get(Processor, task.processor_id)
            request = session.get(DataSubjectRequest, task.request_id)
            assert processor is not None  # a foreign key guarantees it
            jobs.append(_Job(task, processor, request))
    # The rows are detached now; their values are those just committed.
    return jobs


def _release(engine: Engine, tasks: list[ProcessorTask]) -> None:
    """End the claims of tasks that were not called, with their attempt uncounted.

    The same conditions as in :func:`_record` keep a task that another
    worker claimed after this lease ended unchanged.
    """
    with transaction(engine) as session:
        for task in tasks:
            session.connection().execute(
                update(ProcessorTask)
                .where(
                    col(ProcessorTask.id) == task.id,
                    col(ProcessorTask.status) == TaskStatus.PENDING,
                    col(ProcessorTask.attempts) == task.attempts,
                    col(ProcessorTask.claimed_until) == task.claimed_until,
                )
                .values(claimed_until=None, attempts=task.attempts - 1)
            )
    log.info("processor_task.claims_released", count=len(tasks))


def _run(client: OutboundClient, services: Services, job: _Job, now: datetime) -> CallResult:
    task = job.task
    try:
        if job.request is None:
            raise PayloadGone(task.request_id)
        payload = read_payload(services.keystore, job.request)
    except PayloadGone:
        # The request closed or its subject was erased before the call: the
        # address is gone for good, so no later attempt can succeed.
        return CallResult(Outcome.PERMANENT, error="payload_destroyed")

    try:
        credentials = load_credentials(
            services.keystore, job.processor.id, job.processor.secret_ciphertext
        )
    except LookupError:
        return CallResult(Outcome.PERMANENT, error="credentials_destroyed")

    call = ProcessorCall(
        kind=ProcessorKind(job.processor.kind),
        base_url=job.processor.url,
        credentials=credentials,
        config=processor_config(job.processor),
    )
    note = Notification(
        task_id=task.id,
        request_id=task.request_id,
        sender_id=task.sender_id,
        action=Action(task.action),
        created_at=task.created_at,
        sent_at=now,
        address=payload.address,
        changes=processor_changes(payload.changes),
        pending_confirmation=("email",) if "email" in payload.changes else (),
        remote_ref=task.remote_ref,
    )
    return call_processor(client, call, note)


def _record(
    engine: Engine,
    services: Services,
    job: _Job,
    result: CallResult,
    now: datetime,
    on_final: FinalHook,
) -> None:
    task = job.task
    values: dict[str, object] = {
        "claimed_until": None,
        "last_error": result.error[:300] if result.error else None,
        "response_status": result.response_status,
    }
    if result.remote_ref is not None:
        values["remote_ref"] = result.remote_ref[:120]

    max_attempts = services.settings.processor_max_attempts
    if result.outcome == Outcome.SUCCEEDED:
        values.update(status=TaskStatus.SUCCEEDED, completed_at=now)
    elif result.outcome == Outcome.WAITING and now - task.created_at < WAITING_LIMIT:
        # Not a failure: the claim counted an attempt, which is given back.
        values.update(attempts=task.attempts - 1, next_attempt_at=now + WAITING_POLL)
    elif result.outcome == Outcome.WAITING:
        values.update(
            status=TaskStatus.DEAD, completed_at=now, last_error="processor_still_working"
        )
    elif result.outcome == Outcome.RETRYABLE and task.attempts < max_attempts:
        values["next_attempt_at"] = now + backoff_delay(task.attempts)
    else:
        # A permanent failure, or the last allowed attempt: a person must look.
        values.update(status=TaskStatus.DEAD, completed_at=now)
    final = values.get("status") in (TaskStatus.SUCCEEDED, TaskStatus.DEAD)

    with transaction(engine) as session:
        # Only while this worker's claim holds: after a lease expiry another
        # worker owns the task, and a DPO retry resets it.
        changed = session.connection().execute(
            update(ProcessorTask)
            .where(
                col(ProcessorTask.id) == task.id,
                col(ProcessorTask.status) == TaskStatus.PENDING,
                col(ProcessorTask.attempts) == task.attempts,
                col(ProcessorTask.claimed_until) == task.claimed_until,
            )
            .values(**values)
        )
        if changed.rowcount == 0:
            log.warning("processor_task.claim_lost", task_id=task.id, attempts=task.attempts)
            return
        if final:
            on_final(session, task.request_id)

    _log_result(job, result, values)


def _log_result(job: _Job, result: CallResult, values: dict[str, object]) -> None:
    fields = {
        "task_id": job.task.id,
        "request_id": job.task.request_id,
        "processor_id": job.processor.id,
        "attempts": job.task.attempts,
        "response_status": result.response_status,
        "error": result.error,
    }
    status = values.get("status")
    if status == TaskStatus.SUCCEEDED:
        log.info("processor_task.succeeded", **fields)
    elif status == TaskStatus.DEAD:
        log.error("processor_task.dead", **fields)
    elif result.outcome == Outcome.WAITING:
        log.info(
            "processor_task.waiting",
            next_attempt_at=str(values["next_attempt_at"]),
            remote_ref=result.remote_ref,
            **fields,
        )
    else:
        log.warning(
            "processor_task.retry",
            next_attempt_at=str(values["next_attempt_at"]),
            **fields,
        )


async def run_processor_worker(
    engine: Engine, services: Services, on_final: FinalHook, poll_seconds: float
) -> None:
    """Drain the processor queue every ``poll_seconds``, for ``serve`` and ``worker``.

    On cancellation the call in flight finishes and the rest of the batch
    is released before this returns.
    """
    log.info("processor_worker.started")
    stop = threading.Event()
    while True:
        work = asyncio.ensure_future(
            asyncio.to_thread(drain_processor_tasks, engine, services, on_final=on_final, stop=stop)
        )
        try:
            try:
                claimed = await asyncio.shield(work)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("processor_worker.batch_failed", error_type=type(error).__name__)
                record_job_failure("processor_batch")
                claimed = 0
            # A full batch suggests more tasks are due: drain again at once.
            if claimed < DEFAULT_BATCH_SIZE:
                await asyncio.sleep(poll_seconds)
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(Exception):
                await work
            log.info("processor_worker.stopped")
            raise
