"""Fixtures of the fleet tests: one fresh PostgreSQL database pair per test."""

from __future__ import annotations

import pytest

from tests.support.database import DatabaseUrls, PostgresDatabases


@pytest.fixture
def fleet_urls(postgres: PostgresDatabases | None) -> DatabaseUrls:
    assert postgres is not None
    return postgres.new()
