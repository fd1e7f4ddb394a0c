"""Outgoing mail transports: an SMTP relay, or a folder of ``.eml`` files."""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT_SECONDS = 30


class MailTransport(Protocol):
    def send(self, message: EmailMessage, message_id: str) -> None: ...

    def describe(self) -> str: ...


class TransportError(Exception):
    """The relay rejected or could not take the message; the outbox retries later."""


@dataclass(frozen=True)
class FolderTransport:
    """Write each message to ``<folder>/<message id>.eml`` (development default)."""

    folder: Path

    def send(self, message: EmailMessage, message_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message_id}.eml"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(message.as_bytes())
        # Rename last, so a reader of the folder never reads a partial message.
        os.replace(temporary, target)

    def describe(self) -> str:
        return f"folder {self.folder}"


@dataclass(frozen=True)
class SmtpTransport:
    """Send through an SMTP relay: ``smtp://``, ``smtp+starttls://`` or ``smtps://``."""

    url: str

    def send(self, message: EmailMessage, message_id: str) -> None:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        secure = parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        context = ssl.create_default_context()

        client: smtplib.SMTP
        try:
            if secure:
                client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
            with client:
                if parts.scheme == "smtp+starttls":
                    client.starttls(context=context)
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                envelope_from = parseaddr(str(message["From"]))[1]
                recipients = [parseaddr(str(value))[1] for value in message.get_all("To", [])]
                client.send_message(message, from_addr=envelope_from, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as error:
            # Only the error class and SMTP code travel: the server's text may
            # repeat the recipient address.
            code = getattr(error, "smtp_code", None)
            raise TransportError(f"{type(error).__name__}{f' {code}' if code else ''}") from None

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"SMTP relay {parts.hostname}:{parts.port or 25}"


def make_transport(smtp_url: str, outbox_dir: Path) -> MailTransport:
    if not smtp_url:
        return FolderTransport(outbox_dir)
    scheme = urlsplit(smtp_url).scheme
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError(
            f"SENDGUARD_SMTP_URL scheme {scheme!r} is not supported; use smtp://, "
            "smtp+starttls:// or smtps://"
        )
    return SmtpTransport(smtp_url)
