"""Fixtures for the pure pre-send checks: the loopback DNS server and the shared test corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.checks.dns_lookup import ResolverTxtLookup
from tests.support.dns_server import LoopbackDnsServer

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "tests" / "data"
ZONES_DIR = DATA_DIR / "zones"
MESSAGES_DIR = DATA_DIR / "messages"

# Names for which the fixture server sends no reply, or SERVFAIL.
SLOW_NAME = "slow.example.org"
SLOW_DMARC_DOMAIN = "slowdmarc.example.org"
BROKEN_NAME = "broken.example.org"

# Each timeout test waits this long. Loopback replies take milliseconds on
# an idle machine, but a reply took more than 0.3 s in CI under load.
LOOKUP_TIMEOUT_SECONDS = 2.0


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus, beside the repository unless SENDGUARD_CORPUS_DIR names it."""
    configured = os.environ.get("SENDGUARD_CORPUS_DIR")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"
    if not (path / "templates" / "SOURCES.md").is_file():
        pytest.fail(
            f"test corpus not found at {path}: set SENDGUARD_CORPUS_DIR to the corpus folder"
        )
    return path


@pytest.fixture(scope="module")
def dns_server() -> Iterator[LoopbackDnsServer]:
    """A loopback DNS server serving the example.org fixture zones."""
    server = LoopbackDnsServer(ZONES_DIR / "example.org.zone")
    server.load_zone(ZONES_DIR / "2.0.192.in-addr.arpa.zone")
    server.time_out(SLOW_NAME)
    server.time_out(f"_dmarc.{SLOW_DMARC_DOMAIN}")
    server.add_record(SLOW_DMARC_DOMAIN, "TXT", '"v=spf1 -all"')
    server.fail(BROKEN_NAME)
    with server:
        yield server


@pytest.fixture
def lookup(dns_server: LoopbackDnsServer) -> ResolverTxtLookup:
    """A resolver-backed lookup that queries only the loopback server."""
    return ResolverTxtLookup.from_nameservers(
        [dns_server.nameserver], timeout=LOOKUP_TIMEOUT_SECONDS
    )
