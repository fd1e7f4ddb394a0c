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
_HEADER_END = re.compile(rb"\r?\n\r?\n")
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
    found = _HEADER_END.search(raw)
    if found is None or found.start() == 0 or depth > _MAX_SPLIT_DEPTH:
        return None
    if depth == 0 and raw.count(b"\r") != raw.count(b"\r\n"):
        # A bare CR ends a line for the email package, not for the cuts made here.
        return None

    message = _headers(raw[: found.start()])
    if message is None:
        return None
    body = raw[found.end() :]
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


# A header line as the email package's feed parser accepts one. Any other line there is
# a defect, so the message goes to the email package.
_OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e]")
_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+:")


def _headers(block: bytes) -> Message | None:
    """Parse a header block into the Message that compat32 would build, or ``None``."""
    text = block.decode("ascii", "surrogateescape")
    if _OTHER_LINE_BREAKS.search(text):
        # str.splitlines breaks lines at these too; the email package does not.
        return None
    lines = text.splitlines(keepends=True)
    message = Message()
    if lines and lines[0].startswith("From "):
        # The mbox "From " line (RFC 4155) is no header field.
        message.set_unixfrom(lines.pop(0).rstrip("\r\n"))
    fields: list[list[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                return None
            fields[-1].append(line)
        elif _FIELD_NAME.match(line):
            fields.append([line])
        else:
            return None
    for source in fields:
        # compat32's header_source_parse: the value keeps its folding, loses the line end.
        name, value = source[0].split(":", 1)
        message[name] = (value.lstrip(" \t") + "".join(source[1:])).rstrip("\r\n")
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
