"""The maintenance loop counts each failed job in ``sendguard_job_failures`` and keeps running."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from compliance import background
from tests.ops.conftest import scrape, value

JOBS = ("maintenance", "ratelimit_purge", "retention")


def fail(*_args: object) -> None:
    raise RuntimeError("the database went away")


def test_failed_jobs_are_counted(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    before = scrape(client)
    monkeypatch.setattr(background, "run_maintenance", fail)
    monkeypatch.setattr(background, "purge_expired_windows", fail)
    monkeypatch.setattr(background, "apply_retention", fail)
    services = client.app.state.services  # type: ignore[attr-defined]
    engine = client.app.state.engine  # type: ignore[attr-defined]

    async def one_pass() -> None:
        # The loop sleeps for the maintenance interval after its first pass;
        # the time-out ends it there. Raising would have ended it sooner.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(background.run_maintenance_forever(engine, services), 2.0)

    asyncio.run(one_pass())

    after = scrape(client)
    for job in JOBS:
        counted = value(after, "sendguard_job_failures_total", job=job)
        assert counted - value(before, "sendguard_job_failures_total", job=job) == 1, job
