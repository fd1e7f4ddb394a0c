"""The settings that choose the rate-limit store and the trusted proxies."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from compliance.core.client_address import uvicorn_proxy_options
from compliance.core.settings import RateLimitStore, Settings

POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/sendguard"


def make_settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_auto_store_follows_database(tmp_path: Path) -> None:
    sqlite = make_settings(tmp_path)
    postgresql = make_settings(tmp_path, database_url=POSTGRESQL_URL)

    assert sqlite.resolved_rate_limit_store is RateLimitStore.MEMORY
    assert postgresql.resolved_rate_limit_store is RateLimitStore.DATABASE


def test_explicit_store_is_kept(tmp_path: Path) -> None:
    memory = make_settings(tmp_path, database_url=POSTGRESQL_URL, rate_limit_store="memory")

    assert memory.resolved_rate_limit_store is RateLimitStore.MEMORY


def test_database_store_rejected_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        make_settings(tmp_path, rate_limit_store="database")

    assert "SENDGUARD_RATE_LIMIT_STORE=database" in str(raised.value)
    assert "postgresql://" in str(raised.value)


def test_trusted_proxies_normalised(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies=" 127.0.0.1, 10.0.0.0/8 ,::1,")

    assert settings.trusted_proxy_list == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("value", ["proxy.internal", "*", "10.0.0.1/8", "300.1.2.3", "::1/129"])
def test_invalid_trusted_proxy_rejected(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make_settings(tmp_path, trusted_proxies=f"127.0.0.1,{value}")

    message = str(raised.value)
    assert "SENDGUARD_TRUSTED_PROXIES" in message
    assert repr(value) in message
    assert "CIDR" in message


def test_no_proxy_turns_forwarded_headers_off() -> None:
    options = uvicorn_proxy_options([])

    assert options.proxy_headers is False
    assert options.forwarded_allow_ips == []


def test_listed_proxies_reach_uvicorn(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies="192.0.2.10")

    options = uvicorn_proxy_options(settings.trusted_proxy_list)

    assert options.proxy_headers is True
    assert options.forwarded_allow_ips == ["192.0.2.10/32"]
