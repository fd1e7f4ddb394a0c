"""Rate limits through real ``sendguard serve`` processes: forwarded headers and a shared store.

The client address comes from uvicorn, which trusts ``X-Forwarded-For``
only from the proxies in ``SENDGUARD_TRUSTED_PROXIES``. The test client
connects from 127.0.0.1, so it plays the reverse proxy.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from compliance.core.settings import Settings
from tests.api.conftest import signup
from tests.support.database import DatabaseUrls, postgres_admin_url
from tests.support.service import ServeProcess


def sign_up(serve: ServeProcess, form_id: str, number: int, forwarded_for: str) -> int:
    response = httpx.post(
        f"{serve.base_url}/v1/subscribe",
        json=signup(form_id, f"client{number}@example.org"),
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )
    assert response.status_code in (202, 429), response.text
    return response.status_code


def serve_process(
    folder: Path, urls: DatabaseUrls, settings: dict[str, str], *, name: str = "serve"
) -> ServeProcess:
    return ServeProcess(
        folder / name, database_url=urls.database, keystore_url=urls.keystore, settings=settings
    )


def test_untrusted_forwarded_for_ignored(tmp_path: Path, database_urls: DatabaseUrls) -> None:
    settings = {"SUBSCRIBE_RATE_PER_MINUTE": "3"}
    with serve_process(tmp_path, database_urls, settings) as serve:
        form_id = serve.create_sender("Exemple SAS").form_id
        # A new forwarded address on every request must not buy a new budget.
        statuses = [
            sign_up(serve, form_id, number, f"198.51.100.{number + 1}") for number in range(4)
        ]

    assert statuses == [202, 202, 202, 429]


def test_trusted_proxy_separates_clients(tmp_path: Path, database_urls: DatabaseUrls) -> None:
    settings = {"SUBSCRIBE_RATE_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1"}
    with serve_process(tmp_path, database_urls, settings) as serve:
        form_id = serve.create_sender("Exemple SAS").form_id
        first_client = [sign_up(serve, form_id, number, "198.51.100.1") for number in range(3)]
        second_client = sign_up(serve, form_id, 10, "198.51.100.2")
        # The proxy appends the address it saw, so an entry the client wrote
        # itself comes first and is not the one that counts.
        spoofed = sign_up(serve, form_id, 11, "203.0.113.50, 198.51.100.1")

    assert first_client == [202, 202, 429]
    assert second_client == 202
    assert spoofed == 429


# The fleet test below runs with this store; set it to "memory" to see it fail.
FLEET_STORE = "auto"
FLEET_LIMIT = 5


@pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="several serve processes need PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)
def test_two_serve_processes_share_limit(
    tmp_path: Path, database_urls: DatabaseUrls, settings: Settings
) -> None:
    assert settings.master_key_file is not None
    assert settings.token_secret is not None
    assert settings.blind_index_keys is not None
    # Every process of a fleet shares the keys, so the key hashes match.
    shared = {
        "SUBSCRIBE_RATE_PER_MINUTE": str(FLEET_LIMIT),
        "RATE_LIMIT_STORE": FLEET_STORE,
        "MASTER_KEY_FILE": str(settings.master_key_file),
        "TOKEN_SECRET": settings.token_secret.get_secret_value(),
        "BLIND_INDEX_KEYS": settings.blind_index_keys.get_secret_value(),
    }
    first = serve_process(tmp_path, database_urls, shared, name="serve-a")
    second = serve_process(tmp_path, database_urls, shared, name="serve-b")
    with ExitStack() as stack:
        stack.callback(first.stop)
        stack.callback(second.stop)
        # Started side by side to keep the test short.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(ServeProcess.start, [first, second]))
        form_id = first.create_sender("Exemple SAS").form_id
        # No proxy is trusted, so the forwarded addresses must not split the budget.
        statuses = [
            sign_up(first if number % 2 else second, form_id, number, f"198.51.100.{number}")
            for number in range(2 * FLEET_LIMIT)
        ]

    assert statuses.count(202) == FLEET_LIMIT
    assert statuses[:FLEET_LIMIT] == [202] * FLEET_LIMIT
