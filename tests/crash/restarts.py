"""Helpers of the crash tests: a ``sendguard serve`` to kill and restart, and SQL reads.

A restarted service keeps its data folder, port, database and keys, as a
process manager restarting it after a crash would.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.support.database import DatabaseUrls
from tests.support.service import ServeProcess


def random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def crash_service(
    tmp_path: Path, urls: DatabaseUrls, settings: Mapping[str, str] | None = None
) -> ServeProcess:
    """Start a service whose keys live outside its data folder, so that a restart reuses them."""
    master = tmp_path / "master.key"
    master.write_text(random_key())
    service = ServeProcess(
        tmp_path / "data",
        database_url=urls.database,
        keystore_url=urls.keystore,
        settings={
            "MASTER_KEY_FILE": str(master),
            "TOKEN_SECRET": random_key(),
            "BLIND_INDEX_KEYS": f"1:{random_key()}",
            **(settings or {}),
        },
    )
    service.start()
    return service


def restart(service: ServeProcess) -> None:
    """Start the killed service again on the same port, data folder and database.

    The log of the killed run is kept next to the new one, for a failing test's message.
    """
    if service.log_path.exists():
        before = service.log_path.with_name(f"{service.log_path.stem}-killed.log")
        service.log_path.replace(before)
    service.start()


def query(database_url: str, statement: str, **parameters: Any) -> list[tuple[Any, ...]]:
    """Run one read on a connection of its own, as an outside observer of the service's commits."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(statement), parameters)]
    finally:
        engine.dispose()


def scalar(database_url: str, statement: str, **parameters: Any) -> Any:
    return query(database_url, statement, **parameters)[0][0]


def wait_until(condition: Callable[[], bool], description: str, timeout: float) -> None:
    """Poll ``condition`` every 50 ms until it is true, and fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {description}")
