"""Parallel sign-ups for one sender through a real ``sendguard serve`` process.

On PostgreSQL, a row that references the sender takes a key-share lock on
it, so the ledger's per-sender lock must not be FOR UPDATE: two sign-ups
would deadlock and one would fail with a 500.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.support.database import DatabaseUrls
from tests.support.service import ServeProcess


def test_parallel_signups_of_one_sender_all_succeed(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    with ServeProcess(
        tmp_path / "data",
        database_url=database_urls.database,
        keystore_url=database_urls.keystore,
        settings={"SUBSCRIBE_RATE_PER_MINUTE": "100000"},
    ) as service:
        sender = service.create_sender("Parallel")

        def sign_up(number: int) -> int:
            response = httpx.post(
                f"{service.base_url}/v1/subscribe",
                json={
                    "form_id": sender.form_id,
                    "email": f"reader{number}@example.org",
                    "consent_text": "Monthly letter.",
                    "consent_text_version": "1",
                    "privacy_policy_url": "https://example.org/privacy",
                    "privacy_policy_version": "1",
                },
                timeout=60,
            )
            return response.status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(sign_up, range(24)))

    assert statuses == [202] * 24
    engine = create_engine(database_urls.database)
    with engine.connect() as connection:
        given = connection.execute(
            text("SELECT count(*) FROM consent_records WHERE action = 'given'")
        ).scalar_one()
    engine.dispose()
    assert given == 24
