"""A real DNS server on loopback for tests, serving zone-file fixtures.

Zone files are parsed with dnspython, the same parser as the zone-file
lookup, and dnslib replies to queries over UDP and TCP on one ephemeral
port::

    with LoopbackDnsServer(Path("tests/data/zones/example.org.zone")) as server:
        lookup = ResolverTxtLookup.from_nameservers([server.nameserver], timeout=1)

The server answers like an authoritative server: CNAME chains inside its
data are followed in the answer, a name that exists without the requested
type gets NOERROR with no answer (NODATA), a missing name gets NXDOMAIN and
a name outside every loaded zone gets REFUSED. Names passed to
:meth:`LoopbackDnsServer.time_out` get no answer at all, for every type or
for the chosen ones. ``delay_seconds`` holds every reply back by that much,
as a distant server would, for the benchmarks.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
from dnslib import QTYPE, RCODE, RD, RR, DNSError, DNSHeader, DNSLabel, DNSRecord

# RFC 1035 section 4.2.1: without EDNS a UDP response is at most 512 bytes.
# RFC 6891 lets the client raise that limit through its OPT record.
CLASSIC_UDP_SIZE = 512
MAX_UDP_SIZE = 4096

# Longest CNAME chain followed for one query, which also ends loops.
MAX_CNAME_CHAIN = 16

# How often a held TCP connection checks whether the server is stopping.
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Query:
    """A query the server received: the name as asked, its type and the transport."""

    name: str
    rdtype: str
    transport: str


@dataclass(frozen=True)
class _Record:
    rdtype: int
    ttl: int
    wire: bytes
    target: str | None


class LoopbackDnsServer:
    """Authoritative DNS server on ``host`` (127.0.0.1 or ::1) for the zones it is given.

    ``zone`` is zone-file text (a ``str``) or the path of a zone file (a
    ``Path``); ``origin`` is needed when the zone has no ``$ORIGIN`` line.
    ``max_udp_size`` forces truncation of larger UDP answers whatever the
    client's EDNS size, so tests can exercise the fallback to TCP.
    """

    def __init__(
        self,
        zone: str | Path | None = None,
        *,
        origin: str | None = None,
        host: str = "127.0.0.1",
        max_udp_size: int | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        if delay_seconds < 0:
            raise ValueError(f"delay_seconds {delay_seconds!r} is invalid: give 0 or more")
        self.host = host
        self.max_udp_size = max_udp_size
        self.delay_seconds = delay_seconds
        self._records: dict[str, list[_Record]] = {}
        self._names: set[str] = set()
        self._origins: set[str] = set()
        # Name to the query types that get no reply (None: every type).
        self._timeouts: dict[str, frozenset[int] | None] = {}
        self._timeout_exceptions: dict[str, frozenset[int]] = {}
        self._failures: dict[str, int] = {}
        self._queries: list[Query] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self._port = 0
        if zone is not None:
            self.load_zone(zone, origin=origin)

    # Data ---------------------------------------------------------------

    def load_zone(self, zone: str | Path, *, origin: str | None = None) -> None:
        """Serve the records of a zone given as text or as a file path.

        :raises dns.exception.DNSException: when the zone does not parse.
        :raises OSError: when the file cannot be read.
        """
        text = zone.read_text(encoding="utf-8") if isinstance(zone, Path) else zone
        parsed = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        assert parsed.origin is not None
        self.add_zone(parsed.origin.to_text())
        for name, node in parsed.nodes.items():
            for rdataset in node.rdatasets:
                for rdata in rdataset:
                    self._store(_key_of_labels(name.labels), rdata, rdataset.ttl)

    def add_zone(self, origin: str) -> None:
        """Declare ``origin`` as served, so names under it get NXDOMAIN rather than REFUSED.

        ``"."`` makes the server authoritative for every name.
        """
        with self._lock:
            self._origins.add(_key(origin))
            self._names.add(_key(origin))

    def add_record(self, name: str, rdtype: str, value: str, ttl: int = 300) -> None:
        """Serve one record whose data ``value`` is in zone-file syntax.

        For example ``add_record("a.example.org", "TXT", '"v=spf1 -all"')``.
        Names inside ``value`` are taken as absolute.

        :raises ValueError: when ``name`` is outside every served zone.
        """
        key = _key(name)
        if self._origin_of(key) is None:
            raise ValueError(
                f"{name} is outside the served zones: load a zone for it or call add_zone('.')"
            )
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN,
            dns.rdatatype.from_text(rdtype),
            value,
            origin=dns.name.root,
            relativize=False,
        )
        self._store(key, rdata, ttl)

    def time_out(
        self,
        name: str,
        rdtypes: Iterable[str] | None = None,
        *,
        except_rdtypes: Iterable[str] = (),
    ) -> None:
        """Send no reply to queries for ``name`` of the types ``rdtypes`` (None: every type).

        Types in ``except_rdtypes`` are still answered, which serves the SPF
        test suite's zones where only the types listed before ``TIMEOUT``
        have answers.
        """
        chosen = None if rdtypes is None else frozenset(int(QTYPE.reverse[t]) for t in rdtypes)
        excepted = frozenset(int(QTYPE.reverse[t]) for t in except_rdtypes)
        with self._lock:
            self._timeouts[_key(name)] = chosen
            self._timeout_exceptions[_key(name)] = excepted

    def add_txt(self, name: str, strings: Sequence[bytes], ttl: int = 300) -> None:
        """Serve one TXT record made of ``strings``, raw bytes that may be invalid UTF-8.

        Zone-file syntax cannot easily carry such bytes, and the SPF tests need
        them to check that non-ASCII records are rejected.

        :raises ValueError: when ``name`` is outside every served zone or a
            string is longer than 255 bytes.
        """
        key = _key(name)
        if self._origin_of(key) is None:
            raise ValueError(
                f"{name} is outside the served zones: load a zone for it or call add_zone('.')"
            )
        if any(len(string) > 255 for string in strings):
            raise ValueError("a TXT character-string is at most 255 bytes (RFC 1035 3.3)")
        wire = b"".join(len(string).to_bytes(1, "big") + string for string in strings)
        with self._lock:
            self._records.setdefault(key, []).append(_Record(int(QTYPE.TXT), ttl, wire, None))
            self._add_name_and_ancestors(key)

    def fail(self, name: str, rcode: str = "SERVFAIL") -> None:
        """Reply to queries for ``name`` with ``rcode`` (SERVFAIL, REFUSED, ...) and no data."""
        with self._lock:
            self._failures[_key(name)] = getattr(RCODE, rcode)

    @property
    def queries(self) -> list[Query]:
        """The queries received so far, oldest first."""
        with self._lock:
            return list(self._queries)

    def _store(self, key: str, rdata: dns.rdata.Rdata, ttl: int) -> None:
        target = None
        if rdata.rdtype == dns.rdatatype.CNAME:
            target = _key_of_labels(rdata.target.labels)  # type: ignore[attr-defined]
        # Names inside the data are absolute and written uncompressed, which
        # every resolver accepts.
        wire = rdata.to_wire()
        assert wire is not None  # to_wire() returns the bytes when given no file
        record = _Record(int(rdata.rdtype), ttl, wire, target)
        with self._lock:
            self._records.setdefault(key, []).append(record)
            self._add_name_and_ancestors(key)

    def _add_name_and_ancestors(self, key: str) -> None:
        # RFC 8020: the ancestors of a name exist even without records (empty
        # non-terminals), so they answer NODATA rather than NXDOMAIN.
        origin = self._origin_of(key)
        name = key
        while name and name != origin:
            self._names.add(name)
            name = _parent(name)

    def _origin_of(self, key: str) -> str | None:
        matches = [origin for origin in self._origins if _is_subdomain(key, origin)]
        return max(matches, key=len) if matches else None

    # Answers --------------------------------------------------------------

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        """Build the reply to ``request``, or return None to leave it unanswered."""
        reply = request.reply()
        qname = request.q.qname
        key = _key_of_labels(qname.label)
        qtype = request.q.qtype

        with self._lock:
            if self._times_out(key, qtype):
                return None
            if key in self._failures:
                reply.header.rcode = self._failures[key]
                return reply
            origin = self._origin_of(key)
            if origin is None:
                reply.header.rcode = RCODE.REFUSED
                reply.header.aa = 0
                return reply
            self._fill(reply, qname, key, qtype)
        return reply

    def _times_out(self, key: str, qtype: int) -> bool:
        if key not in self._timeouts:
            return False
        if qtype in self._timeout_exceptions.get(key, frozenset()):
            return False
        chosen = self._timeouts[key]
        return chosen is None or qtype in chosen

    def _fill(self, reply: DNSRecord, qname: DNSLabel, key: str, qtype: int) -> None:
        owner = qname
        seen: set[str] = set()
        for _ in range(MAX_CNAME_CHAIN):
            records = self._records.get(key, [])
            wanted = [r for r in records if qtype in (r.rdtype, QTYPE.ANY)]
            if wanted:
                for record in wanted:
                    reply.add_answer(_rr(owner, record))
                return

            cname = next((r for r in records if r.rdtype == QTYPE.CNAME), None)
            if cname is not None and cname.target is not None:
                # RFC 1034 section 4.3.2: an authoritative server follows the
                # alias and answers with the chain, while the target is its own.
                reply.add_answer(_rr(owner, cname))
                seen.add(key)
                key = cname.target
                owner = DNSLabel(key)
                if key in seen or self._origin_of(key) is None:
                    return
                continue

            # RFC 6604 section 3: after a CNAME chain the rcode describes the
            # last name, so a chain to a missing name is NXDOMAIN too.
            if key not in self._names:
                reply.header.rcode = RCODE.NXDOMAIN
            self._add_soa(reply, key)
            return

    def _add_soa(self, reply: DNSRecord, key: str) -> None:
        # RFC 2308 section 3: negative answers carry the zone's SOA.
        origin = self._origin_of(key)
        if origin is None:
            return
        for record in self._records.get(origin, []):
            if record.rdtype == QTYPE.SOA:
                reply.add_auth(_rr(DNSLabel(origin), record))

    def reply_bytes(self, data: bytes, transport: str) -> bytes | None:
        """Decode one query, log it and return the encoded reply (None: no reply)."""
        try:
            request = DNSRecord.parse(data)
        except DNSError:
            return None
        if not request.questions:
            return None
        with self._lock:
            self._queries.append(Query(str(request.q.qname), QTYPE.get(request.q.qtype), transport))

        reply = self.answer(request)
        if reply is None:
            return None
        packed: bytes = reply.pack()
        if transport == "udp" and len(packed) > self._udp_limit(request):
            truncated = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1))
            truncated.add_question(request.q)
            packed = truncated.pack()
        return packed

    def _udp_limit(self, request: DNSRecord) -> int:
        if self.max_udp_size is not None:
            return self.max_udp_size
        options = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        if options:
            return int(min(max(options[0].rclass, CLASSIC_UDP_SIZE), MAX_UDP_SIZE))
        return CLASSIC_UDP_SIZE

    # Life cycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        """The UDP and TCP port, chosen by the system at start."""
        if not self._port:
            raise RuntimeError("the DNS server is not started: call start() first")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) pair the server listens on."""
        return self.host, self.port

    @property
    def nameserver(self) -> str:
        """The server as a ``host:port`` string, IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> None:
        """Bind UDP and TCP on one free port and serve in background threads.

        :raises OSError: when no port is free for both transports.
        """
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        udp_class = type("_UdpServer", (_ThreadingUdpServer,), {"address_family": family})
        tcp_class = type("_TcpServer", (_ThreadingTcpServer,), {"address_family": family})

        # Take a free UDP port, then the same TCP port, and retry if that is taken.
        error: OSError | None = None
        for _ in range(20):
            udp = udp_class((self.host, 0), _UdpHandler)
            port = udp.server_address[1]
            try:
                tcp = tcp_class((self.host, port), _TcpHandler)
            except OSError as bind_error:
                udp.server_close()
                error = bind_error
                continue
            break
        else:
            raise OSError(f"no free port for UDP and TCP on {self.host}: {error}")

        self._stopping.clear()
        for server in (udp, tcp):
            server.dns = self
            thread = threading.Thread(target=server.serve_forever, args=(_POLL_SECONDS,))
            thread.daemon = True
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self._port = port

    def stop(self) -> None:
        """Stop serving and close both sockets."""
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers.clear()
        self._threads.clear()
        self._port = 0

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` has been called."""
        return self._stopping.is_set()

    def __enter__(self) -> LoopbackDnsServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _ThreadingUdpServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    block_on_close = False


class _ThreadingTcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # The default backlog of 5 drops connections when many clients fall back
    # to TCP at once, as the benchmarks make them do.
    request_queue_size = 256


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        dns_server: LoopbackDnsServer = self.server.dns  # type: ignore[attr-defined]
        reply = dns_server.reply_bytes(data, "udp")
        if dns_server.delay_seconds:
            time.sleep(dns_server.delay_seconds)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        dns_server: LoopbackDnsServer = self.server.dns  # type: ignore[attr-defined]
        connection: socket.socket = self.request
        connection.settimeout(_POLL_SECONDS)

        # RFC 1035 section 4.2.2: each message is preceded by its length on
        # two bytes, and a client may send several queries on one connection.
        for message in _tcp_messages(connection, dns_server):
            reply = dns_server.reply_bytes(message, "tcp")
            if reply is None:
                continue
            if dns_server.delay_seconds:
                time.sleep(dns_server.delay_seconds)
            connection.sendall(len(reply).to_bytes(2, "big") + reply)


def _tcp_messages(connection: socket.socket, dns_server: LoopbackDnsServer) -> Iterator[bytes]:
    buffer = b""
    while not dns_server.stopping:
        try:
            chunk = connection.recv(65535)
        except TimeoutError:
            continue
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
            length = int.from_bytes(buffer[:2], "big")
            yield buffer[2 : 2 + length]
            buffer = buffer[2 + length :]


def _rr(owner: DNSLabel, record: _Record) -> RR:
    return RR(rname=owner, rtype=record.rdtype, rclass=1, ttl=record.ttl, rdata=RD(record.wire))


def _key(name: str) -> str:
    lowered = name.lower()
    return lowered if lowered.endswith(".") else lowered + "."


def _key_of_labels(labels: Iterable[bytes]) -> str:
    # Built from the raw labels, because the text forms of dnspython and
    # dnslib escape spaces and other special octets differently.
    return _key(".".join(label.decode("latin-1") for label in labels if label))


def _parent(key: str) -> str:
    if key == ".":
        return ""
    parent = key.split(".", 1)[1]
    return parent or "."


def _is_subdomain(key: str, origin: str) -> bool:
    return origin == "." or key == origin or key.endswith("." + origin)
