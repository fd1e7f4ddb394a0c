"""The asynchronous resolver and the zone-file source: statuses, cache, budget, transports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from compliance.checks.resolver import BudgetedSource, DnsResolver, DnsStatus
from compliance.checks.zone_source import ZoneSource
from tests.checks.conftest import ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    dns_server = LoopbackDnsServer(ZONES_DIR / "example.org.zone", max_udp_size=512)
    dns_server.add_record("loop.example.org", "CNAME", "loop.example.org.")
    dns_server.add_record("short.example.org", "TXT", '"short-lived"', ttl=5)
    big = " ".join(f'"{"x" * 200}-{number}"' for number in range(4))
    dns_server.add_record("big.example.org", "TXT", big)
    dns_server.time_out("slow.example.org")
    dns_server.fail("broken.example.org")
    with dns_server:
        yield dns_server


def _resolver(server: LoopbackDnsServer, clock: FakeClock | None = None) -> DnsResolver:
    resolver = DnsResolver.from_nameservers([server.nameserver], timeout=0.3)
    if clock is not None:
        resolver._clock = clock
    return resolver


@pytest.mark.parametrize(
    ("name", "rdtype", "status"),
    [
        ("example.org", "TXT", DnsStatus.FOUND),
        ("nothing.example.org", "TXT", DnsStatus.NXDOMAIN),
        ("mail.example.org", "TXT", DnsStatus.NODATA),
        ("slow.example.org", "TXT", DnsStatus.TIMEOUT),
        ("broken.example.org", "TXT", DnsStatus.SERVFAIL),
        ("loop.example.org", "A", DnsStatus.CNAME_LOOP),
        ("a..example.org", "A", DnsStatus.INVALID_NAME),
        ("x" * 64 + ".example.org", "A", DnsStatus.INVALID_NAME),
    ],
)
def test_query_statuses(
    server: LoopbackDnsServer, name: str, rdtype: str, status: DnsStatus
) -> None:
    answer = asyncio.run(_resolver(server).query(name, rdtype))

    assert answer.status is status


def test_cname_chain_followed(server: LoopbackDnsServer) -> None:
    answer = asyncio.run(_resolver(server).query("alias.example.org", "TXT"))

    assert answer.cname_chain == ("alias.example.org",)
    assert answer.canonical_name == "news.example.org"
    assert answer.texts == ("v=spf1 include:_spf.example.net ~all",)


def test_large_answer_falls_back_to_tcp(server: LoopbackDnsServer) -> None:
    before = len(server.queries)
    answer = asyncio.run(_resolver(server).query("big.example.org", "TXT"))
    transports = [query.transport for query in server.queries[before:]]

    assert answer.status is DnsStatus.FOUND
    assert len(answer.txt_strings[0]) == 4
    assert transports == ["udp", "tcp"]


def test_cache_serves_until_ttl(server: LoopbackDnsServer) -> None:
    clock = FakeClock()
    resolver = _resolver(server, clock)

    async def run() -> None:
        await resolver.query("short.example.org", "TXT")
        clock.now += 4
        await resolver.query("short.example.org", "TXT")
        clock.now += 2
        await resolver.query("short.example.org", "TXT")

    asyncio.run(run())
    assert resolver.queries_sent == 2
    assert resolver.cache_hits == 1


def test_negative_answer_cached_with_soa_ttl(server: LoopbackDnsServer) -> None:
    clock = FakeClock()
    resolver = _resolver(server, clock)

    async def run() -> None:
        await resolver.query("nothing.example.org", "TXT")
        clock.now += 299
        await resolver.query("nothing.example.org", "TXT")
        clock.now += 2
        await resolver.query("nothing.example.org", "TXT")

    asyncio.run(run())
    # The fixture's SOA has minimum 300 and TTL 300 (RFC 2308 section 5).
    assert resolver.queries_sent == 2


def test_errors_not_cached(server: LoopbackDnsServer) -> None:
    resolver = _resolver(server)

    async def run() -> None:
        await resolver.query("broken.example.org", "TXT")
        await resolver.query("broken.example.org", "TXT")

    asyncio.run(run())
    assert resolver.queries_sent == 2


def test_concurrent_queries_share_one_request(server: LoopbackDnsServer) -> None:
    resolver = _resolver(server)
    before = len([q for q in server.queries if q.name.startswith("_dmarc.example.org")])

    async def run() -> None:
        await asyncio.gather(*(resolver.query("_dmarc.example.org", "TXT") for _ in range(20)))

    asyncio.run(run())
    after = len([q for q in server.queries if q.name.startswith("_dmarc.example.org")])
    assert after - before == 1
    assert resolver.queries_sent == 1


def test_budget_turns_slow_queries_into_timeouts(server: LoopbackDnsServer) -> None:
    budgeted = BudgetedSource(_resolver(server), 0.1)

    async def run() -> tuple[DnsStatus, DnsStatus]:
        first = await budgeted.query("slow.example.org", "TXT")
        second = await budgeted.query("example.org", "TXT")
        return first.status, second.status

    assert asyncio.run(run()) == (DnsStatus.TIMEOUT, DnsStatus.TIMEOUT)
    assert budgeted.exhausted


def test_budget_rejects_zero() -> None:
    with pytest.raises(ValueError, match="above 0"):
        BudgetedSource(ZoneSource.from_text("@ TXT x", origin="example.org"), 0)


def test_zone_source_answers_inside_zone() -> None:
    source = ZoneSource.from_file(ZONES_DIR / "example.org.zone")

    async def run() -> list[DnsStatus]:
        answers = await asyncio.gather(
            source.query("example.org", "MX"),
            source.query("_domainkey.example.org", "TXT"),
            source.query("nothing.example.org", "TXT"),
            source.query("example.net", "TXT"),
        )
        return [answer.status for answer in answers]

    assert asyncio.run(run()) == [
        DnsStatus.FOUND,
        DnsStatus.NODATA,
        DnsStatus.NXDOMAIN,
        DnsStatus.OUTSIDE_ZONE,
    ]


def test_zone_source_falls_back_outside_zone(server: LoopbackDnsServer) -> None:
    zone = '@ TXT "v=spf1 include:example.org -all"\nalias CNAME news.example.org.\n'
    source = ZoneSource.from_text(zone, origin="example.com", fallback=_resolver(server))

    async def run() -> tuple[str, ...]:
        answer = await source.query("alias.example.com", "TXT")
        return answer.texts

    assert asyncio.run(run()) == ("v=spf1 include:_spf.example.net ~all",)


def test_from_nameservers_rejects_empty_list() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DnsResolver.from_nameservers([])
