"""Database work never runs on the event loop, so a burst of requests cannot freeze the server.

On SQLite a write transaction may wait up to the busy timeout for the write
lock. An ``async def`` route that does that wait on the event loop stops
every other request of the process, health checks included: ten parallel
one-click unsubscribes once left the whole server unresponsive for minutes.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.browser.conftest import ZONE
from tests.browser.journey import confirmed_subscriber
from tests.support.database import DatabaseUrls
from tests.support.dns_server import LoopbackDnsServer
from tests.support.service import ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

# Async routes that take a database session, with why that is safe.
ASYNC_WITH_SESSION = {
    "/m/{form_id}": "all database work runs in run_in_threadpool; the route awaits only "
    "the thread pool and the enumeration padding's asyncio.sleep",
    "/v1/suppressions/import": "the import runs in run_in_threadpool; the route awaits "
    "only the body",
}
BURST = 10


def async_routes_with_session(app: FastAPI) -> set[str]:
    found = set()
    for route in iter_route_contexts(app.routes):
        endpoint = route.endpoint
        if endpoint is None or not inspect.iscoroutinefunction(endpoint):
            continue
        annotations = [str(p.annotation) for p in inspect.signature(endpoint).parameters.values()]
        if any("DbSession" in annotation or annotation == "Session" for annotation in annotations):
            found.add(str(route.path))
    return found


def test_no_new_async_route_with_session(app: FastAPI) -> None:
    found = async_routes_with_session(app)

    assert found, "the guard found no route at all: the inspection is broken"
    assert found == set(ASYNC_WITH_SESSION), (
        "an async route takes a database session: make it a plain def "
        "(compliance.core.request_body reads the body first)"
    )


@pytest.fixture
def service(
    tmp_path: Path, database_urls: DatabaseUrls
) -> Iterator[tuple[ServeProcess, LoopbackSmtpServer]]:
    with LoopbackSmtpServer() as smtp, LoopbackDnsServer(ZONE) as dns:
        settings = {"SMTP_URL": smtp.url, "DNS_NAMESERVERS": dns.nameserver}
        with ServeProcess(
            tmp_path / "data",
            database_url=database_urls.database,
            keystore_url=database_urls.keystore,
            settings=settings,
        ) as process:
            yield process, smtp


def test_unsubscribe_burst_keeps_server_responsive(
    service: tuple[ServeProcess, LoopbackSmtpServer],
) -> None:
    process, smtp = service
    sender = process.create_sender("Librairie Exemple", postal_address="12 rue des Lilas, Lyon")
    links = confirmed_subscriber(process, sender, smtp, "lectrice@example.org", "fr")

    def one_click(_: int) -> int:
        response = httpx.post(links.unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=BURST + 1) as pool:
        burst = [pool.submit(one_click, index) for index in range(BURST)]
        started = time.monotonic()
        health = httpx.get(f"{process.base_url}/healthz", timeout=60)
        health_seconds = time.monotonic() - started
        statuses = [future.result() for future in burst]

    assert health.status_code == 200
    # One unsubscribe takes tens of milliseconds; a blocked event loop took minutes.
    assert health_seconds < 5, f"/healthz took {health_seconds:.1f} s during the burst"
    assert all(status < 500 for status in statuses), statuses
