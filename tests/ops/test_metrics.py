"""GET /metrics: the text format, request and screening counters, database gauges, the token."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from compliance.app import create_app
from compliance.core.keystore import KeyStore
from compliance.core.mail import TransportError
from compliance.core.models import OutboxMessage, OutboxStatus, utcnow
from compliance.core.outbox import OutboxWorker
from compliance.core.settings import Settings
from dsr.models import DataSubjectRequest, RequestStatus, RequestType
from tests.api.conftest import Tenant, deliver, link_in, signup
from tests.ops.conftest import scrape, value

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_metrics_parse_and_list_families(client: TestClient) -> None:
    samples = scrape(client)

    names = {name for name, _ in samples}
    for expected in (
        "sendguard_database_gauges_up",
        "sendguard_outbox_messages",
        "sendguard_outbox_oldest_pending_age_seconds",
        "sendguard_dsr_open_requests",
        "sendguard_dsr_overdue_requests",
    ):
        assert expected in names, expected
    assert value(samples, "sendguard_database_gauges_up") == 1


def test_request_counter_uses_route_template(client: TestClient) -> None:
    token = "tokenvalue0123456789abcdef"
    before = scrape(client)

    responses = [client.get(f"/p/{token}") for _ in range(2)]
    after = scrape(client)

    # An unknown token gets a 404 page from the matched route.
    assert [response.status_code for response in responses] == [404, 404]
    labels = {"method": "GET", "route": "/p/{token}", "status": "404"}
    requests_delta = value(after, "sendguard_http_requests_total", **labels) - value(
        before, "sendguard_http_requests_total", **labels
    )
    assert requests_delta == 2
    durations_delta = value(
        after, "sendguard_http_request_duration_seconds_count", **labels
    ) - value(before, "sendguard_http_request_duration_seconds_count", **labels)
    assert durations_delta == 2
    assert all(token not in str(key) for key in after)


def test_unknown_path_counted_as_unmatched(client: TestClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = scrape(client)

    client.get("/no/such/page/claire@example.net")
    after = scrape(client)

    delta = value(after, "sendguard_http_requests_total", **labels) - value(
        before, "sendguard_http_requests_total", **labels
    )
    assert delta == 1
    assert all("claire" not in str(key) for key in after)


def test_screening_counts_kept_and_removed(client: TestClient, tenant: Tenant) -> None:
    before = scrape(client)

    response = client.post(
        "/v1/screen",
        json={"recipients": ["ana@example.org", "nonsense", "ana@example.org"]},
        headers=tenant.auth("sender"),
    )
    assert response.status_code == 200, response.text
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sendguard_screened_addresses_total", outcome="kept") == 1
    assert delta("sendguard_screened_addresses_total", outcome="removed") == 2
    assert delta("sendguard_screening_duration_seconds_count") == 1


def test_outbox_gauges_reflect_rows(client: TestClient, tenant: Tenant) -> None:
    engine: Any = client.app.state.engine  # type: ignore[attr-defined]
    now = utcnow()
    with Session(engine) as session:
        for number, (status, age) in enumerate(
            [
                (OutboxStatus.PENDING, timedelta(hours=2)),
                (OutboxStatus.PENDING, timedelta(minutes=5)),
                (OutboxStatus.DEAD, timedelta(days=3)),
                (OutboxStatus.SENT, timedelta(days=9)),
            ]
        ):
            session.add(
                OutboxMessage(
                    sender_id=tenant.sender_id,
                    kind="test",
                    idempotency_key=f"ops-gauge-{number}",
                    payload=b"",
                    status=status,
                    created_at=now - age,
                )
            )
        session.commit()

    samples = scrape(client)

    assert value(samples, "sendguard_outbox_messages", status="pending") == 2
    assert value(samples, "sendguard_outbox_messages", status="dead") == 1
    age = value(samples, "sendguard_outbox_oldest_pending_age_seconds")
    # At least the two hours given above, plus however long the scrape took.
    assert 7200 <= age < 7200 + 600


def test_outbox_gauges_zero_when_empty(client: TestClient) -> None:
    samples = scrape(client)

    assert value(samples, "sendguard_outbox_messages", status="pending") == 0
    assert value(samples, "sendguard_outbox_oldest_pending_age_seconds") == 0


def test_dsr_gauges_reflect_requests(client: TestClient, tenant: Tenant) -> None:
    engine: Any = client.app.state.engine  # type: ignore[attr-defined]
    now = utcnow()
    rows = [
        (RequestStatus.IN_PROGRESS, now - timedelta(days=2)),
        (RequestStatus.EXTENDED, now + timedelta(days=10)),
        (RequestStatus.RECEIVED, now + timedelta(days=30)),
        (RequestStatus.COMPLETED, now - timedelta(days=40)),
        (RequestStatus.REJECTED, now - timedelta(days=50)),
    ]
    with Session(engine) as session:
        for number, (status, due_at) in enumerate(rows):
            session.add(
                DataSubjectRequest(
                    sender_id=tenant.sender_id,
                    type=RequestType.ACCESS,
                    status=status,
                    subject_index=f"{number:064x}",
                    due_at=due_at,
                )
            )
        session.commit()

    samples = scrape(client)

    assert value(samples, "sendguard_dsr_open_requests") == 3
    assert value(samples, "sendguard_dsr_overdue_requests") == 1
    nearest = value(samples, "sendguard_dsr_nearest_deadline_seconds")
    # Two days late, minus however long the scrape took.
    assert -2 * 86400 - 600 < nearest <= -2 * 86400


def test_dsr_nearest_deadline_absent_without_requests(client: TestClient) -> None:
    samples = scrape(client)

    assert value(samples, "sendguard_dsr_open_requests") == 0
    assert not any(name == "sendguard_dsr_nearest_deadline_seconds" for name, _ in samples)


class RejectingTransport:
    """A relay that rejects every message, temporarily or for good."""

    def __init__(self, permanent: bool) -> None:
        self.permanent = permanent

    def send(self, raw: bytes, message_id: str) -> None:
        raise TransportError(
            "451 try later" if not self.permanent else "550 no", permanent=self.permanent
        )

    def forget(self, message_ids: list[str]) -> None:
        pass

    def describe(self) -> str:
        return "rejecting transport"


def test_outbox_failures_counted_by_kind(client: TestClient, tenant: Tenant) -> None:
    app: Any = client.app
    keystore: KeyStore = app.state.services.keystore
    before = scrape(client)

    for number, permanent in enumerate((False, True)):
        client.post("/v1/subscribe", json=signup(tenant.form_id, f"fail{number}@example.org"))
        worker = OutboxWorker(
            app.state.engine,
            keystore,
            RejectingTransport(permanent),
            poll_seconds=0.1,
            max_attempts=3,
        )
        assert worker.process_batch() == 1
    after = scrape(client)

    for kind in ("temporary", "permanent"):
        delta = value(after, "sendguard_outbox_send_failures_total", kind=kind) - value(
            before, "sendguard_outbox_send_failures_total", kind=kind
        )
        assert delta == 1, kind


def test_metrics_token_enforced(settings: Settings) -> None:
    token = "ops-metrics-token-0123456789abcdefghij"
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr(token)}),
        run_worker=False,
        configure_logs=False,
    )
    with TestClient(app, base_url="https://sendguard.test") as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": f"Bearer {token[:-1]}x"})
        basic = client.get("/metrics", headers={"Authorization": f"Basic {token}"})
        french = client.get("/metrics", headers={"Accept-Language": "fr"})
        right = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        lower = client.get("/metrics", headers={"Authorization": f"bearer {token}"})

    for response in (missing, wrong, basic):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"
        assert token not in response.text
    assert "SENDGUARD_METRICS_TOKEN" in missing.json()["detail"]
    assert french.status_code == 401
    assert "Jeton" in french.json()["detail"]
    assert right.status_code == 200
    assert "sendguard_http_requests_total" in right.text
    assert lower.status_code == 200


def test_metrics_contain_no_personal_data(client: TestClient, tenant: Tenant) -> None:
    address = "zoe.personal-marker@example.net"
    client.post("/v1/subscribe", json=signup(tenant.form_id, address))
    confirm_path = link_in(deliver(client)[0], "/c/")
    client.post(confirm_path)
    welcome = deliver(client)[0]
    preferences = link_in(welcome, "/p/")
    unsubscribe = link_in(welcome, "/u/")
    assert client.get(preferences).status_code == 200
    client.post(
        "/v1/screen",
        json={"recipients": [address, "ann.other@example.net"]},
        headers=tenant.auth("sender"),
    )

    body = client.get("/metrics").text

    assert "/p/{token}" in body
    for text in (
        address,
        "zoe.personal-marker",
        "ann.other",
        "example.net",
        "Exemple SAS",
        tenant.sender_id,
        tenant.form_id,
        confirm_path.rsplit("/", 1)[1],
        preferences.rsplit("/", 1)[1],
        unsubscribe.rsplit("/", 1)[1],
    ):
        assert text not in body, text


MULTIPROCESS_WORKER = """
import sys
from compliance.core.metrics import observe_request
observe_request("GET", "/v1/lists", 200, 0.01)
"""

MULTIPROCESS_SCRAPER = """
import sys
from compliance.core.db import make_engine
from compliance.core.gauges import outbox_gauges
from compliance.core.operations import render_metrics
sys.stdout.write(render_metrics(make_engine(sys.argv[1]), [outbox_gauges]).decode())
"""


def test_multiprocess_mode_sums_workers(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}

    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_WORKER], env=environment, check=True, cwd=REPO_ROOT
        )
    scraped = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRAPER, settings.resolved_database_url],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout

    assert (
        'sendguard_http_requests_total{method="GET",route="/v1/lists",status="200"} 2.0' in scraped
    )
    assert "sendguard_outbox_messages" in scraped
    assert list(folder.glob("*.db")), "no multiprocess value files were written"
