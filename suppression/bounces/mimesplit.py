"""A fast top-level MIME splitter for the common shapes of a bounce.

The email package's feed parser reads a message line by line, which costs
more than all the rest of the classification. Most bounces are one header
block and a multipart body with a declared boundary (RFC 2046 section 5.1),
so this module cuts the body at its delimiter lines with ``bytes.find`` and
parses only the header blocks. It returns ``None`` whenever the shape is
unusual (no header end, header defects, a missing or unused boundary, deep
nesting), and the caller then parses the message with the email package.
"""

from __future__ import annotations

import re
from email.message import Message

# Deeper trees are rare in bounces; the email package handles them.
_MAX_SPLIT_DEPTH = 4
_MAX_SPLIT_PARTS = 32
# The blank line after a header block. The pattern starts with its first LF, not an
# optional CR, so the regex engine scans for that literal, and _header_end adds the CR.
_HEADER_END = re.compile(rb"\n\r?\n")
# RFC 2046 section 5.1.1: a boundary is 1 to 70 characters from this set.
_BOUNDARY_CHARS = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{1,70}")
_FIELD_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}
)
# A line that is neither a field, a folded continuation, nor blank (RFC 3464 section 2).
# The field name is what the email package's feed parser accepts: no space
# before the colon, so "Action : failed" goes to the email package.
_NOT_A_FIELD = re.compile(rb"(?m)^(?![\x21-\x39\x3b-\x7e]+:|[ \t]|\r?$)")
_ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global"})


def split(raw: bytes, depth: int = 0) -> Message | None:
    """Return ``raw`` parsed as compat32 would for its common shapes, or ``None``."""
    found = _header_end(raw)
    if found is None or found[0] == 0 or depth > _MAX_SPLIT_DEPTH:
        return None
    if depth == 0 and b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        # A bare CR ends a line for the email package, not for the cuts made here.
        return None

    message = _headers(raw[: found[0]])
    if message is None:
        return None
    body = raw[found[1] :]
    kind = message.get_content_type()

    if kind.startswith("multipart/"):
        return _multipart(message, body, depth)
    if kind in _ORIGINAL_TYPES:
        # Only the returned message's header block is read (see mime.without_returned_body).
        inner = split(body, depth + 1) if _HEADER_END.search(body) else _headers(body)
        if inner is None:
            return None
        message.set_payload([inner])
        return message
    if kind.startswith("message/") and kind not in _FIELD_TYPES:
        # The email package reads other message/* bodies as a nested message.
        return None
    if kind in _FIELD_TYPES and _NOT_A_FIELD.search(body):
        # A report block with a line that is no field: the email package decides where
        # the block ends, as it did before this splitter existed.
        return None
    # compat32 keeps a leaf's payload as text, 8-bit bytes as surrogate escapes.
    message.set_payload(body.decode("ascii", "surrogateescape"))
    return message


def _header_end(raw: bytes) -> tuple[int, int] | None:
    """Return the span of the first blank line, as ``\\r?\\n\\r?\\n`` would find it."""
    found = _HEADER_END.search(raw)
    if found is None:
        return None
    start = found.start()
    if start > 0 and raw[start - 1] == 0x0D:
        start -= 1
    return start, found.end()


# Line breaks other than CR, LF and CRLF. The fast path declines a header block that
# contains one and leaves it to the email package.
_OTHER_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_LINE_END = r"(?:\r\n?|\n)"
# One header field as the email package's feed parser accepts it: a name without spaces,
# a colon, and the value with its folded continuation lines. Groups: the whole field, the
# name, and the value without leading blanks or the last line end. The quantifiers are
# possessive, so a block that is no header block fails in linear time.
_FIELD = re.compile(
    rf"(([\041-\071\073-\176]++):[ \t]*+([^\r\n]*+(?:{_LINE_END}[ \t][^\r\n]*+)*+){_LINE_END}?)"
)
# The mbox "From " line (RFC 4155) that may open a block. It is no header field.
_UNIX_FROM = re.compile(rf"From [^\r\n]*+{_LINE_END}?")


def _headers(block: bytes) -> Message | None:
    """Parse a header block into the Message that compat32 would build, or ``None``."""
    text = block.decode("ascii", "surrogateescape")
    if any(map(text.__contains__, _OTHER_LINE_BREAKS)):
        return None
    message = Message()
    position = 0
    unix_from = _UNIX_FROM.match(text)
    if unix_from is not None:
        message.set_unixfrom(unix_from.group(0).rstrip("\r\n"))
        position = unix_from.end()
    fields = _FIELD.findall(text, position)
    # The matches do not overlap, so they cover the block exactly when their lengths add
    # up to its length. Anything else (a line that is no field, a continuation line
    # first) is a defect for the email package.
    if sum(len(whole) for whole, _, _ in fields) != len(text) - position:
        return None
    for _, name, value in fields:
        # compat32 stores what header_source_parse gives, unchanged: set_raw does the same.
        message.set_raw(name, value)
    return message


def _multipart(message: Message, body: bytes, depth: int) -> Message | None:
    boundary = message.get_boundary()
    if not boundary or not _BOUNDARY_CHARS.fullmatch(boundary) or boundary.endswith(" "):
        return None
    marks = _delimiters(body, b"--" + boundary.encode("ascii"))
    if marks is None or not marks or marks[0][2]:
        return None
    children: list[Message | str] = []
    for position, (_, line_end, closing) in enumerate(marks):
        if closing:
            break
        following = marks[position + 1] if position + 1 < len(marks) else None
        # The line end before a delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
        part = body[line_end : following[0] if following else len(body)]
        if following is not None or depth == 0:
            # At the end of the input the email package drops the last line end as well.
            # A nested body already lost it to its parent's delimiter.
            part = part[:-2] if part.endswith(b"\r\n") else part.removesuffix(b"\n")
        child = _headerless(part) if part[:1] in (b"\n", b"\r") else split(part, depth + 1)
        if child is None:
            return None
        children.append(child)
    if not children:
        return None
    message.set_payload(children)
    return message


def _delimiters(body: bytes, token: bytes) -> list[tuple[int, int, bool]] | None:
    """Return each delimiter line as (start, start of the next line, is the close delimiter).

    ``bytes.find`` rather than a regular expression: every message has its own
    boundary, and compiling a pattern for each costs more than the search.
    """
    marks: list[tuple[int, int, bool]] = []
    position = body.find(token)
    while position >= 0:
        line_end = body.find(b"\n", position)
        line = body[position + len(token) : line_end if line_end >= 0 else len(body)]
        closing = line.startswith(b"--")
        rest = line[2:] if closing else line
        if (position == 0 or body[position - 1 : position] == b"\n") and not rest.strip(b" \t\r"):
            if line_end < 0 and not closing:
                # A delimiter on the last line opens a part with nothing in it.
                return None
            marks.append((position, line_end + 1 if line_end >= 0 else len(body), closing))
            if closing or len(marks) > _MAX_SPLIT_PARTS:
                break
        position = body.find(token, position + len(token))
    return None if len(marks) > _MAX_SPLIT_PARTS else marks


def _headerless(part: bytes) -> Message | None:
    """Build a part without header lines: text/plain in US-ASCII (RFC 2046 section 5.1.1)."""
    body = part[2:] if part.startswith(b"\r\n") else part[1:]
    if body[:1] in (b"\n", b"\r"):
        return None
    message = Message()
    message.set_payload(body.decode("ascii", "surrogateescape"))
    return message
