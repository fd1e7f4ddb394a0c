"""Rate limits through the real app, on the store that the settings choose."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from compliance.app import create_app
from compliance.core.ratelimit import MemoryRateLimiter
from compliance.core.ratelimit_db import DatabaseRateLimiter, rate_limit_windows
from compliance.core.settings import Settings
from compliance.reputation import dashboard
from dsr import intake_router as dsr_intake_router
from tests.api.conftest import make_tenant, signup
from tests.reputation.test_dashboard_pages import login
from tests.support.database import postgres_admin_url

LIMIT = 3


def limited_client(settings: Settings) -> TestClient:
    limited = settings.model_copy(update={"subscribe_rate_per_minute": LIMIT})
    return TestClient(create_app(limited, run_worker=False, configure_logs=False))


def window_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(rate_limit_windows))
        return int(count.one()[0])


def test_signups_over_limit_get_429(settings: Settings) -> None:
    with limited_client(settings) as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        statuses = [
            client.post("/v1/subscribe", json=signup(tenant.form_id, f"n{number}@example.org"))
            for number in range(LIMIT + 1)
        ]
        stored = window_rows(client.app.state.engine)  # type: ignore[attr-defined]

    assert [response.status_code for response in statuses] == [202] * LIMIT + [429]
    blocked = statuses[-1]
    assert blocked.json()["error"] == "rate_limited"
    assert blocked.headers["retry-after"] == "60"
    if postgres_admin_url() is not None:
        # On PostgreSQL "auto" resolves to the database store.
        assert stored == 1
    else:
        assert stored == 0


def test_limiters_use_configured_store(settings: Settings) -> None:
    expected = DatabaseRateLimiter if postgres_admin_url() is not None else MemoryRateLimiter

    with limited_client(settings) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        limiters = [
            services.subscribe_limiter,
            services.login_limiter,
            services.dsr_subject_limiter,
        ]

    assert [type(limiter) for limiter in limiters] == [expected] * 3


def test_store_failure_returns_503(settings: Settings) -> None:
    if postgres_admin_url() is None:
        pytest.skip("the app uses the database store on PostgreSQL only")
    with limited_client(settings) as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
            connection.execute(text("DROP TABLE rate_limit_windows"))
        response = client.post(
            "/v1/subscribe",
            json=signup(tenant.form_id, "fails@example.org"),
            headers={"Accept-Language": "fr"},
        )

    assert response.status_code == 503
    assert response.json()["error"] == "rate_limit_unavailable"
    assert response.headers["retry-after"] == "30"
    assert "fails@example.org" not in response.text
    assert "rate_limit_windows" not in response.text


needs_postgresql = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="apps share limits through the database store on PostgreSQL only",
)


def two_apps(settings: Settings) -> tuple[TestClient, TestClient]:
    # Two app instances have two runtimes and two limiter engines, like two processes.
    return tuple(  # type: ignore[return-value]
        TestClient(
            create_app(settings, run_worker=False, configure_logs=False),
            base_url="https://sendguard.test",
            raise_server_exceptions=False,
        )
        for _ in range(2)
    )


@needs_postgresql
def test_two_apps_share_dsr_subject_limit(settings: Settings) -> None:
    first, second = two_apps(settings)
    with first, second:
        tenant = make_tenant(first.app)  # type: ignore[arg-type]
        body = {"form_id": tenant.form_id, "type": "access", "email": "dsr@example.org"}
        statuses = [
            (first if number % 2 else second).post("/v1/dsr/intake", json=body).status_code
            for number in range(dsr_intake_router.CODES_PER_SUBJECT + 1)
        ]

    assert statuses == [202] * dsr_intake_router.CODES_PER_SUBJECT + [429]


@needs_postgresql
def test_two_apps_share_login_limit(settings: Settings) -> None:
    first, second = two_apps(settings)
    with first, second:
        statuses = [
            login((first if number % 2 else second), "sg_wrong").status_code
            for number in range(dashboard.LOGIN_ATTEMPTS + 1)
        ]

    assert statuses == [401] * dashboard.LOGIN_ATTEMPTS + [429]
