"""The processor queue: claims, retries with backoff, dead letters, leases and the final hook."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from compliance.app import Runtime, open_runtime
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from dsr import processor_worker, processors
from dsr.adapters import CallResult, Outcome
from dsr.models import DataSubjectRequest, ProcessorKind, ProcessorTask, TaskStatus
from dsr.payload import shred
from dsr.processor_worker import claim_lease, drain_processor_tasks
from tests.dsr import fake_processors as fakes
from tests.dsr.fake_processors import FakeProcessors, make_request, make_sender

ADDRESS = "jeanne.martin@example.org"
MAX_ATTEMPTS = 3


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    loopback = settings.model_copy(
        update={
            "processor_allow_http": True,
            "processor_allow_private_networks": True,
            "processor_timeout_seconds": 2.0,
            "processor_max_attempts": MAX_ATTEMPTS,
        }
    )
    opened = open_runtime(loopback)
    yield opened
    opened.dispose()


@pytest.fixture
def fake() -> Iterator[FakeProcessors]:
    with FakeProcessors() as server:
        yield server


class FinalCalls:
    """Records on_final calls and the task statuses that its transaction reads."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []
        self.statuses_seen: list[list[str]] = []

    def __call__(self, session: Session, request_id: str) -> None:
        self.request_ids.append(request_id)
        tasks = session.exec(
            select(ProcessorTask).where(ProcessorTask.request_id == request_id)
        ).all()
        self.statuses_seen.append([task.status for task in tasks])


def queue_webhook_task(runtime: Runtime, fake: FakeProcessors) -> tuple[str, str]:
    """Register a webhook processor and queue an erasure task; return (request id, task id)."""
    sender_id = make_sender(runtime.engine)
    with Session(runtime.engine, expire_on_commit=False) as session:
        processors.register_processor(
            session,
            runtime.services,
            sender_id,
            "CRM",
            ProcessorKind.WEBHOOK,
            f"{fake.url}/hook",
            fakes.WEBHOOK_SECRET,
            {},
            "test",
        )
        session.commit()
    request_id = make_request(runtime.engine, runtime.services, sender_id, ADDRESS)
    with Session(runtime.engine, expire_on_commit=False) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        tasks = processors.enqueue_tasks(session, request, "erasure")
        session.commit()
    return request_id, tasks[0].id


def load_task(runtime: Runtime, task_id: str) -> ProcessorTask:
    with Session(runtime.engine) as session:
        task = session.get(ProcessorTask, task_id)
        assert task is not None
        session.expunge(task)
        return task


def drain(runtime: Runtime, on_final: FinalCalls, now: datetime) -> int:
    return drain_processor_tasks(runtime.engine, runtime.services, on_final=on_final, now=now)


def test_success_marks_task_and_calls_hook(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    final = FinalCalls()

    claimed = drain(runtime, final, utcnow())

    task = load_task(runtime, task_id)
    assert claimed == 1
    assert task.status == TaskStatus.SUCCEEDED
    assert task.response_status == 200
    assert task.completed_at is not None
    assert task.claimed_until is None
    assert final.request_ids == [request_id]
    # The hook runs inside the transaction that made the task final.
    assert final.statuses_seen == [[TaskStatus.SUCCEEDED]]
    assert fake.state.webhook_event_ids == [task_id]


def test_retry_backs_off_exponentially(runtime: Runtime, fake: FakeProcessors) -> None:
    _, task_id = queue_webhook_task(runtime, fake)
    fake.fail_next(2, 503)
    final = FinalCalls()
    start = utcnow()

    drain(runtime, final, start)
    first = load_task(runtime, task_id)
    assert first.status == TaskStatus.PENDING
    assert first.attempts == 1
    assert first.last_error == "http_503"
    assert start + timedelta(seconds=15) <= first.next_attempt_at <= start + timedelta(seconds=30)

    assert drain(runtime, final, start + timedelta(seconds=10)) == 0

    second_try = first.next_attempt_at
    drain(runtime, final, second_try)
    second = load_task(runtime, task_id)
    assert second.attempts == 2
    assert second_try + timedelta(seconds=30) <= second.next_attempt_at
    assert second.next_attempt_at <= second_try + timedelta(seconds=60)

    drain(runtime, final, second.next_attempt_at)
    assert load_task(runtime, task_id).status == TaskStatus.SUCCEEDED
    assert len(final.request_ids) == 1


def test_event_id_stable_across_retries(runtime: Runtime, fake: FakeProcessors) -> None:
    _, task_id = queue_webhook_task(runtime, fake)
    fake.fail_next(1, 500)
    final = FinalCalls()

    drain(runtime, final, utcnow())
    drain(runtime, final, utcnow() + timedelta(hours=1))

    sent = fake.requests
    assert len(sent) == 2
    assert [request.headers["sendguard-event-id"] for request in sent] == [task_id, task_id]
    assert [request.json()["id"] for request in sent] == [task_id, task_id]
    assert sent[0].json()["created_at"] == sent[1].json()["created_at"]


def test_dead_after_max_attempts(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    fake.fail_next(10, 503)
    final = FinalCalls()
    moment = utcnow()

    for _ in range(MAX_ATTEMPTS + 2):
        drain(runtime, final, moment)
        moment += timedelta(hours=2)

    task = load_task(runtime, task_id)
    assert task.status == TaskStatus.DEAD
    assert task.attempts == MAX_ATTEMPTS
    assert task.last_error == "http_503"
    assert len(fake.requests) == MAX_ATTEMPTS
    assert final.request_ids == [request_id]


def test_permanent_failure_dead_at_once(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    fake.fail_next(1, 400)
    final = FinalCalls()

    drain(runtime, final, utcnow())

    task = load_task(runtime, task_id)
    assert task.status == TaskStatus.DEAD
    assert task.attempts == 1
    assert task.response_status == 400
    assert final.request_ids == [request_id]


def test_destroyed_payload_dead(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    with Session(runtime.engine) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        shred(runtime.services.keystore, request)
        session.add(request)
        session.commit()
    final = FinalCalls()

    drain(runtime, final, utcnow())

    task = load_task(runtime, task_id)
    assert task.status == TaskStatus.DEAD
    assert task.last_error == "payload_destroyed"
    assert fake.requests == []
    assert final.request_ids == [request_id]


def test_claimed_task_not_taken_again(runtime: Runtime, fake: FakeProcessors) -> None:
    _, task_id = queue_webhook_task(runtime, fake)
    now = utcnow()
    # A worker claims the task and dies before calling the processor.
    claimed = processor_worker._claim(runtime.engine, runtime.services, now, limit=20)
    assert [job.task.id for job in claimed] == [task_id]
    final = FinalCalls()

    assert drain(runtime, final, now + timedelta(minutes=5)) == 0
    assert fake.requests == []


def test_expired_lease_released(runtime: Runtime, fake: FakeProcessors) -> None:
    _, task_id = queue_webhook_task(runtime, fake)
    now = utcnow()
    processor_worker._claim(runtime.engine, runtime.services, now, limit=20)
    after_lease = now + claim_lease(runtime.services, 20) + timedelta(seconds=1)
    final = FinalCalls()

    assert drain(runtime, final, after_lease) == 1

    task = load_task(runtime, task_id)
    assert task.status == TaskStatus.SUCCEEDED
    assert task.attempts == 2
    assert len(final.request_ids) == 1


def test_late_result_after_lost_claim_ignored(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    now = utcnow()
    slow_worker = processor_worker._claim(runtime.engine, runtime.services, now, limit=20)
    after_lease = now + claim_lease(runtime.services, 20) + timedelta(seconds=1)
    final = FinalCalls()
    drain(runtime, final, after_lease)

    # The first worker comes back with a result after its lease was taken over.
    result = CallResult(Outcome.PERMANENT, 400, "http_400")
    processor_worker._record(
        runtime.engine, runtime.services, slow_worker[0], result, after_lease, final
    )

    assert load_task(runtime, task_id).status == TaskStatus.SUCCEEDED
    assert final.request_ids == [request_id]


def test_concurrent_drains_split_tasks(runtime: Runtime, fake: FakeProcessors) -> None:
    for _ in range(4):
        queue_webhook_task(runtime, fake)
    fake.state.delay_seconds = 0.1
    final = FinalCalls()
    counts: list[int] = []
    now = utcnow()

    def run() -> None:
        counts.append(drain(runtime, final, now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(counts) == 4
    assert len(fake.requests) == 4
    assert len(final.request_ids) == 4


def test_enqueue_idempotent_and_active_only(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, task_id = queue_webhook_task(runtime, fake)
    with Session(runtime.engine, expire_on_commit=False) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        retired = processors.register_processor(
            session,
            runtime.services,
            request.sender_id,
            "Old ESP",
            ProcessorKind.WEBHOOK,
            f"{fake.url}/hook",
            fakes.WEBHOOK_SECRET,
            {},
            "test",
        )
        processors.deactivate_processor(session, request.sender_id, retired.id, "test")

        again = processors.enqueue_tasks(session, request, "erasure")
        session.commit()

    assert [task.id for task in again] == [task_id]


def test_enqueue_rejects_unknown_action(runtime: Runtime, fake: FakeProcessors) -> None:
    request_id, _ = queue_webhook_task(runtime, fake)
    with Session(runtime.engine) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None

        with pytest.raises(ValueError, match="portability"):
            processors.enqueue_tasks(session, request, "portability")


def test_stop_releases_unstarted_tasks(runtime: Runtime, fake: FakeProcessors) -> None:
    _, task_id = queue_webhook_task(runtime, fake)
    stop = threading.Event()
    stop.set()

    claimed = drain_processor_tasks(
        runtime.engine, runtime.services, on_final=FinalCalls(), stop=stop
    )

    task = load_task(runtime, task_id)
    assert claimed == 1
    assert fake.requests == []
    assert task.status == TaskStatus.PENDING
    assert task.attempts == 0
    assert task.claimed_until is None
    # Released, the task is due again for the next worker at once.
    assert drain(runtime, FinalCalls(), utcnow()) == 1
    assert load_task(runtime, task_id).status == TaskStatus.SUCCEEDED


def test_idle_poll_builds_no_client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # The loop polls every second, and a client loads the CA certificates
    # (about 20 ms of CPU in a profile). So it is built only for a claimed task.
    built: list[object] = []
    monkeypatch.setattr(processor_worker, "OutboundClient", lambda *args: built.append(args))

    claimed = drain_processor_tasks(runtime.engine, runtime.services, on_final=FinalCalls())

    assert claimed == 0
    assert built == []
