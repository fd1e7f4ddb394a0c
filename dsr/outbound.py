"""An HTTP client for processor calls that cannot be pointed at internal services (SSRF).

A processor URL is chosen by the sender's DPO, so a careless or hostile value
could make Sendguard call its own database, a cloud metadata service
(169.254.169.254) or an intranet host. Every URL is checked twice: when the
processor is registered and again before each call, because DNS answers change.

The client uses ``http.client`` from the standard library rather than httpx.
Its connection subclass opens the TCP socket to the address that passed the
check. It still sends the host name in the Host header and in TLS SNI, and
checks the certificate against that name. Pinning the address this way
defeats DNS rebinding (a second resolution that returns another address).
httpx offers no public hook to choose the peer address of a connection.
``http.client`` never follows redirects, so a 3xx response is returned as is.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from compliance.core.settings import Settings

# A processor's response is a small JSON document, so no more is read.
MAX_RESPONSE_BYTES = 64 * 1024
MAX_URL_LENGTH = 500

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Return the addresses a host name resolves to (injected by tests).
Resolver = Callable[[str, int], list[str]]

# RFC 6598 shared address space (carrier-grade NAT): not global, not private either.
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
# RFC 6052 NAT64 well-known prefix: the last 32 bits are an IPv4 address.
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundError(Exception):
    """A processor call or URL was rejected or failed.

    ``reason`` is a fixed code that contains no personal data and no part of
    the URL, so it can be stored in a task's last_error and logged:
    ``invalid_url``, ``scheme_not_allowed``, ``userinfo_not_allowed``,
    ``host_missing``, ``host_not_resolved``, ``address_not_allowed``,
    ``timeout``, ``connection_failed``, ``tls_failed``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ConnectFailed(OutboundError):
    """No TCP connection to one address; the next resolved address may be tried."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to send as host name and path."""

    scheme: str
    host: str
    port: int
    # The request target: path and query, "/" when the URL has no path.
    path: str


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    # At most MAX_RESPONSE_BYTES; ``truncated`` is set when the body was longer.
    body: bytes
    truncated: bool


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the operating system's resolver (getaddrinfo)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundError("host_not_resolved") from None
    # sockaddr[0] is the address text for both AF_INET and AF_INET6.
    return [str(info[4][0]) for info in infos]


def parse_url(url: str, settings: Settings) -> Target:
    """Check the parts of ``url`` that need no DNS; raise :class:`OutboundError`."""
    if len(url) > MAX_URL_LENGTH or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise OutboundError("invalid_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundError("invalid_url") from None

    allowed = {"https", "http"} if settings.processor_allow_http else {"https"}
    if parts.scheme not in allowed:
        raise OutboundError("scheme_not_allowed")

    # Credentials in the URL would be sent to the host, whatever it is, and
    # "https://trusted@evil" misleads a reader about the host (RFC 3986 3.2.1).
    if "@" in parts.netloc:
        raise OutboundError("userinfo_not_allowed")

    host = parts.hostname or ""
    if not host:
        raise OutboundError("host_missing")
    if parts.fragment:
        raise OutboundError("invalid_url")

    default_port = 443 if parts.scheme == "https" else 80
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, host, port or default_port, path)


def address_rejection(address: IPAddress, *, allow_private: bool) -> str | None:
    """Return why ``address`` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d: judge that host.
        return address_rejection(address.ipv4_mapped, allow_private=allow_private)
    for embedded in _embedded_ipv4(address):
        if address_rejection(embedded, allow_private=allow_private) is not None:
            return "address_not_allowed"

    # Rejected even in tests. Link-local includes the cloud metadata service
    # (169.254.169.254), and multicast and unspecified addresses name no
    # single server.
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return "address_not_allowed"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "address_not_allowed"

    # Loopback (checked before "reserved", which contains ::1), RFC 1918 and
    # RFC 4193 (fc00::/7): allowed only when the test setting allows them.
    if address.is_loopback:
        return None if allow_private else "address_not_allowed"
    if address.is_reserved:
        return "address_not_allowed"
    if address.is_private:
        return None if allow_private else "address_not_allowed"
    if not address.is_global:
        return "address_not_allowed"
    return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address is relayed to (6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64_PREFIX:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def resolve_checked(target: Target, settings: Settings, resolver: Resolver) -> list[str]:
    """Resolve the target's host and return its addresses when every one is allowed.

    One forbidden address rejects the host: a name that resolves to a public
    and a private address could otherwise be aimed at the private one.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    addresses = [target.host] if literal is not None else resolver(target.host, target.port)
    if not addresses:
        raise OutboundError("host_not_resolved")

    for text in addresses:
        # getaddrinfo may append a zone ("fe80::1%eth0") to link-local addresses.
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = address_rejection(address, allow_private=settings.processor_allow_private_networks)
        if reason is not None:
            raise OutboundError(reason)
    return addresses


def check_url(url: str, settings: Settings, resolver: Resolver = system_resolver) -> Target:
    """Check ``url`` fully (syntax and resolved addresses); raise :class:`OutboundError`."""
    target = parse_url(url, settings)
    resolve_checked(target, settings, resolver)
    return target


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address; ``host`` still names the server."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed address, with SNI and certificate check for ``host``."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            # server_hostname sets SNI and makes the context check the
            # certificate against the host name, not the address we dialled.
            self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class OutboundClient:
    """Send one request to a processor after checking its URL and pinning the address."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver = system_resolver,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._tls_context = tls_context or ssl.create_default_context()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send ``method`` to ``url`` and return the response; raise :class:`OutboundError`.

        Any status, 3xx included, is returned: the caller decides what it means.
        """
        target = parse_url(url, self._settings)
        addresses = resolve_checked(target, self._settings, self._resolver)
        timeout = self._settings.processor_timeout_seconds
        deadline = time.monotonic() + timeout

        for address in addresses:
            connection = self._connection(target, address, timeout)
            try:
                return self._exchange(connection, method, target, headers or {}, body, deadline)
            except _ConnectFailed:
                # Only a failed connect moves on to the next checked address:
                # once the request is sent, a second try could repeat its effect.
                continue
            finally:
                connection.close()
        raise OutboundError("connection_failed")

    def _connection(
        self, target: Target, address: str, timeout: float
    ) -> http.client.HTTPConnection:
        if target.scheme == "https":
            return _PinnedHTTPSConnection(
                target.host, target.port, address, timeout, self._tls_context
            )
        return _PinnedHTTPConnection(target.host, target.port, address, timeout)

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: Target,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
    ) -> Response:
        try:
            connection.connect()
        except ssl.SSLError:
            raise OutboundError("tls_failed") from None
        except TimeoutError:
            raise OutboundError("timeout") from None
        except OSError:
            raise _ConnectFailed("connection_failed") from None

        try:
            connection.request(method, target.path, body=body, headers=dict(headers))
            _limit_socket_time(connection, deadline)
            response = connection.getresponse()
            payload, truncated = _read_capped(connection, response, deadline)
        except TimeoutError:
            raise OutboundError("timeout") from None
        except ssl.SSLError:
            raise OutboundError("tls_failed") from None
        except (OSError, http.client.HTTPException):
            raise OutboundError("connection_failed") from None
        return Response(response.status, dict(response.getheaders()), payload, truncated)


def _limit_socket_time(connection: http.client.HTTPConnection, deadline: float) -> None:
    # The socket timeout bounds each read; the deadline bounds the whole
    # exchange, so a server that trickles one byte per read cannot hold the worker.
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def _read_capped(
    connection: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_RESPONSE_BYTES:
        _limit_socket_time(connection, deadline)
        chunk = response.read1(MAX_RESPONSE_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
