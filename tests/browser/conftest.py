"""Fixtures for the browser tests: ``sendguard serve`` with loopback SMTP and DNS, and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    browser_context,
    chromium,
    playwright_driver,
    unchecked_browser_context,
)
from tests.support.database import DatabaseUrls
from tests.support.dns_server import LoopbackDnsServer
from tests.support.service import SenderAccount, ServeProcess
from tests.support.smtp_server import LoopbackSmtpServer

__all__ = [
    "browser_context",
    "chromium",
    "playwright_driver",
    "unchecked_browser_context",
]

ZONE = Path(__file__).resolve().parents[1] / "e2e" / "data" / "news.example.com.zone"


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtpServer]:
    with LoopbackSmtpServer() as server:
        yield server


@pytest.fixture
def service(
    tmp_path: Path, database_urls: DatabaseUrls, smtp: LoopbackSmtpServer
) -> Iterator[ServeProcess]:
    # The pages need no DNS; the loopback server only keeps any stray
    # look-up away from the system resolver.
    with LoopbackDnsServer(ZONE) as dns:
        settings = {
            "SMTP_URL": smtp.url,
            "DNS_NAMESERVERS": dns.nameserver,
            "DEFAULT_LOCALE": "fr",
        }
        with ServeProcess(
            tmp_path / "data",
            database_url=database_urls.database,
            keystore_url=database_urls.keystore,
            settings=settings,
        ) as process:
            yield process


@pytest.fixture
def sender(service: ServeProcess) -> SenderAccount:
    return service.create_sender(
        "Librairie Exemple", postal_address="12 rue des Lilas, 69003 Lyon, France"
    )
