"""Asynchronous DNS queries for the domain checks, with a TTL-aware cache and a time budget.

A query never raises for a DNS failure. It returns a :class:`DnsAnswer` whose
status says what happened, so that each check can map a timeout or a server
failure to an *unknown* verdict (SPF's temperror) instead of a pass or fail.

Sources of answers share the :class:`DnsSource` protocol:

- :class:`DnsResolver` queries nameservers over UDP, then TCP when the reply
  is truncated, through ``dns.asyncresolver``;
- :class:`compliance.checks.zone_source.ZoneSource` answers from a zone file;
- :class:`BudgetedSource` bounds the total time that one check may spend.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.resolver
import dns.rrset

from compliance.checks.dns_lookup import join_txt_strings, parse_nameserver

logger = logging.getLogger(__name__)

DEFAULT_QUERY_TIMEOUT_SECONDS = 2.0
DEFAULT_MAX_CONCURRENT_QUERIES = 64
DEFAULT_CACHE_ENTRIES = 20_000

# RFC 2308 section 5: a negative answer is cached for the SOA minimum. When
# the reply carries no SOA, this many seconds is used instead.
DEFAULT_NEGATIVE_TTL = 60
# RFC 6891 EDNS buffer size advertised to servers: 1232 bytes avoids IP
# fragmentation on IPv6 paths and is the size of the 2020 DNS flag day.
EDNS_PAYLOAD_SIZE = 1232
# Upper bound on any cached lifetime, so that a long-running service still
# picks up changes within the hour whatever TTL a zone publishes.
MAX_CACHE_TTL = 3600


class DnsStatus(enum.StrEnum):
    """Outcome of one query."""

    FOUND = "found"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    CNAME_LOOP = "cname_loop"
    INVALID_NAME = "invalid_name"
    OUTSIDE_ZONE = "outside_zone"
    ERROR = "error"


@dataclass(frozen=True)
class DnsAnswer:
    """The records of one name and type, or why there are none.

    ``canonical_name`` is the name that owns the records once CNAMEs are
    followed, and ``cname_chain`` lists the aliases followed, in order.
    Names are lowercase, without the final dot.
    """

    name: str
    rdtype: str
    status: DnsStatus
    records: tuple[dns.rdata.Rdata, ...] = ()
    canonical_name: str = ""
    cname_chain: tuple[str, ...] = ()
    ttl: int = 0

    @property
    def is_void(self) -> bool:
        """True for a name that does not exist or has no record of the type (RFC 7208 4.6.4)."""
        return self.status in (DnsStatus.NXDOMAIN, DnsStatus.NODATA)

    @property
    def is_error(self) -> bool:
        """True when the query could not complete, so the records are unknown."""
        return self.status not in (DnsStatus.FOUND, DnsStatus.NXDOMAIN, DnsStatus.NODATA)

    @property
    def txt_strings(self) -> tuple[tuple[bytes, ...], ...]:
        """The character-strings of each TXT record, as sent."""
        return tuple(tuple(rdata.strings) for rdata in self.records if hasattr(rdata, "strings"))

    @property
    def texts(self) -> tuple[str, ...]:
        """Each TXT record with its strings joined with no separator (RFC 7208 section 3.3)."""
        return tuple(join_txt_strings(strings) for strings in self.txt_strings)

    @property
    def addresses(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        """The addresses of A and AAAA records."""
        return tuple(
            ipaddress.ip_address(rdata.address)  # type: ignore[attr-defined]
            for rdata in self.records
            if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        )

    @property
    def targets(self) -> tuple[str, ...]:
        """The target names of PTR, CNAME and NS records, lowercase and without the final dot."""
        return tuple(
            _text_name(rdata.target)  # type: ignore[attr-defined]
            for rdata in self.records
            if rdata.rdtype in (dns.rdatatype.PTR, dns.rdatatype.CNAME, dns.rdatatype.NS)
        )

    @property
    def exchanges(self) -> tuple[tuple[int, str], ...]:
        """The (preference, exchange) pairs of MX records, lowest preference first."""
        pairs = [
            (int(rdata.preference), _text_name(rdata.exchange))  # type: ignore[attr-defined]
            for rdata in self.records
            if rdata.rdtype == dns.rdatatype.MX
        ]
        return tuple(sorted(pairs, key=lambda pair: pair[0]))


class DnsSource(Protocol):
    """Anything that answers DNS queries for the checks."""

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Return the records of ``name`` of type ``rdtype``; never raise for a DNS failure."""
        ...


def normalize_query_name(name: str) -> str | None:
    """Return ``name`` lowercase without its final dot, or None when it is not a valid DNS name.

    RFC 1035 section 2.3.4: labels are 1 to 63 octets and the whole name at
    most 255 octets on the wire.
    """
    text = name.rstrip(".").lower()
    if not text:
        return None
    try:
        dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError):
        return None
    if any(not label for label in text.split(".")):
        return None
    return text


def _text_name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


class DnsResolver:
    """Queries nameservers with a shared TTL-aware cache and at most one query in flight per key.

    ``timeout`` bounds each query, retries included. A repeated query inside
    the TTL of its answer is served from the cache, negative answers too.
    Errors are not cached, so a later check tries again.
    """

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        *,
        timeout: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        max_concurrent_queries: int = DEFAULT_MAX_CONCURRENT_QUERIES,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout {timeout!r} is invalid: give a number of seconds above 0")
        if max_concurrent_queries < 1:
            raise ValueError(
                f"max_concurrent_queries {max_concurrent_queries!r} is invalid: give 1 or more"
            )
        # dnspython's own cache does not keep negative answers, so this class keeps its own.
        resolver.cache = None
        self._resolver = resolver
        self._timeout = timeout
        self._max_concurrent = max_concurrent_queries
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None
        self._cache: OrderedDict[tuple[str, str], tuple[float, DnsAnswer]] = OrderedDict()
        self._cache_entries = cache_entries
        self._in_flight: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self._clock = clock
        self.queries_sent = 0
        self.cache_hits = 0

    @classmethod
    def from_nameservers(
        cls,
        nameservers: Sequence[str],
        *,
        timeout: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        max_concurrent_queries: int = DEFAULT_MAX_CONCURRENT_QUERIES,
    ) -> DnsResolver:
        """Query only ``nameservers``, given as ``host:port`` strings (port 53 by default).

        :raises ValueError: when the list is empty or an entry is invalid.
        """
        if not nameservers:
            raise ValueError(
                "nameservers is empty: give at least one host:port, for example 127.0.0.1:53"
            )
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(entry)) for entry in nameservers
        ]
        resolver.use_edns(0, 0, EDNS_PAYLOAD_SIZE)
        return cls(resolver, timeout=timeout, max_concurrent_queries=max_concurrent_queries)

    @classmethod
    def from_system(
        cls,
        *,
        timeout: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        max_concurrent_queries: int = DEFAULT_MAX_CONCURRENT_QUERIES,
    ) -> DnsResolver:
        """Query the nameservers of the system configuration (``/etc/resolv.conf``).

        :raises dns.resolver.NoResolverConfiguration: when the system has none.
        """
        resolver = dns.asyncresolver.Resolver(configure=True)
        resolver.use_edns(0, 0, EDNS_PAYLOAD_SIZE)
        return cls(resolver, timeout=timeout, max_concurrent_queries=max_concurrent_queries)

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        self._cache.clear()

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Return the records of ``name`` of type ``rdtype``, from the cache when still fresh."""
        qname = normalize_query_name(name)
        if qname is None:
            return DnsAnswer(name.lower(), rdtype, DnsStatus.INVALID_NAME)
        key = (qname, rdtype)

        cached = self._cached(key)
        if cached is not None:
            self.cache_hits += 1
            return cached

        # Concurrent checks often ask for the same name (an ESP's include),
        # so later callers wait for the query already on the wire. The query
        # runs as its own task, so a caller that gives up cancels only its wait.
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._send_and_store(key))
            self._in_flight[key] = task
            task.add_done_callback(lambda _done: self._in_flight.pop(key, None))
        return await asyncio.shield(task)

    async def _send_and_store(self, key: tuple[str, str]) -> DnsAnswer:
        answer = await self._send(*key)
        self._store(key, answer)
        return answer

    def _cached(self, key: tuple[str, str]) -> DnsAnswer | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, answer = entry
        if expires <= self._clock():
            del self._cache[key]
            return None
        return answer

    def _store(self, key: tuple[str, str], answer: DnsAnswer) -> None:
        if answer.is_error:
            return
        self._cache[key] = (self._clock() + min(answer.ttl, MAX_CACHE_TTL), answer)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)

    def _limit(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop, and the CLI may run several
        # loops one after the other with the same resolver.
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore = asyncio.Semaphore(self._max_concurrent)
            self._semaphore_loop = loop
        return self._semaphore

    async def _send(self, qname: str, rdtype: str) -> DnsAnswer:
        async with self._limit():
            self.queries_sent += 1
            try:
                answer = await self._resolver.resolve(
                    qname,
                    rdtype,
                    search=False,
                    raise_on_no_answer=False,
                    lifetime=self._timeout,
                )
            except dns.resolver.NXDOMAIN as error:
                return DnsAnswer(qname, rdtype, DnsStatus.NXDOMAIN, ttl=_negative_ttl(error))
            except dns.resolver.LifetimeTimeout:
                logger.warning("DNS %s query for %s timed out", rdtype, qname)
                return DnsAnswer(qname, rdtype, DnsStatus.TIMEOUT)
            except dns.resolver.NoNameservers as error:
                status = DnsStatus.CNAME_LOOP if _is_chain_error(error) else DnsStatus.SERVFAIL
                logger.warning("DNS %s query for %s failed: %s", rdtype, qname, status)
                return DnsAnswer(qname, rdtype, status)
            except dns.exception.DNSException as error:
                logger.warning(
                    "DNS %s query for %s failed: %s", rdtype, qname, type(error).__name__
                )
                return DnsAnswer(qname, rdtype, DnsStatus.ERROR)
        return _answer_from(qname, rdtype, answer)


def _answer_from(qname: str, rdtype: str, answer: dns.resolver.Answer) -> DnsAnswer:
    chain = tuple(
        _text_name(rrset.name)
        for rrset in answer.response.answer
        if rrset.rdtype == dns.rdatatype.CNAME
    )
    canonical = _text_name(answer.canonical_name)
    if answer.rrset is None:
        ttl = _soa_ttl(answer.response) or DEFAULT_NEGATIVE_TTL
        return DnsAnswer(
            qname, rdtype, DnsStatus.NODATA, canonical_name=canonical, cname_chain=chain, ttl=ttl
        )
    return DnsAnswer(
        qname,
        rdtype,
        DnsStatus.FOUND,
        records=tuple(answer.rrset),
        canonical_name=canonical,
        cname_chain=chain,
        ttl=answer.chaining_result.minimum_ttl,
    )


def _negative_ttl(error: dns.resolver.NXDOMAIN) -> int:
    responses = error.kwargs.get("responses") or {}
    for response in responses.values():
        ttl = _soa_ttl(response)
        if ttl:
            return ttl
    return DEFAULT_NEGATIVE_TTL


def _soa_ttl(response: dns.message.Message) -> int:
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, rrset[0].minimum))
    return 0


def _is_chain_error(error: dns.resolver.NoNameservers) -> bool:
    # dnspython reports a CNAME loop as a failed answer whose error is
    # ChainTooLong; a recursive resolver would send SERVFAIL instead.
    for entry in error.kwargs.get("errors") or ():
        if any(isinstance(part, dns.message.ChainTooLong) for part in entry):
            return True
    return False


class BudgetedSource:
    """Wrap a source so that all its queries together end within ``seconds``.

    Past the budget a query returns a TIMEOUT answer at once. The budget starts
    at the first query, so a source can be built ahead of its check.
    """

    def __init__(
        self,
        inner: DnsSource,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if seconds <= 0:
            raise ValueError(f"budget {seconds!r} is invalid: give a number of seconds above 0")
        self._inner = inner
        self._seconds = seconds
        self._clock = clock
        self._deadline: float | None = None
        self.exhausted = False

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Return the inner source's answer, or a TIMEOUT answer once the budget is spent."""
        if self._deadline is None:
            self._deadline = self._clock() + self._seconds
        remaining = self._deadline - self._clock()
        if remaining > 0:
            try:
                return await asyncio.wait_for(
                    asyncio.shield(self._inner.query(name, rdtype)), remaining
                )
            except TimeoutError:
                pass
        self.exhausted = True
        logger.warning(
            "DNS budget of %.1f s spent before the %s query for %s", self._seconds, rdtype, name
        )
        return DnsAnswer(name.rstrip(".").lower(), rdtype, DnsStatus.TIMEOUT)


async def query_many(
    source: DnsSource, queries: Iterable[tuple[str, str]]
) -> tuple[DnsAnswer, ...]:
    """Send ``queries`` (name, type) concurrently and return their answers in the same order."""
    return tuple(await asyncio.gather(*(source.query(name, rdtype) for name, rdtype in queries)))
