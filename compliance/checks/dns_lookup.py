"""TXT lookups for the authentication checks, over DNS or from a zone file.

A lookup does not raise for a DNS failure. It returns a :class:`TxtResult`
whose status is records found, no records (NXDOMAIN or no answer), or
unknown (timeout, server failure), so that a check that could not run
reports that instead of inventing a verdict.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.name
import dns.nameserver
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone

from compliance.checks.i18n import N_

logger = logging.getLogger(__name__)

DEFAULT_DNS_PORT = 53
DEFAULT_TIMEOUT_SECONDS = 5.0

# A zone-file lookup follows at most this many CNAME records in a row, which
# also ends CNAME loops.
MAX_CNAME_CHAIN = 8


class TxtStatus(enum.StrEnum):
    """Outcome of a TXT lookup."""

    FOUND = "found"
    EMPTY = "empty"
    UNKNOWN = "unknown"


class TxtReason(enum.StrEnum):
    """Reason code of an empty or unknown result, free of personal data."""

    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no_answer"
    TIMEOUT = "timeout"
    SERVER_FAILURE = "server_failure"
    OUTSIDE_ZONE = "outside_zone"
    CNAME_LOOP = "cname_loop"
    DNS_ERROR = "dns_error"


TXT_REASON_MESSAGES: Mapping[TxtReason, str] = {
    TxtReason.NXDOMAIN: N_("the name does not exist"),
    TxtReason.NO_ANSWER: N_("the name has no TXT record"),
    TxtReason.TIMEOUT: N_("timed out"),
    TxtReason.SERVER_FAILURE: N_("no DNS server gave an answer"),
    TxtReason.OUTSIDE_ZONE: N_("the name is outside the zone file"),
    TxtReason.CNAME_LOOP: N_("too many CNAME records in a row"),
    TxtReason.DNS_ERROR: N_("DNS error"),
}


@dataclass(frozen=True)
class TxtResult:
    """The TXT records of one name, each record's strings already joined."""

    status: TxtStatus
    records: tuple[str, ...] = ()
    reason: TxtReason | None = None

    @classmethod
    def found(cls, records: Iterable[str]) -> TxtResult:
        """Return a result holding ``records``, or an empty one when there are none."""
        collected = tuple(records)
        if not collected:
            return cls.empty(TxtReason.NO_ANSWER)
        return cls(TxtStatus.FOUND, collected)

    @classmethod
    def empty(cls, reason: TxtReason) -> TxtResult:
        """Return a result for a name that has no TXT record."""
        return cls(TxtStatus.EMPTY, (), reason)

    @classmethod
    def unknown(cls, reason: TxtReason) -> TxtResult:
        """Return a result for a lookup that could not complete."""
        return cls(TxtStatus.UNKNOWN, (), reason)


class TxtLookup(Protocol):
    """Anything that returns the TXT records of a domain name."""

    def txt(self, name: str) -> TxtResult:
        """Return the TXT records of ``name``; never raise for a DNS failure."""
        ...


def join_txt_strings(strings: Iterable[bytes]) -> str:
    """Join the character-strings of one TXT record.

    RFC 7208 section 3.3: the strings of a multi-string TXT record are
    concatenated with no separator. Bytes that are not UTF-8 become U+FFFD,
    which the record parsers then report as invalid characters.
    """
    return b"".join(strings).decode("utf-8", errors="replace")


def parse_nameserver(text: str) -> tuple[str, int]:
    """Split ``host:port`` into an IP address and a port.

    Accepts ``192.0.2.1``, ``192.0.2.1:5353``, ``::1``, ``[::1]`` and
    ``[::1]:5353``; the port defaults to 53.

    :raises ValueError: when the host is not an IP address or the port is
        not between 1 and 65535.
    """
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(
                f"nameserver {text!r} is invalid: write an IPv6 server as [address]:port"
            )
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"nameserver {text!r} is invalid: give an IP address with an optional port, "
            "for example 127.0.0.1:5353 or [::1]:5353"
        ) from None

    port = DEFAULT_DNS_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(
                f"nameserver {text!r} has an invalid port: use a number from 1 to 65535"
            )
        port = int(port_text)
    return str(address), port


class ResolverTxtLookup:
    """TXT lookups through a dnspython resolver."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver

    @classmethod
    def from_nameservers(
        cls, nameservers: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> ResolverTxtLookup:
        """Query only ``nameservers`` (``host:port`` strings), giving up after ``timeout`` seconds.

        :raises ValueError: when the list is empty or an entry is invalid.
        """
        if not nameservers:
            raise ValueError(
                "nameservers is empty: give at least one host:port, for example 127.0.0.1:53"
            )
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(entry)) for entry in nameservers
        ]
        _set_timeout(resolver, timeout)
        return cls(resolver)

    @classmethod
    def from_system(cls, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> ResolverTxtLookup:
        """Query the nameservers of the system configuration (``/etc/resolv.conf``).

        :raises dns.resolver.NoResolverConfiguration: when the system has none.
        """
        resolver = dns.resolver.Resolver(configure=True)
        _set_timeout(resolver, timeout)
        return cls(resolver)

    def txt(self, name: str) -> TxtResult:
        """Return the TXT records of ``name``; never raise for a DNS failure."""
        try:
            answer = self._resolver.resolve(name, dns.rdatatype.TXT, search=False)
        except dns.resolver.NXDOMAIN:
            return TxtResult.empty(TxtReason.NXDOMAIN)
        except dns.resolver.NoAnswer:
            return TxtResult.empty(TxtReason.NO_ANSWER)
        except dns.resolver.LifetimeTimeout:
            logger.warning("DNS TXT lookup of %s timed out", name)
            return TxtResult.unknown(TxtReason.TIMEOUT)
        except dns.resolver.NoNameservers:
            logger.warning("DNS TXT lookup of %s failed: no nameserver answered", name)
            return TxtResult.unknown(TxtReason.SERVER_FAILURE)
        except dns.exception.DNSException as error:
            logger.warning("DNS TXT lookup of %s failed: %s", name, type(error).__name__)
            return TxtResult.unknown(TxtReason.DNS_ERROR)

        return TxtResult.found(join_txt_strings(rdata.strings) for rdata in answer)


def _set_timeout(resolver: dns.resolver.Resolver, timeout: float) -> None:
    if timeout <= 0:
        raise ValueError(f"timeout {timeout!r} is invalid: give a number of seconds above 0")
    # ``timeout`` bounds one query to one server, ``lifetime`` the whole
    # resolution including retries, so a dead server cannot stall a check.
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None


DEFAULT_ZONE_TTL = 3600

# A $GENERATE line adds one name per step of its range. dnspython 2.9.2 built
# a 200,000-name range in 15 s here, so a range of 100 million would fill the
# memory. A zone written for a check has a few domains: 10,000 names is ample.
MAX_GENERATED_NAMES = 10_000
_GENERATE = re.compile(r"\$GENERATE\s+(\d+)-(\d+)(?:/(\d+))?", re.IGNORECASE)


def _shift_line_number(message: str, source: str, offset: int) -> str:
    """Correct the ``source:LINE:`` prefix of a dnspython error by ``offset`` lines."""
    prefix = re.match(rf"{re.escape(source)}:(\d+):", message)
    if prefix is None:
        return message
    line = int(prefix.group(1)) + offset
    return f"{source}:{line}:{message[prefix.end() :]}"


class ZoneFileError(ValueError):
    """A zone file could not be parsed."""


def _check_generated_names(text: str, source: str) -> None:
    """Reject a zone whose $GENERATE lines add more than MAX_GENERATED_NAMES names.

    A line this pattern does not match is left to dnspython, which reports
    its syntax error.
    """
    total = 0
    for number, line in enumerate(text.splitlines(), start=1):
        match = _GENERATE.match(line)
        if match is None:
            continue
        start, stop = int(match.group(1)), int(match.group(2))
        step = int(match.group(3) or 1)
        if step == 0 or stop < start:
            continue
        total += (stop - start) // step + 1
        if total > MAX_GENERATED_NAMES:
            raise ZoneFileError(
                f"{source}:{number}: $GENERATE lines add more than {MAX_GENERATED_NAMES} "
                "names; narrow the range to the names the check needs"
            )


def parse_zone_text(
    text: str, origin: str | None = None, *, source: str = "zone text"
) -> dns.zone.Zone:
    """Parse zone ``text`` in BIND master format, whose origin defaults to its ``$ORIGIN`` line.

    :raises ZoneFileError: when the text has no origin or a syntax error.
    """
    # TTLs play no part in a check, so a zone written by hand may leave
    # them out. A default TTL is then added on a first line of its own.
    has_ttl_default = re.search(r"^\$TTL\b", text, re.MULTILINE) is not None
    zone_text = text if has_ttl_default else f"$TTL {DEFAULT_ZONE_TTL}\n{text}"
    no_origin = ZoneFileError(
        f"{source} has no $ORIGIN line: add one, or give the zone's origin "
        "(for example example.org)"
    )
    _check_generated_names(text, source)
    try:
        # check_origin=False: a zone written for a check needs no SOA or NS.
        zone = dns.zone.from_text(
            zone_text,
            origin=origin,
            relativize=False,
            check_origin=False,
            filename=source,
        )
    except dns.zone.UnknownOrigin:
        raise no_origin from None
    except dns.exception.DNSException as error:
        message = str(error)
        if not has_ttl_default:
            message = _shift_line_number(message, source, -1)
        raise ZoneFileError(f"{source} is not a valid zone file: {message}") from None
    except ValueError as error:
        # dnspython 2.9 raises a bare ValueError, with no line number, for a
        # SOA record whose owner is not the origin.
        raise ZoneFileError(f"{source} is not a valid zone file: {error}") from None

    # dnspython returns a zone without origin for a file with no record at all.
    if zone.origin is None:
        raise no_origin
    return zone


class ZoneTxtLookup:
    """TXT lookups served from one zone file, without any network traffic.

    Names outside the zone's origin are reported as unknown, because the file
    has no data about them.
    """

    def __init__(self, zone: dns.zone.Zone) -> None:
        self._zone = zone

    @property
    def origin(self) -> str:
        """The zone's origin, without the final dot."""
        origin = self._zone.origin
        assert origin is not None  # set by from_file/from_text or they raise
        return origin.to_text(omit_final_dot=True)

    @classmethod
    def from_file(cls, path: str | Path, origin: str | None = None) -> ZoneTxtLookup:
        """Read the zone file at ``path``, whose origin defaults to its ``$ORIGIN`` line.

        :raises OSError: when the file cannot be read.
        :raises ZoneFileError: when the file has no origin or a syntax error.
        """
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_text(text, origin, source=str(path))

    @classmethod
    def from_text(
        cls, text: str, origin: str | None = None, *, source: str = "zone text"
    ) -> ZoneTxtLookup:
        """Parse zone ``text``, whose origin defaults to its ``$ORIGIN`` line.

        :raises ZoneFileError: when the text has no origin or a syntax error.
        """
        return cls(parse_zone_text(text, origin, source=source))

    @property
    def zone(self) -> dns.zone.Zone:
        """The parsed zone."""
        return self._zone

    def txt(self, name: str) -> TxtResult:
        """Return the TXT records of ``name`` in the zone, following CNAMEs inside it."""
        origin = self._zone.origin
        assert origin is not None
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            return TxtResult.unknown(TxtReason.DNS_ERROR)

        # NOTE: wildcard owners (*.example.org) are not expanded.
        for _ in range(MAX_CNAME_CHAIN + 1):
            if not qname.is_subdomain(origin):
                return TxtResult.unknown(TxtReason.OUTSIDE_ZONE)

            node = self._zone.get_node(qname)
            if node is None:
                return TxtResult.empty(self._missing_name_reason(qname))

            txt = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
            if txt is not None:
                return TxtResult.found(join_txt_strings(rdata.strings) for rdata in txt)

            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                return TxtResult.empty(TxtReason.NO_ANSWER)
            qname = next(iter(cname)).target
        return TxtResult.unknown(TxtReason.CNAME_LOOP)

    def _missing_name_reason(self, qname: dns.name.Name) -> TxtReason:
        # RFC 8020: a name with descendants exists (an empty non-terminal such
        # as _domainkey.example.org), so the answer is NODATA, not NXDOMAIN.
        for owner in self._zone.nodes:
            if isinstance(owner, dns.name.Name) and owner != qname and owner.is_subdomain(qname):
                return TxtReason.NO_ANSWER
        return TxtReason.NXDOMAIN
