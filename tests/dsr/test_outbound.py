"""The processor HTTP client: URL checks against SSRF, address pinning, TLS, limits."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from compliance.core.settings import Environment, Settings
from dsr.outbound import (
    MAX_RESPONSE_BYTES,
    OutboundClient,
    OutboundError,
    address_rejection,
    check_url,
    parse_url,
)
from tests.dsr.fake_processors import FakeProcessors

STRICT = Settings(env=Environment.TEST)
LOOPBACK_ALLOWED = Settings(
    env=Environment.TEST,
    processor_allow_http=True,
    processor_allow_private_networks=True,
    processor_timeout_seconds=2.0,
)


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"unexpected DNS resolution of {host}")


def reason_of(url: str, settings: Settings = STRICT, resolver: Any = no_dns) -> str:
    with pytest.raises(OutboundError) as caught:
        check_url(url, settings, resolver)
    return caught.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://processor.example/hook", "scheme_not_allowed"),
        ("ftp://processor.example/hook", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("https://user:pass@processor.example/hook", "userinfo_not_allowed"),
        ("https://processor.example@127.0.0.1/hook", "userinfo_not_allowed"),
        ("https:///hook", "host_missing"),
        ("https://processor.example:99999/hook", "invalid_url"),
        ("https://processor.example/ho ok", "invalid_url"),
        ("https://processor.example/hook\r\nX-Injected: 1", "invalid_url"),
        ("https://processor.example/" + "a" * 500, "invalid_url"),
    ],
)
def test_parse_url_rejects(url: str, reason: str) -> None:
    with pytest.raises(OutboundError) as caught:
        parse_url(url, STRICT)

    assert caught.value.reason == reason


FORBIDDEN_LITERALS = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[fe80::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "[ff02::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::a00:1]",
    "[2002:7f00:1::]",
]


@pytest.mark.parametrize("host", FORBIDDEN_LITERALS)
def test_check_url_rejects_internal_address(host: str) -> None:
    assert reason_of(f"https://{host}/hook") == "address_not_allowed"


@pytest.mark.parametrize("host", ["93.184.215.14", "[2606:4700:4700::1111]"])
def test_check_url_accepts_public_address(host: str) -> None:
    target = check_url(f"https://{host}:8443/dsr?x=1", STRICT, no_dns)

    assert target.port == 8443
    assert target.path == "/dsr?x=1"


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "[::1]", "[fd12::1]"])
def test_private_setting_allows_loopback_and_private(host: str) -> None:
    target = check_url(f"http://{host}/hook", LOOPBACK_ALLOWED, no_dns)

    assert target.scheme == "http"


@pytest.mark.parametrize(
    "host",
    ["169.254.169.254", "[fe80::1]", "[::ffff:169.254.169.254]", "100.64.0.1", "0.0.0.0"],
)
def test_private_setting_still_rejects_link_local(host: str) -> None:
    assert reason_of(f"http://{host}/hook", LOOPBACK_ALLOWED) == "address_not_allowed"


def test_localhost_name_rejected() -> None:
    # "localhost" resolves through /etc/hosts with the system resolver: no DNS traffic.
    with pytest.raises(OutboundError) as caught:
        check_url("https://localhost/hook", STRICT)

    assert caught.value.reason == "address_not_allowed"


def test_any_forbidden_resolution_rejects() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]

    assert reason_of("https://processor.test/hook", resolver=mixed) == "address_not_allowed"


def test_empty_resolution_reported() -> None:
    # No real name is looked up: tests never query a DNS server.
    def nothing(host: str, port: int) -> list[str]:
        return []

    assert reason_of("https://processor.test/hook", resolver=nothing) == "host_not_resolved"


def test_ipv4_mapped_reason_matches_ipv4() -> None:
    mapped = ipaddress.ip_address("::ffff:192.168.0.1")

    assert address_rejection(mapped, allow_private=False) == "address_not_allowed"
    assert address_rejection(mapped, allow_private=True) is None


@pytest.fixture
def fake() -> Iterator[FakeProcessors]:
    with FakeProcessors() as server:
        yield server


def test_request_connects_to_checked_address(fake: FakeProcessors) -> None:
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        # A rebinding DNS server: a harmless answer first, a forbidden one after.
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    client = OutboundClient(LOOPBACK_ALLOWED, resolver=rebinding)
    response = client.request("POST", f"http://processor.test:{fake.port}/hook", body=b"{}")

    assert calls == ["processor.test"]
    assert response.status == 401  # the fake's response to an unsigned webhook
    assert fake.requests[0].headers["host"] == f"processor.test:{fake.port}"


def test_request_rechecks_at_call_time() -> None:
    client = OutboundClient(LOOPBACK_ALLOWED, resolver=lambda host, port: ["169.254.169.254"])

    with pytest.raises(OutboundError) as caught:
        client.request("POST", "http://processor.test/hook", body=b"{}")

    assert caught.value.reason == "address_not_allowed"


def test_http_refused_at_call_time() -> None:
    client = OutboundClient(STRICT, resolver=no_dns)

    with pytest.raises(OutboundError) as caught:
        client.request("POST", "http://93.184.215.14/hook", body=b"{}")

    assert caught.value.reason == "scheme_not_allowed"


def test_redirect_returned_not_followed(fake: FakeProcessors) -> None:
    fake.fail_next(1, status=302)
    client = OutboundClient(LOOPBACK_ALLOWED)

    response = client.request("POST", f"{fake.url}/hook", body=b"{}")

    assert response.status == 302
    assert len(fake.requests) == 1


def test_response_body_capped(fake: FakeProcessors) -> None:
    client = OutboundClient(LOOPBACK_ALLOWED)

    response = client.request("POST", f"{fake.url}/large", body=b"{}")

    assert response.truncated
    assert len(response.body) == MAX_RESPONSE_BYTES


def test_slow_server_times_out(fake: FakeProcessors) -> None:
    fake.state.delay_seconds = 1.0
    settings = LOOPBACK_ALLOWED.model_copy(update={"processor_timeout_seconds": 0.2})

    with pytest.raises(OutboundError) as caught:
        OutboundClient(settings).request("POST", f"{fake.url}/hook", body=b"{}")

    assert caught.value.reason == "timeout"


def test_closed_port_connection_failed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.

    with pytest.raises(OutboundError) as caught:
        OutboundClient(LOOPBACK_ALLOWED).request("POST", f"http://127.0.0.1:{port}/", body=b"")

    assert caught.value.reason == "connection_failed"


# TLS: a loopback HTTPS server with a certificate made for the test. ---------------


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / f"{name}.pem"
    key_path = folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _OkHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str | None]]]:
    cert, key = make_certificate(tmp_path, "processor.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sni: list[str | None] = []

    def remember(sock: Any, name: str | None, ctx: Any) -> None:
        sni.append(name)

    context.sni_callback = remember
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield int(server.server_address[1]), cert, sni
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_tls_checks_name_not_address(tls_server: tuple[int, Path, list[str | None]]) -> None:
    port, cert, sni = tls_server
    trust = ssl.create_default_context(cafile=str(cert))
    client = OutboundClient(
        LOOPBACK_ALLOWED, resolver=lambda host, port: ["127.0.0.1"], tls_context=trust
    )

    response = client.request("POST", f"https://processor.test:{port}/hook", body=b"{}")

    assert response.status == 204
    assert sni == ["processor.test"]


def test_tls_wrong_name_fails(tls_server: tuple[int, Path, list[str | None]]) -> None:
    port, cert, _ = tls_server
    trust = ssl.create_default_context(cafile=str(cert))
    client = OutboundClient(
        LOOPBACK_ALLOWED, resolver=lambda host, port: ["127.0.0.1"], tls_context=trust
    )

    with pytest.raises(OutboundError) as caught:
        client.request("POST", f"https://other.test:{port}/hook", body=b"{}")

    assert caught.value.reason == "tls_failed"


def test_tls_untrusted_certificate_fails(tls_server: tuple[int, Path, list[str | None]]) -> None:
    port, _, _ = tls_server
    client = OutboundClient(LOOPBACK_ALLOWED, resolver=lambda host, port: ["127.0.0.1"])

    with pytest.raises(OutboundError) as caught:
        client.request("POST", f"https://processor.test:{port}/hook", body=b"{}")

    assert caught.value.reason == "tls_failed"
