"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Collector:
    def __init__(self, refuse_recipients: bool) -> None:
        self.refuse_recipients = refuse_recipients
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            self.raw.append(content)
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append(
                (str(envelope.mail_from), [str(rcpt) for rcpt in envelope.rcpt_tos])
            )
        return "250 Message accepted"


class LoopbackSmtpServer:
    """Start with ``with LoopbackSmtpServer() as smtp:``; ``smtp.url`` is the relay URL."""

    def __init__(self, *, refuse_recipients: bool = False) -> None:
        self.port = free_port()
        self._collector = _Collector(refuse_recipients)
        self._controller = Controller(
            self._collector, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._collector.messages)

    @property
    def raw(self) -> list[bytes]:
        return list(self._collector.raw)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Wait until ``count`` messages have arrived and return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self._collector.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} messages within {timeout}s, got {len(self._collector.messages)}"
        )

    def __enter__(self) -> LoopbackSmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        self._controller.stop()
