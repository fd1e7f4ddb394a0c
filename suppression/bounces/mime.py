"""Walk a raw message's MIME tree with bounded memory and time.

A bounce carries its report near the start and the returned message after
it, sometimes with gigantic attachments. Only the first ``MAX_MESSAGE_BYTES``
are parsed, at most ``MAX_PARTS`` parts are visited, nesting stops at
``MAX_DEPTH``, and each decoded text is cut at ``MAX_TEXT_CHARS``. Truncated
or malformed MIME never raises: what cannot be read is skipped.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

from suppression.bounces import mimesplit

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_PARTS = 128
MAX_DEPTH = 8
MAX_TEXT_CHARS = 256 * 1024

_REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
_FEEDBACK_TYPES = ("message/feedback-report",)
_ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers")


@dataclass
class Walked:
    """The parts of a message that classification reads, in document order."""

    headers: Message
    # Decoded text/* parts before the returned message, the human-readable report.
    texts: list[str] = field(default_factory=list)
    # Raw text of each message/delivery-status part (RFC 3464 section 2.1).
    delivery_status: list[str] = field(default_factory=list)
    # Raw text of each message/feedback-report part (RFC 5965 section 3).
    feedback: list[str] = field(default_factory=list)
    # Header block of the returned message (message/rfc822 or text/rfc822-headers).
    original: Message | None = None
    content_type: str = ""
    report_type: str = ""
    # Set when a part that classification reads was cut at a bound (MAX_TEXT_CHARS, the
    # MAX_MESSAGE_BYTES cut of the input) or MAX_PARTS stopped the walk: recipients after
    # the cut were not read.
    truncated: bool = False
    # Which list the last leaf part visited went to ("delivery_status", "feedback",
    # "texts"), or "" for a part that was skipped or the returned message.
    last_read: str = ""
    # Whether that part was already cut at MAX_TEXT_CHARS and its partial end dropped.
    last_cut: bool = False


def header_text(message: Message, name: str) -> str:
    """Return a header as text, decoding RFC 2047 words; never raises on bad input."""
    value = message.get(name)
    if value is None:
        return ""
    return value_text(value)


def value_text(value: object) -> str:
    """Return one header value as text, decoding RFC 2047 words; never raises on bad input."""
    try:
        if isinstance(value, email.header.Header):
            # compat32 wraps a header with raw 8-bit bytes as charset "unknown-8bit";
            # such bytes are UTF-8 far more often than anything else.
            text = "".join(
                chunk.decode(_known(charset), "replace") if isinstance(chunk, bytes) else chunk
                for chunk, charset in email.header.decode_header(value)
            )
            return text
        text = str(value)
        if "=?" in text:
            pieces = email.header.decode_header(text)
            text = "".join(
                chunk.decode(charset or "utf-8", "replace") if isinstance(chunk, bytes) else chunk
                for chunk, charset in pieces
            )
    except (LookupError, ValueError, UnicodeError, TypeError, email.errors.HeaderParseError):
        # decode_header raises HeaderParseError for an encoded word with bad base64.
        return str(value).encode("utf-8", "replace").decode("utf-8", "replace")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _known(charset: str | None) -> str:
    return "utf-8" if charset in (None, "unknown-8bit") else str(charset)


# Seven-bit encodings: a payload with 8-bit bytes under such a label was re-encoded
# on the way (often to UTF-8) without its label being changed.
_SEVEN_BIT_CHARSETS = frozenset({"iso-2022-jp", "iso-2022-kr", "us-ascii", "ascii"})


def decode_part(part: Message) -> str:
    """Decode a leaf part's payload to text, replacing what its charset cannot map."""
    return decode_bounded(part)[0]


def decode_bounded(part: Message, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """Decode a leaf part to at most ``limit`` characters; the flag is true when it was cut."""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        if not isinstance(raw, str):
            return "", False
        return raw[:limit], len(raw) > limit
    cut = len(payload) > limit * 2
    payload = payload[: limit * 2]
    charset = part.get_content_charset() or "utf-8"
    if charset in _SEVEN_BIT_CHARSETS and not payload.isascii():
        charset = "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, ValueError):
        # An unknown or misspelt charset name: read the bytes as UTF-8.
        text = payload.decode("utf-8", "replace")
    return text[:limit], cut or len(text) > limit


def parse(raw: bytes) -> Message:
    """Parse the bounded prefix of ``raw``; compat32 keeps 8-bit headers as they came."""
    return email.message_from_bytes(raw[:MAX_MESSAGE_BYTES], policy=email.policy.compat32)


_BOUNDARY_LINE = re.compile(rb"(?m)^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$")


_DECLARED_BOUNDARY = re.compile(rb'(?i)(boundary\s*=\s*)(?:"[^"\r\n]*"|[^\s;]+)')


def _with_found_boundary(message: Message, raw: bytes) -> Message:
    """Reparse a multipart message whose declared boundary never occurs in its body.

    Some MTAs (and hand-edited samples) declare one boundary and use another;
    the first ``--token`` line of the body is then the boundary in use (RFC 2046 5.1.1).
    """
    data = raw[:MAX_MESSAGE_BYTES]
    end = data.find(b"\n\n")
    crlf_end = data.find(b"\r\n\r\n")
    if end < 0 or (0 <= crlf_end < end):
        end = crlf_end
    if end < 0:
        return message
    head, body = data[:end], data[end:]
    match = _BOUNDARY_LINE.search(body)
    if match is None:
        return message
    token = match.group(1).replace(b"\\", b"")
    fixed, count = _DECLARED_BOUNDARY.subn(
        lambda found: found.group(1) + b'"' + token + b'"', head, 1
    )
    return parse(fixed + body) if count else message


# Matched only at a line start (checked by the caller): a leading (?m)^ would stop the
# regex engine from scanning for the literal prefix, which is several times slower.
_ORIGINAL_PART = re.compile(
    rb"content-type:[ \t]*(?:message/rfc822|message/global|text/rfc822-headers)\b"
)
_BLANK_LINE = re.compile(rb"\r?\n[ \t]*\r?\n")
_FORWARDED_REPORT = re.compile(rb"(?i)content-type:[ \t]*multipart/report")


def without_returned_body(raw: bytes) -> bytes:
    """Cut ``raw`` after the header block of the returned message.

    Classification reads only those headers (Message-ID, campaign), and the
    walk stops at that part, so parsing the returned body, often the largest
    part, is wasted. A returned message that is itself a report (a relay's
    bounce that carries the next hop's) is kept whole.
    """
    # Lower-cased bytes keep their offsets, and a case-sensitive search is faster.
    found = _original_part(raw[:MAX_MESSAGE_BYTES].lower())
    if found is None:
        return raw
    part_headers_end = _BLANK_LINE.search(raw, found.end())
    if part_headers_end is None:
        return raw
    returned_headers_end = _BLANK_LINE.search(raw, part_headers_end.end())
    if returned_headers_end is None:
        return raw
    if _FORWARDED_REPORT.search(raw, part_headers_end.end(), returned_headers_end.start()):
        return raw
    return raw[: returned_headers_end.start()] + b"\n"


def _original_part(lowered: bytes) -> re.Match[bytes] | None:
    """Return the first Content-Type line of a returned message, or ``None``."""
    for found in _ORIGINAL_PART.finditer(lowered):
        if found.start() == 0 or lowered[found.start() - 1] == 0x0A:
            return found
    return None


def walk(raw: bytes) -> Walked:
    """Collect the report texts, DSN and ARF blocks and the returned message's headers."""
    raw = without_returned_body(raw)
    message = mimesplit.split(raw[:MAX_MESSAGE_BYTES]) or parse(raw)
    if message.get_content_maintype() == "multipart" and not message.is_multipart():
        message = _with_found_boundary(message, raw)
    walked = walk_message(message)
    if len(raw) > MAX_MESSAGE_BYTES:
        # The cut falls in the last leaf part. When classification reads that part, its
        # last line or report block may be partial.
        _drop_cut_end(walked)
    return walked


def _drop_cut_end(walked: Walked) -> None:
    if walked.last_cut:
        return
    if walked.last_read == "delivery_status":
        walked.delivery_status[-1] = complete_blocks(walked.delivery_status[-1])
    elif walked.last_read == "feedback":
        walked.feedback[-1] = complete_blocks(walked.feedback[-1])
    elif walked.last_read == "texts":
        walked.texts[-1] = complete_lines(walked.texts[-1])
    else:
        return
    walked.truncated = True


# Blocks of RFC 3464 and RFC 5965 fields are separated by blank lines.
_BLOCK_SEPARATOR = re.compile(r"\n[ \t]*\n")


def complete_blocks(text: str) -> str:
    """Drop the last block of a cut report: the fields after the cut are missing from it."""
    starts = [found.start() for found in _BLOCK_SEPARATOR.finditer(text)]
    return text[: starts[-1]] if starts else ""


def complete_lines(text: str) -> str:
    """Drop the last line of a cut text: an address or reply in it may be partial."""
    return text[: text.rfind("\n") + 1]


def walk_message(message: Message) -> Walked:
    """Walk an already parsed message, such as a bounce forwarded as an attachment."""
    walked = Walked(headers=message, content_type=message.get_content_type())
    report_type = message.get_param("report-type") if message.is_multipart() else None
    if isinstance(report_type, tuple):
        report_type = report_type[2]
    walked.report_type = report_type or ""
    budget = [MAX_PARTS]
    _visit(message, walked, 0, budget)
    return walked


def _visit(part: Message, walked: Walked, depth: int, budget: list[int]) -> None:
    if walked.original is not None:
        return
    walked.last_read = ""
    walked.last_cut = False
    if depth > MAX_DEPTH:
        return
    if budget[0] <= 0:
        walked.truncated = True
        return
    budget[0] -= 1
    kind = part.get_content_type()

    if kind in _ORIGINAL_TYPES:
        walked.original = _original_headers(part)
        return
    if kind in _REPORT_TYPES or kind in _FEEDBACK_TYPES:
        text, cut = _raw_text(part)
        if cut:
            # Keep whole blocks only: a recipient block cut after its Final-Recipient
            # field would be read without its Action, Status and Diagnostic-Code.
            text = complete_blocks(text)
            walked.truncated = walked.last_cut = True
        if kind in _REPORT_TYPES:
            walked.delivery_status.append(text)
            walked.last_read = "delivery_status"
        else:
            walked.feedback.append(text)
            walked.last_read = "feedback"
        return
    if part.is_multipart():
        children = part.get_payload()
        if isinstance(children, list):
            for child in children:
                if isinstance(child, Message):
                    _visit(child, walked, depth + 1, budget)
        return
    maintype = kind.partition("/")[0]
    if maintype == "multipart":
        # A multipart part whose boundary is missing or never used: its body is
        # still the report, read as plain text.
        _add_text(walked, *decode_bounded(part))
        return
    if maintype == "text" and "attachment" not in (part.get("content-disposition") or "").lower():
        text, cut = decode_bounded(part)
        if kind == "text/html":
            text = _strip_tags(text)
        _add_text(walked, text, cut)


def _add_text(walked: Walked, text: str, cut: bool) -> None:
    if cut:
        text = complete_lines(text)
        walked.truncated = walked.last_cut = True
    walked.texts.append(text)
    walked.last_read = "texts"


def _raw_text(part: Message) -> tuple[str, bool]:
    """Return a report part's fields as text, and whether MAX_TEXT_CHARS cut it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # compat32 parses each RFC 3464 block as a header block of its own.
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                # items(), not a lookup by name: a field may repeat (RFC 5965 section 3.2).
                lines = [f"{name}: {value_text(value)}" for name, value in block.items()]
                blocks.append("\n".join(lines))
        joined = "\n\n".join(blocks)
        if len(joined) <= MAX_TEXT_CHARS:
            return joined, False
        # Two characters more: a block that ends at the bound keeps its blank line, so
        # complete_blocks keeps it.
        return (joined + "\n\n")[: MAX_TEXT_CHARS + 2], True
    # The same text as the parsed blocks give: LF line ends, no trailing blank lines.
    # Four characters more for the same reason, with CRLF line ends.
    text, cut = decode_bounded(part, MAX_TEXT_CHARS + 4)
    if cut or len(text) > MAX_TEXT_CHARS:
        return text.replace("\r\n", "\n"), True
    return text.replace("\r\n", "\n").strip("\n"), False


def _original_headers(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = decode_part(part)
    return email.message_from_string(text[:MAX_TEXT_CHARS], policy=email.policy.compat32)


def _strip_tags(html: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", text)
    text = re.sub(r"<[^>]{0,2000}>", " ", text)
    return (
        text.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
