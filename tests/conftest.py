"""Fixtures shared by every test folder: a fresh database and settings per test.

Fixtures used by one folder live in that folder's conftest.py.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.core.settings import Environment, Settings
from tests.support.database import (
    DatabaseUrls,
    PostgresDatabases,
    postgres_admin_url,
    sqlite_databases,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        yield None
        return
    databases = PostgresDatabases(admin_url)
    yield databases
    databases.drop_all()


@pytest.fixture
def database_urls(tmp_path: Path, postgres: PostgresDatabases | None) -> DatabaseUrls:
    if postgres is not None:
        return postgres.new()
    return sqlite_databases(tmp_path)


def random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


@pytest.fixture
def settings(tmp_path: Path, database_urls: DatabaseUrls) -> Settings:
    master = tmp_path / "master.key"
    master.write_text(random_key())
    return Settings(
        env=Environment.TEST,
        data_dir=tmp_path,
        database_url=database_urls.database,
        keystore_url=database_urls.keystore,
        master_key_file=master,
        token_secret=random_key(),  # type: ignore[arg-type]
        blind_index_keys=f"1:{random_key()}",  # type: ignore[arg-type]
        public_url="https://sendguard.test",
        outbox_dir=tmp_path / "outbox",
        subscribe_rate_per_minute=1000,
        outbox_poll_seconds=0.1,
    )
