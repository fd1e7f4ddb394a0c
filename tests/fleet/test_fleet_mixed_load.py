"""A fleet under mixed load loses a server and a worker, and keeps every promise.

Three ``serve`` processes (one with two uvicorn workers) and two
``sendguard worker`` processes share one PostgreSQL database. Client
threads sign up, unsubscribe, delete lists, file erasure requests and
screen recipients at the same time, spread over the servers. Midway one
server and one worker are killed with SIGKILL. Then:

- every accepted sign-up got its confirmation email, with at most one
  repeat (the message the killed worker was sending);
- every processor webhook arrived at least once, each call of one task
  with the same event id;
- no list under the 7-day lock was deleted;
- no screening that started after an unsubscribe was acknowledged kept
  that address, including screenings served from the in-memory index.

A request that was in flight on the killed server has no known outcome,
so it is left out of the checks. Every other request must succeed.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
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
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="needs PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)

SIGNUPS = 30
LEAVERS = 40
STAYERS = 15
ERASURES = 4
LOCKED_LISTS = 3
FREE_LISTS = 3
DELETES_PER_LIST = 2
CLIENT_THREADS = 6
SCREENER_THREADS = 2
WAIT_SECONDS = 90.0


class ServerGone(Exception):
    """The request went to the killed server: its outcome is unknown."""


@dataclass
class Fleet:
    """The servers, which of them is killed, and the clients' view of them."""

    servers: list[ServeProcess]
    doomed: ServeProcess
    killed: threading.Event = field(default_factory=threading.Event)

    def pick(self, number: int) -> ServeProcess:
        """Spread requests over the servers; skip the killed one once it is gone."""
        gone = self.doomed if self.killed.is_set() else None
        alive = [server for server in self.servers if server is not gone]
        return alive[number % len(alive)]

    def request(
        self,
        number: int,
        method: str,
        path: str,
        *,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        server = self.pick(number)
        url = f"{server.base_url}{path}"
        try:
            return httpx.request(method, url, json=body, headers=headers, timeout=30)
        except httpx.TransportError as error:
            if server is self.doomed:
                raise ServerGone from error
            raise


@dataclass
class Outcomes:
    """What the clients saw; each list is appended to by one kind of task."""

    signed_up: list[str] = field(default_factory=list)
    # Address -> time.monotonic() when its unsubscribe was acknowledged.
    unsubscribed_at: dict[str, float] = field(default_factory=dict)
    delete_statuses: dict[str, list[int]] = field(default_factory=dict)
    erasures: list[str] = field(default_factory=list)
    unknown: Counter[str] = field(default_factory=Counter)
    screenings: int = 0
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def leaver(number: int) -> str:
    return f"leaver{number}@example.org"


def stayer(number: int) -> str:
    return f"stayer{number}@example.org"


def create_list(server: ServeProcess, headers: dict[str, str], name: str) -> str:
    response = httpx.post(
        f"{server.base_url}/v1/lists", json={"name": name}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def lock_lists(server: ServeProcess, headers: dict[str, str], list_ids: list[str]) -> None:
    """Send a campaign to the lists, which locks them for 7 days."""
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        campaign = client.post("/v1/campaigns", json={"name": "Lettre", "list_ids": list_ids})
        assert campaign.status_code == 201, campaign.text
        sent = client.post(f"/v1/campaigns/{campaign.json()['id']}/sent")
        assert sent.status_code == 200, sent.text


def add_webhook(server: ServeProcess, account: SenderAccount, receiver_url: str) -> dict[str, str]:
    """Create a DPO key and a webhook processor; return the DPO's headers."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        created = client.post("/v1/keys", json={"role": "dpo"}, headers=account.admin_headers)
        assert created.status_code == 201, created.text
        dpo = {"Authorization": f"Bearer {created.json()['key']}"}
        hook = client.post(
            "/v1/processors",
            json={
                "name": "CRM",
                "kind": "webhook",
                "url": f"{receiver_url}/hook",
                "secret": fakes.WEBHOOK_SECRET,
            },
            headers=dpo,
        )
        assert hook.status_code == 201, hook.text
    return dpo


def wait_for_index(servers: list[ServeProcess], screen: Callable[[int], None]) -> None:
    """Screen until every server has logged a built index, so later screenings use it."""
    deadline = time.monotonic() + WAIT_SECONDS
    number = 0
    while time.monotonic() < deadline:
        if all("suppression.index_built" in server.log_text() for server in servers):
            return
        screen(number)
        number += 1
        time.sleep(0.2)
    raise AssertionError("the servers did not build the digest index in time")


def query(database_url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(statement))]
    finally:
        engine.dispose()


def test_fleet_keeps_promises_under_mixed_load(tmp_path: Path, fleet_urls: DatabaseUrls) -> None:
    with ExitStack() as stack:
        smtp = stack.enter_context(LoopbackSmtpServer())
        receiver = stack.enter_context(FakeProcessors())
        shared = fleet_settings(tmp_path, smtp.url)
        shared.update(
            # Every screening builds or uses the in-memory index, so the
            # cross-process freshness of the index is what is tested.
            SCREEN_INDEX_THRESHOLD="1",
            **webhook_settings(),
        )

        def serve(name: str, *serve_args: str) -> ServeProcess:
            server = ServeProcess(
                tmp_path / name,
                database_url=fleet_urls.database,
                keystore_url=fleet_urls.keystore,
                settings=shared,
                serve_args=list(serve_args),
            )
            stack.callback(server.stop)
            server.launch()
            return server

        # Every process starts at once, as after a deploy. The killed server
        # runs one process: SIGKILL on a --workers N supervisor would leave
        # its uvicorn children serving.
        two_workers = serve("serve-a", "--workers", "2", "--no-background")
        with_loops = serve("serve-b")
        doomed_server = serve("serve-c", "--no-background")
        fleet = Fleet([two_workers, with_loops, doomed_server], doomed_server)

        workers = []
        for name in ("worker-a", "worker-b"):
            env = dict(two_workers.env, SENDGUARD_DATA_DIR=str(tmp_path / name))
            worker = WorkerProcess(env, tmp_path / f"{name}.log")
            stack.callback(worker.close)
            workers.append(worker)
        for server in fleet.servers:
            server.wait_until_ready()
        for worker in workers:
            worker.wait_until_started()
        doomed_worker = workers[0]

        account = two_workers.create_sender("Flotte Exemple")
        sender = account.admin_headers
        dpo = add_webhook(two_workers, account, receiver.url)
        locked = [create_list(two_workers, sender, f"Verrou {n}") for n in range(LOCKED_LISTS)]
        free = [create_list(two_workers, sender, f"Libre {n}") for n in range(FREE_LISTS)]
        lock_lists(two_workers, sender, locked)

        recipients = [leaver(n) for n in range(LEAVERS)] + [stayer(n) for n in range(STAYERS)]
        outcomes = Outcomes()
        done = threading.Event()

        def screen(number: int) -> None:
            started = time.monotonic()
            try:
                response = fleet.request(
                    number, "POST", "/v1/screen", body={"recipients": recipients}, headers=sender
                )
            except ServerGone:
                with outcomes.lock:
                    outcomes.unknown["screen"] += 1
                return
            assert response.status_code == 200, response.text
            kept = set(response.json()["kept"])
            with outcomes.lock:
                outcomes.screenings += 1
                for address, acknowledged in outcomes.unsubscribed_at.items():
                    if acknowledged < started and address in kept:
                        outcomes.violations.append(f"{address} kept by screening {number}")
                missing = [stayer(n) for n in range(STAYERS) if stayer(n) not in kept]
                if missing:
                    outcomes.violations.append(f"screening {number} removed {missing}")

        # The index is built in the background by the first screenings.
        wait_for_index(fleet.servers, screen)

        def sign_up(number: int) -> None:
            address = f"fleet{number}@example.org"
            body = signup_body(account.form_id, address)
            response = fleet.request(number, "POST", "/v1/subscribe", body=body)
            assert response.status_code == 202, response.text
            with outcomes.lock:
                outcomes.signed_up.append(address)

        def unsubscribe(number: int) -> None:
            body = {"email": leaver(number), "reason": "unsubscribe"}
            response = fleet.request(number, "POST", "/v1/suppressions", body=body, headers=sender)
            assert response.status_code in (200, 201), response.text
            acknowledged = time.monotonic()
            with outcomes.lock:
                outcomes.unsubscribed_at[leaver(number)] = acknowledged

        def delete_list(number: int, list_id: str) -> None:
            response = fleet.request(number, "DELETE", f"/v1/lists/{list_id}", headers=sender)
            if list_id in locked:
                assert response.status_code == 409, response.text
                assert response.json()["error"] == "list_locked"
            with outcomes.lock:
                outcomes.delete_statuses.setdefault(list_id, []).append(response.status_code)

        def erase(number: int) -> None:
            body = {
                "type": "erasure",
                "email": f"gone{number}@example.org",
                "attestation": {
                    "verified_by": "DPO office",
                    "method": "id_document",
                    "verified_at": "2026-01-10T09:00:00Z",
                },
            }
            response = fleet.request(number, "POST", "/v1/dsr", body=body, headers=dpo)
            assert response.status_code == 201, response.text
            with outcomes.lock:
                outcomes.erasures.append(str(response.json()["id"]))

        tasks: list[tuple[str, Callable[[], None]]] = []
        tasks += [("sign_up", partial(sign_up, n)) for n in range(SIGNUPS)]
        tasks += [("unsubscribe", partial(unsubscribe, n)) for n in range(LEAVERS)]
        deletions = [list_id for list_id in locked + free for _ in range(DELETES_PER_LIST)]
        tasks += [("delete", partial(delete_list, n, target)) for n, target in enumerate(deletions)]
        tasks += [("erase", partial(erase, n)) for n in range(ERASURES)]
        random.Random(20261205).shuffle(tasks)

        def run(kind: str, task: Callable[[], None]) -> None:
            try:
                task()
            except ServerGone:
                with outcomes.lock:
                    outcomes.unknown[kind] += 1

        def keep_screening(offset: int) -> None:
            number = offset
            while not done.is_set():
                screen(number)
                number += SCREENER_THREADS

        try:
            with ThreadPoolExecutor(max_workers=CLIENT_THREADS + SCREENER_THREADS) as pool:
                screeners = [pool.submit(keep_screening, n) for n in range(SCREENER_THREADS)]
                futures = [pool.submit(run, kind, task) for kind, task in tasks]
                for finished, future in enumerate(as_completed(futures), start=1):
                    future.result()
                    if finished == len(tasks) // 2:
                        fleet.killed.set()
                        doomed_server.kill()
                        doomed_worker.process.send_signal(signal.SIGKILL)
                done.set()
                for screener in screeners:
                    screener.result()
                # One last screening after every acknowledged unsubscribe.
                screen(0)
        except (AssertionError, httpx.TransportError) as error:
            done.set()
            logs = "\n".join(
                f"--- {server.base_url}\n{server.log_text()[-3000:]}" for server in fleet.servers
            )
            raise AssertionError(f"a request failed: {error!r}\n{logs}") from error

        assert doomed_worker.process.wait(timeout=10) == -signal.SIGKILL

        # Every outbox row is sent and every processor task is done.
        def table_statuses(table: str) -> set[object]:
            return {row[0] for row in query(fleet_urls.database, f"SELECT status FROM {table}")}

        wait_until(
            lambda: table_statuses("outbox_messages") == {"sent"},
            "the outbox to drain",
            WAIT_SECONDS,
        )
        wait_until(
            lambda: table_statuses("processor_tasks") == {"succeeded"},
            "the processor tasks to succeed",
            WAIT_SECONDS,
        )
        # A late repeat would come from a lease ending: wait one lease.
        time.sleep(LEASE_SECONDS + 1)
        messages = list(smtp.messages)
        calls = receiver.requests
        tasks_rows = query(fleet_urls.database, "SELECT id FROM processor_tasks")
        # A deleted list keeps its row, with deleted_at set.
        list_rows = query(
            fleet_urls.database, "SELECT id FROM mailing_lists WHERE deleted_at IS NULL"
        )

    # No screening kept an address unsubscribed before it started, and the
    # checks ran on both sides of the kill.
    assert outcomes.violations == []
    assert outcomes.screenings >= 10
    assert len(outcomes.unsubscribed_at) >= LEAVERS - outcomes.unknown["unsubscribe"]

    # Confirmations: one per accepted sign-up, at most one repeat overall.
    confirmations = [message for message in messages if str(message["To"]).startswith("fleet")]
    copies = Counter(str(message["Message-ID"]) for message in confirmations)
    assert set(outcomes.signed_up) <= {str(message["To"]) for message in confirmations}
    assert len(outcomes.signed_up) >= SIGNUPS - outcomes.unknown["sign_up"]
    assert sum(count - 1 for count in copies.values()) <= 1, copies

    # Webhooks: every task called at least once, always under its own id.
    task_ids = {str(row[0]) for row in tasks_rows}
    assert len(task_ids) >= len(outcomes.erasures)
    called = Counter(call.headers["sendguard-event-id"] for call in calls)
    assert set(called) == task_ids
    assert all(call.json()["id"] == call.headers["sendguard-event-id"] for call in calls)
    assert receiver.state.bad_signatures == 0

    # Locked lists all remain; each free list was deleted by one request.
    remaining = {str(row[0]) for row in list_rows}
    assert set(locked) <= remaining
    for list_id in free:
        statuses = outcomes.delete_statuses.get(list_id, [])
        assert statuses.count(200) <= 1, statuses
        assert set(statuses) <= {200, 404}, statuses
        if 200 in statuses:
            assert list_id not in remaining
