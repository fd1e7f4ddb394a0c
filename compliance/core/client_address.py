"""The client address that every rate limit is keyed on.

uvicorn resolves it before the app runs. With ``SENDGUARD_TRUSTED_PROXIES``
empty, ``sendguard serve`` turns forwarded headers off, so the address is
the TCP peer. With it set, uvicorn replaces the address with the one a
listed proxy put in ``X-Forwarded-For``: the last entry not sent by a
trusted proxy, so that entries a client wrote itself are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

# Placeholder for a request without a client address (over a Unix socket,
# for example). Every such request shares one rate-limit budget.
UNKNOWN_CLIENT = "unknown"


def client_address(request: Request) -> str:
    """Return the IP address of the client as resolved by the server."""
    return request.client.host if request.client else UNKNOWN_CLIENT


@dataclass(frozen=True)
class ProxyOptions:
    """The ``uvicorn.run`` options of the same names."""

    proxy_headers: bool
    forwarded_allow_ips: list[str]


def uvicorn_proxy_options(trusted_proxies: list[str]) -> ProxyOptions:
    """Return the uvicorn options that trust forwarded headers from these proxies only.

    uvicorn's own default (0.55) trusts ``X-Forwarded-For`` from 127.0.0.1 and ::1,
    so the headers are turned off explicitly when no proxy is listed.
    """
    return ProxyOptions(proxy_headers=bool(trusted_proxies), forwarded_allow_ips=trusted_proxies)
