"""Outgoing fetches of the bounce webhooks follow no redirect (server-side request forgery)."""

from __future__ import annotations

import threading
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from suppression.bounces.webhooks import ses, sns_subscription

CERTIFICATE = b"-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n"


class _Handler(BaseHTTPRequestHandler):
    requested: list[str]

    def do_GET(self) -> None:
        self.requested.append(self.path)
        if self.path.startswith("/moved"):
            # An attacker-controlled host would point here at an internal address.
            self.send_response(302)
            self.send_header("Location", "/internal")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(CERTIFICATE)))
        self.end_headers()
        self.wfile.write(CERTIFICATE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    requested: list[str] = []
    handler = type("Handler", (_Handler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ses._fetch_https.cache_clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        ses._fetch_https.cache_clear()


def test_certificate_fetch_reads_a_direct_answer(loopback: tuple[str, list[str]]) -> None:
    base, requested = loopback

    assert ses._fetch_https(f"{base}/cert.pem") == CERTIFICATE
    assert requested == ["/cert.pem"]


def test_certificate_fetch_rejects_redirect(loopback: tuple[str, list[str]]) -> None:
    base, requested = loopback

    with pytest.raises(urllib.error.HTTPError) as raised:
        ses._fetch_https(f"{base}/moved/cert.pem")

    assert raised.value.code == 302
    assert requested == ["/moved/cert.pem"]


def test_subscription_confirm_rejects_redirect(loopback: tuple[str, list[str]]) -> None:
    base, requested = loopback

    with pytest.raises(urllib.error.HTTPError):
        sns_subscription.confirm_https(f"{base}/moved/confirm")

    assert requested == ["/moved/confirm"]
