"""The loopback DNS server answers like an authoritative server, over UDP and TCP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import dns.message
import dns.nameserver
import dns.query
import dns.rcode
import dns.resolver
import pytest

from tests.checks.conftest import BROKEN_NAME, SLOW_NAME, ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer


def _resolver(server: LoopbackDnsServer, timeout: float = 1.0) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    host, port = server.address
    resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)]
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def _udp_query(server: LoopbackDnsServer, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, server.host, port=server.port, timeout=1.0)


def test_txt_multiple_strings_kept(dns_server: LoopbackDnsServer) -> None:
    answer = _resolver(dns_server).resolve("example.org", "TXT")
    strings = sorted(tuple(rdata.strings) for rdata in answer)

    assert strings == [
        (b"google-site-verification=fixture",),
        (b"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ", b"mx include:_spf.example.net -all"),
    ]


def test_cname_chain_in_answer(dns_server: LoopbackDnsServer) -> None:
    response = _udp_query(dns_server, "alias.example.org", "TXT")
    types = [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer]

    assert types == ["CNAME", "TXT"]
    assert response.answer[1].name.to_text() == "news.example.org."


def test_address_and_mail_records(dns_server: LoopbackDnsServer) -> None:
    resolver = _resolver(dns_server)

    assert [r.to_text() for r in resolver.resolve("mail.example.org", "A")] == ["192.0.2.25"]
    assert [r.to_text() for r in resolver.resolve("mail.example.org", "AAAA")] == ["2001:db8::25"]
    assert [r.to_text() for r in resolver.resolve("example.org", "MX")] == ["10 mail.example.org."]
    ptr = resolver.resolve("25.2.0.192.in-addr.arpa", "PTR")
    assert [r.to_text() for r in ptr] == ["mail.example.org."]


def test_nxdomain_with_soa(dns_server: LoopbackDnsServer) -> None:
    response = _udp_query(dns_server, "nothing.example.org", "TXT")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert [rrset.rdtype for rrset in response.authority] == [dns.rdatatype.SOA]


def test_nodata_for_existing_name(dns_server: LoopbackDnsServer) -> None:
    response = _udp_query(dns_server, "example.org", "AAAA")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []


def test_empty_non_terminal_is_nodata(dns_server: LoopbackDnsServer) -> None:
    # _domainkey.example.org has no record but has a child (RFC 8020).
    response = _udp_query(dns_server, "_domainkey.example.org", "TXT")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []


def test_outside_zones_refused(dns_server: LoopbackDnsServer) -> None:
    response = _udp_query(dns_server, "example.com", "TXT")
    assert response.rcode() == dns.rcode.REFUSED


def test_servfail_name(dns_server: LoopbackDnsServer) -> None:
    response = _udp_query(dns_server, BROKEN_NAME, "TXT")
    assert response.rcode() == dns.rcode.SERVFAIL


def test_timeout_name_never_answered(dns_server: LoopbackDnsServer) -> None:
    started = time.monotonic()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        _resolver(dns_server, timeout=0.3).resolve(SLOW_NAME, "TXT")

    assert time.monotonic() - started >= 0.3
    assert any(query.name == f"{SLOW_NAME}." for query in dns_server.queries)


def test_timeout_name_over_tcp(dns_server: LoopbackDnsServer) -> None:
    query = dns.message.make_query(SLOW_NAME, "TXT")
    with pytest.raises(dns.exception.Timeout):
        dns.query.tcp(query, dns_server.host, port=dns_server.port, timeout=0.3)


def test_large_answer_falls_back_to_tcp() -> None:
    server = LoopbackDnsServer(ZONES_DIR / "example.org.zone")
    server.add_record("big.example.org", "TXT", " ".join(['"' + "x" * 250 + '"'] * 4))
    with server:
        answer = _resolver(server).resolve("big.example.org", "TXT")
        transports = [q.transport for q in server.queries if q.name == "big.example.org."]

    assert len(b"".join(next(iter(answer)).strings)) == 1000
    assert transports == ["udp", "tcp"]


def test_tcp_several_queries_one_connection(dns_server: LoopbackDnsServer) -> None:
    with socket.create_connection(dns_server.address, timeout=1.0) as connection:
        for name in ("example.org", "news.example.org"):
            response, _ = dns.query.receive_tcp(
                _send_tcp(connection, dns.message.make_query(name, "TXT")), time.time() + 1
            )
            assert response.answer


def _send_tcp(connection: socket.socket, query: dns.message.Message) -> socket.socket:
    wire = query.to_wire()
    connection.sendall(len(wire).to_bytes(2, "big") + wire)
    return connection


def test_add_record_outside_zones_rejected() -> None:
    server = LoopbackDnsServer(ZONES_DIR / "example.org.zone")
    with pytest.raises(ValueError, match="outside the served zones"):
        server.add_record("example.net", "TXT", '"v=spf1 -all"')


def test_zone_text_with_origin_argument() -> None:
    server = LoopbackDnsServer('@ 300 IN TXT "v=spf1 -all"\n', origin="example.net")
    with server:
        answer = _resolver(server).resolve("example.net", "TXT")
    assert [r.to_text() for r in answer] == ['"v=spf1 -all"']


def test_port_before_start_raises() -> None:
    server = LoopbackDnsServer()
    with pytest.raises(RuntimeError, match="start"):
        _ = server.port


@pytest.fixture
def ipv6_server() -> Iterator[LoopbackDnsServer]:
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("IPv6 loopback is not available on this machine")
    with LoopbackDnsServer(ZONES_DIR / "example.org.zone", host="::1") as server:
        yield server


def test_ipv6_loopback(ipv6_server: LoopbackDnsServer) -> None:
    assert ipv6_server.nameserver == f"[::1]:{ipv6_server.port}"
    answer = _resolver(ipv6_server).resolve("example.org", "MX")
    assert [r.to_text() for r in answer] == ["10 mail.example.org."]
