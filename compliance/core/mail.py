"""Outgoing mail: building messages for the wire, and the transports that carry them.

A message is serialised once, when it is queued, and those exact bytes are
what the transport sends, so no later step can re-fold or re-encode a
header such as ``List-Unsubscribe``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import idna

SMTP_TIMEOUT_SECONDS = 30

# RFC 5322 2.1.1: a line is at most 998 characters. Folding at 78 would
# split long URIs, and the email package then falls back to RFC 2047
# encoded words, which mailbox providers cannot read in List-Unsubscribe.
ASCII_POLICY = policy.SMTP.clone(max_line_length=998)
# RFC 6532: UTF-8 in headers, for a recipient whose local part is not ASCII.
UTF8_POLICY = policy.SMTPUTF8.clone(max_line_length=998)


@dataclass(frozen=True)
class Recipient:
    header: str
    # True when the address needs an SMTPUTF8 relay (RFC 6531).
    needs_smtputf8: bool


def recipient(address: str) -> Recipient:
    """Return the ``To`` value for ``address``: IDN domains as A-labels (RFC 5890).

    Only a non-ASCII local part needs SMTPUTF8; a non-ASCII domain is
    converted and stays deliverable through any relay.
    """
    local, _, domain = address.strip().rpartition("@")
    ascii_domain = (
        idna.encode(domain, uts46=True).decode("ascii") if not domain.isascii() else domain
    )
    return Recipient(f"{local}@{ascii_domain}", needs_smtputf8=not local.isascii())


def new_message(to: Recipient) -> EmailMessage:
    return EmailMessage(policy=UTF8_POLICY if to.needs_smtputf8 else ASCII_POLICY)


def sender_address(display_name: str, mail_from: str) -> Address:
    _, address = parseaddr(mail_from)
    username, _, domain = address.partition("@")
    return Address(
        display_name=display_name, username=username or "no-reply", domain=domain or "localhost"
    )


class MailTransport(Protocol):
    def send(self, raw: bytes, message_id: str) -> None: ...

    def forget(self, message_ids: list[str]) -> None: ...

    def describe(self) -> str: ...


class TransportError(Exception):
    """The relay did not take the message.

    ``permanent`` is True for a 5xx reply or a capability the relay lacks:
    retrying cannot succeed, so the outbox stops at once.
    """

    def __init__(self, reason: str, *, permanent: bool, recipient_refused: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        # True when the relay refused the recipient address itself (RCPT TO).
        self.recipient_refused = recipient_refused


@dataclass(frozen=True)
class FolderTransport:
    """Write each message to ``<folder>/<message id>.eml`` (development default)."""

    folder: Path

    def send(self, raw: bytes, message_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message_id}.eml"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(raw)
        # Rename last, so a reader of the folder never reads a partial message.
        os.replace(temporary, target)

    def forget(self, message_ids: list[str]) -> None:
        """Delete the files of erased messages: the folder is a copy of personal data."""
        for message_id in message_ids:
            (self.folder / f"{message_id}.eml").unlink(missing_ok=True)

    def describe(self) -> str:
        return f"folder {self.folder}"


@dataclass(frozen=True)
class SmtpTransport:
    """Send through an SMTP relay: ``smtp://``, ``smtp+starttls://`` or ``smtps://``."""

    url: str

    def send(self, raw: bytes, message_id: str) -> None:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        secure = parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        context = ssl.create_default_context()
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        envelope_from = parseaddr(str(headers["From"]))[1]
        recipients = [
            address
            for _, address in getaddresses([str(value) for value in headers.get_all("To", [])])
        ]
        header_block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]

        client: smtplib.SMTP
        try:
            if secure:
                client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
            with client:
                client.ehlo()
                if parts.scheme == "smtp+starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                options = self._mail_options(client, raw, header_block)
                client.sendmail(envelope_from, recipients, raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            permanent = all(code >= 500 for code in codes)
            raise TransportError(
                f"SMTPRecipientsRefused {codes}", permanent=permanent, recipient_refused=permanent
            ) from None
        except smtplib.SMTPResponseException as error:
            # Only the class and the code travel: the server's text may
            # repeat the recipient address.
            raise TransportError(
                f"{type(error).__name__} {error.smtp_code}", permanent=error.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransportError(type(error).__name__, permanent=False) from None

    @staticmethod
    def _mail_options(client: smtplib.SMTP, raw: bytes, header_block: bytes) -> list[str]:
        options: list[str] = []
        if not header_block.isascii():
            if not client.has_extn("smtputf8"):
                raise TransportError("SMTPUTF8 not offered by the relay", permanent=True)
            options.append("SMTPUTF8")
        if not raw.isascii():
            # RFC 6152: 8-bit body text needs the relay's 8BITMIME extension.
            if not client.has_extn("8bitmime"):
                raise TransportError("8BITMIME not offered by the relay", permanent=True)
            options.append("BODY=8BITMIME")
        return options

    def forget(self, message_ids: list[str]) -> None:
        """Nothing to delete: the relay keeps no copy that this process can reach."""

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"SMTP relay {parts.hostname}:{parts.port or 25}"


def make_transport(smtp_url: str, outbox_dir: Path) -> MailTransport:
    if not smtp_url:
        return FolderTransport(outbox_dir)
    scheme = urlsplit(smtp_url).scheme
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError(
            f"SENDGUARD_SMTP_URL scheme {scheme!r} is not supported; "
            "use smtp://, smtp+starttls:// or smtps://"
        )
    return SmtpTransport(smtp_url)
