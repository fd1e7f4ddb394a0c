"""Several ``serve`` and ``worker`` processes on one PostgreSQL database, over real SMTP.

Two ``serve`` processes (one with two uvicorn workers and no background
loops, one with its loops inside) and two ``sendguard worker`` processes
share one database. Client threads sign up concurrently while one worker
is killed with SIGKILL, and the loopback SMTP server must then hold every
confirmation email.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.dsr import fake_processors as fakes
from tests.dsr.fake_processors import FakeProcessors
from tests.fleet.processes import (
    LEASE_SECONDS,
    WorkerProcess,
    fleet_settings,
    signup_body,
    wait_until,
    webhook_settings,
)
from tests.support.database import DatabaseUrls, postgres_admin_url
from tests.support.service import ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="needs PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)

SIGNUPS = 80
CLIENT_THREADS = 4
DELIVERY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


def sign_up(base_url: str, form_id: str, number: int) -> int:
    body = signup_body(form_id, f"fleet{number}@example.org")
    response = httpx.post(f"{base_url}/v1/subscribe", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return number


def wait_for_distinct(smtp: LoopbackSmtpServer, count: int) -> Counter[str]:
    """Wait until ``count`` distinct Message-IDs arrived; return the copies of each."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    copies: Counter[str] = Counter()
    while time.monotonic() < deadline:
        copies = Counter(str(message["Message-ID"]) for message in smtp.messages)
        if len(copies) >= count:
            # A late duplicate would come from a lease ending: wait one lease.
            time.sleep(LEASE_SECONDS + 1)
            return Counter(str(message["Message-ID"]) for message in smtp.messages)
        time.sleep(0.2)
    raise AssertionError(f"{len(copies)} of {count} confirmations arrived in time")


def outbox_states(database_url: str) -> list[tuple[str, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, attempts FROM outbox_messages"))
            return [(str(row[0]), int(row[1])) for row in rows]
    finally:
        engine.dispose()


def test_fleet_sends_each_confirmation(tmp_path: Path, fleet_urls: DatabaseUrls) -> None:
    with ExitStack() as stack:
        smtp = stack.enter_context(LoopbackSmtpServer())
        shared = fleet_settings(tmp_path, smtp.url)

        http_only = ServeProcess(
            tmp_path / "serve-http-only",
            database_url=fleet_urls.database,
            keystore_url=fleet_urls.keystore,
            settings=shared,
            serve_args=["--workers", "2", "--no-background"],
        )
        stack.enter_context(http_only)
        with_loops = ServeProcess(
            tmp_path / "serve-with-loops",
            database_url=fleet_urls.database,
            keystore_url=fleet_urls.keystore,
            settings=shared,
        )
        stack.enter_context(with_loops)

        workers = []
        for name in ("worker-a", "worker-b"):
            env = dict(http_only.env, SENDGUARD_DATA_DIR=str(tmp_path / name))
            worker = WorkerProcess(env, tmp_path / f"{name}.log")
            stack.callback(worker.close)
            workers.append(worker)
        for worker in workers:
            worker.wait_until_started()
        doomed, survivor = workers

        account = http_only.create_sender("Flotte Exemple")
        base_urls = [http_only.base_url, with_loops.base_url]

        # Sign-ups from several threads, alternating between the two services;
        # one worker is killed once half of them are accepted.
        try:
            with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
                futures = [
                    pool.submit(sign_up, base_urls[number % 2], account.form_id, number)
                    for number in range(SIGNUPS)
                ]
                for done, future in enumerate(as_completed(futures), start=1):
                    future.result()
                    if done == SIGNUPS // 2:
                        doomed.process.send_signal(signal.SIGKILL)
        except (AssertionError, httpx.TransportError) as error:
            # Show what the services logged, to tell a crash from a refused request.
            logs = "\n".join(
                f"--- {service.base_url}\n{service.log_text()[-4000:]}"
                for service in (http_only, with_loops)
            )
            raise AssertionError(f"a sign-up failed: {error!r}\n{logs}") from error

        assert doomed.process.wait(timeout=10) == -signal.SIGKILL

        copies = wait_for_distinct(smtp, SIGNUPS)
        recipients = Counter(str(message["To"]) for message in smtp.messages)

        # The survivor stops cleanly on SIGTERM.
        survivor.process.terminate()
        assert survivor.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
        assert "background.stopped" in survivor.log_text()

    assert len(copies) == SIGNUPS
    assert set(recipients) == {f"fleet{number}@example.org" for number in range(SIGNUPS)}
    # Each outcome is recorded right after its send, so a worker killed with
    # SIGKILL can repeat only the one message whose reply it was waiting for.
    # Delivery is at least once, and both copies carry the same Message-ID.
    duplicated = {message_id: count for message_id, count in copies.items() if count > 1}
    assert sum(count - 1 for count in duplicated.values()) <= 1, duplicated
    states = outbox_states(fleet_urls.database)
    assert len(states) == SIGNUPS
    assert all(status == "sent" for status, _ in states)
    assert max(attempts for _, attempts in states) <= 2


def task_state(database_url: str) -> tuple[str, str, int]:
    """Return the id, status and attempts of the only processor task."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT id, status, attempts FROM processor_tasks")).one()
            return str(row[0]), str(row[1]), int(row[2])
    finally:
        engine.dispose()


def make_task_due(database_url: str) -> None:
    """Skip the 15 to 30 s backoff of the first retry, so the test stays short."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE processor_tasks SET next_attempt_at = now()"))
    finally:
        engine.dispose()


def test_webhook_retry_keeps_event_id(tmp_path: Path, fleet_urls: DatabaseUrls) -> None:
    with ExitStack() as stack:
        smtp = stack.enter_context(LoopbackSmtpServer())
        receiver = stack.enter_context(FakeProcessors())
        shared = fleet_settings(tmp_path, smtp.url)
        # The webhook receiver listens on loopback over plain HTTP.
        shared.update(webhook_settings())
        service = ServeProcess(
            tmp_path / "serve-http-only",
            database_url=fleet_urls.database,
            keystore_url=fleet_urls.keystore,
            settings=shared,
            serve_args=["--no-background"],
        )
        stack.enter_context(service)
        for name in ("worker-a", "worker-b"):
            env = dict(service.env, SENDGUARD_DATA_DIR=str(tmp_path / name))
            worker = WorkerProcess(env, tmp_path / f"{name}.log")
            stack.callback(worker.close)
            worker.wait_until_started()

        account = service.create_sender("Flotte Exemple")
        with httpx.Client(base_url=service.base_url, timeout=30) as client:
            created_key = client.post(
                "/v1/keys", json={"role": "dpo"}, headers=account.admin_headers
            )
            assert created_key.status_code == 201, created_key.text
            dpo = {"Authorization": f"Bearer {created_key.json()['key']}"}
            hook = client.post(
                "/v1/processors",
                json={
                    "name": "CRM",
                    "kind": "webhook",
                    "url": f"{receiver.url}/hook",
                    "secret": fakes.WEBHOOK_SECRET,
                },
                headers=dpo,
            )
            assert hook.status_code == 201, hook.text

            # The first call gets a 500, so the task is retried.
            receiver.fail_next(1, 500)
            erasure = client.post(
                "/v1/dsr",
                json={
                    "type": "erasure",
                    "email": "dana@example.org",
                    "attestation": {
                        "verified_by": "DPO office",
                        "method": "id_document",
                        "verified_at": "2026-01-10T09:00:00Z",
                    },
                },
                headers=dpo,
            )
            assert erasure.status_code == 201, erasure.text
            request_id = erasure.json()["id"]

            wait_until(
                lambda: task_state(fleet_urls.database)[1:] == ("pending", 1),
                "the first attempt",
                DELIVERY_TIMEOUT_SECONDS,
            )
            make_task_due(fleet_urls.database)
            wait_until(
                lambda: task_state(fleet_urls.database)[1] == "succeeded",
                "the retried attempt",
                DELIVERY_TIMEOUT_SECONDS,
            )
            final = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()

    task_id = task_state(fleet_urls.database)[0]
    calls = receiver.requests
    assert len(calls) == 2
    assert [call.headers["sendguard-event-id"] for call in calls] == [task_id, task_id]
    assert [call.json()["id"] for call in calls] == [task_id, task_id]
    assert receiver.state.bad_signatures == 0
    assert final["status"] == "completed"
