"""The parts of an email that the content checks read: HTML body, text body and headers."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage, Message


class HeaderMap(Mapping[str, str]):
    """Read-only headers looked up without regard to case, as RFC 5322 field names are.

    When a header occurs more than once, the first occurrence is kept.
    """

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        self._names: dict[str, str] = {}
        for name, value in (headers or {}).items():
            self._add(name, value)

    @classmethod
    def from_pairs(cls, pairs: Iterator[tuple[str, str]]) -> HeaderMap:
        """Build the map from (name, value) pairs in message order."""
        headers = cls()
        for name, value in pairs:
            headers._add(name, value)
        return headers

    def _add(self, name: str, value: str) -> None:
        key = name.lower()
        if key not in self._values:
            self._values[key] = value
            self._names[key] = name

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


@dataclass(frozen=True)
class MessageParts:
    """The HTML and plain-text bodies of a message (None when absent) and its headers."""

    html: str | None
    text: str | None
    headers: HeaderMap = field(default_factory=HeaderMap)
    # Names of the MIME defects the parser met (email.errors classes), for
    # a message given as raw bytes.
    defects: tuple[str, ...] = ()


def parse_message(message: bytes | EmailMessage) -> MessageParts:
    """Extract the bodies and headers of a message given as raw bytes or as an ``EmailMessage``.

    The bodies are the parts a mail client would display: the preferred
    ``text/html`` and ``text/plain`` parts, not attachments.

    :raises TypeError: when ``message`` is neither bytes nor an ``EmailMessage``.
    """
    if isinstance(message, bytes | bytearray):
        parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    elif isinstance(message, EmailMessage):
        parsed = message
    else:
        raise TypeError(
            "message must be the raw bytes of an .eml file or an email.message.EmailMessage "
            f"(parsed with policy=email.policy.default), not {type(message).__name__}"
        )
    assert isinstance(parsed, EmailMessage)  # guaranteed by policy=default

    headers = HeaderMap.from_pairs((name, str(value)) for name, value in parsed.items())
    defects = tuple(type(defect).__name__ for part in parsed.walk() for defect in part.defects)
    return MessageParts(
        html=_body_text(parsed.get_body(preferencelist=("html",))),
        text=_body_text(parsed.get_body(preferencelist=("plain",))),
        headers=headers,
        defects=defects,
    )


def _body_text(part: Message | None) -> str | None:
    if part is None:
        return None
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            content = None  # unknown charset or broken encoding: decode by hand below
        if isinstance(content, str):
            return content

    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")
