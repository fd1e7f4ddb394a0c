"""Streaming JSON input: JSON Lines, and the items of arrays inside a JSON document.

ESP list responses wrap their array in an envelope (``{"items": [...],
"paging": {...}}``). The reader walks the document, decodes one array item at
a time and skips the rest, so memory depends on the largest item, not on the
file. RFC 8259 section 8.1 requires UTF-8, and a UTF-8 byte order mark is
dropped.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Collection, Iterator, MutableMapping
from dataclasses import dataclass
from typing import BinaryIO

from suppression.formats import faults
from suppression.formats.faults import MAX_ITEM_CHARS, MAX_LINE_BYTES
from suppression.formats.records import Fault, RejectedLine

JsonPath = tuple[str, ...]

_CHUNK_BYTES = 1 << 16
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()
# Besides JSONDecodeError, the json module raises ValueError for an integer
# longer than sys.get_int_max_str_digits() (4300 digits by default) and
# RecursionError for arrays or objects nested deeper than the recursion limit.
_UNREADABLE_JSON = (ValueError, RecursionError)


@dataclass(frozen=True)
class JsonItem:
    """A decoded JSON value and its 1-based line (JSON Lines) or item index (arrays)."""

    line: int
    value: object


def as_object(value: object) -> dict[str, object] | None:
    """Return ``value`` as a JSON object, or None when it is another type."""
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    return None


def text_of(item: dict[str, object], key: str) -> str:
    """Return a string or number member as text, and "" for anything else or a missing key."""
    value = item.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def flag_of(item: dict[str, object], key: str) -> bool:
    """Return a boolean member, accepting the string forms that Mailjet's docs show."""
    value = item.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or value == 1


def iter_json_lines(stream: BinaryIO) -> Iterator[JsonItem | RejectedLine]:
    """Yield the value of each non-blank line of a JSON Lines stream."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1

        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]

        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
            yield RejectedLine(number, "line", faults.LINE_TOO_LONG)
            continue

        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield RejectedLine(number, "line", faults.INVALID_UTF8)
            continue

        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except _UNREADABLE_JSON:
            yield RejectedLine(number, "line", faults.INVALID_JSON)
            continue
        yield JsonItem(number, value)


class _Malformed(Exception):
    """The document cannot be read further."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.code)
        self.fault = fault


def _may_be_cut(error: json.JSONDecodeError, text_length: int) -> bool:
    # A value cut by the end of the buffer fails near that end (a literal,
    # number or escape sequence cut short) or inside an unterminated string.
    # A fault further back is a syntax error that more text cannot fix.
    return text_length - error.pos < 16 or error.msg.startswith("Unterminated string")


class _TextBuffer:
    """The decoded text of a binary stream, read in chunks as the scanner needs it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Append the next chunk and drop consumed text; return False at the end."""
        if self.eof:
            return False
        self.text = self.text[self.pos :]
        self.pos = 0
        data = self._stream.read(_CHUNK_BYTES)
        try:
            self.text += self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _Malformed(faults.INVALID_UTF8) from None
        self.eof = not data
        return True

    def peek(self) -> str:
        """Skip whitespace and return the next character, or "" at the end."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found or found not in characters:
            raise _Malformed(faults.INVALID_JSON)
        self.pos += 1
        return found

    def value(self, max_chars: int) -> object:
        """Decode the next JSON value, reading more text until it is complete."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if not _may_be_cut(error, len(self.text)):
                    raise _Malformed(faults.INVALID_JSON) from None
                end = -1
                value = None
            except _UNREADABLE_JSON:
                raise _Malformed(faults.INVALID_JSON) from None

            # A number that ends with the buffer may continue in the next chunk.
            complete = end != -1 and (end < len(self.text) or self.eof)
            if complete and end - self.pos > max_chars:
                raise _Malformed(faults.ITEM_TOO_LARGE)
            if complete:
                self.pos = end
                return value

            if len(self.text) - self.pos > max_chars:
                raise _Malformed(faults.ITEM_TOO_LARGE)
            if not self.fill():
                raise _Malformed(faults.INVALID_JSON)


class JsonItems:
    """The items of the arrays found at ``array_paths`` in a JSON document.

    ``()`` is the document itself. A path listed in ``object_paths`` yields
    the object found there as a single item. Top-level members that are
    scalars (strings, numbers, booleans, null) are kept in ``envelope`` while
    the document is read, up to ``envelope_max_chars`` each.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        array_paths: Collection[JsonPath],
        object_paths: Collection[JsonPath] = (),
        require_match: bool = True,
        envelope_max_chars: int = MAX_ITEM_CHARS,
    ) -> None:
        self._buffer = _TextBuffer(stream)
        self._arrays = set(array_paths)
        self._objects = set(object_paths)
        # A top-level object is always walked, so that its envelope is kept.
        self._prefixes = {()} | {
            path[:depth] for path in self._arrays | self._objects for depth in range(len(path))
        }
        self._require_match = require_match
        self._envelope_max = envelope_max_chars
        self._count = 0
        self._matched = False
        self._stopped = False
        self.envelope: MutableMapping[str, object] = {}

    def __iter__(self) -> Iterator[JsonItem | RejectedLine]:
        try:
            if not self._buffer.peek():
                raise _Malformed(faults.INVALID_JSON)
            yield from self._walk(())
            if not self._stopped and self._buffer.peek():
                raise _Malformed(faults.INVALID_JSON)
        except _Malformed as malformed:
            yield RejectedLine(self._count + 1, "json", malformed.fault)
            return

        if self._require_match and not self._matched:
            expected = sorted(".".join(("$", *path)) for path in self._arrays)
            yield RejectedLine(1, "json", faults.missing_array(expected))

    def _walk(self, path: JsonPath) -> Iterator[JsonItem]:
        start = self._buffer.peek()
        if start == "[" and path in self._arrays:
            self._matched = True
            yield from self._array_items()
        elif start == "{" and path in self._objects:
            self._matched = True
            value = self._buffer.value(MAX_ITEM_CHARS)
            self._count += 1
            yield JsonItem(self._count, value)
        elif start == "{" and path in self._prefixes:
            yield from self._object_members(path)
        elif path == ():
            # The document is neither the expected array nor an envelope, so
            # it is not read further.
            self._stopped = True
        else:
            # NOTE: a member off the paths is decoded whole to skip it, so one
            # longer than its limit stops the reader with item_too_large.
            max_chars = self._envelope_max if len(path) == 1 else MAX_ITEM_CHARS
            value = self._buffer.value(max_chars)
            if len(path) == 1 and not isinstance(value, dict | list):
                self.envelope[path[0]] = value

    def _array_items(self) -> Iterator[JsonItem]:
        self._buffer.expect("[")
        if self._buffer.peek() == "]":
            self._buffer.expect("]")
            return
        while True:
            # The count moves only after a value is read, so that a fault
            # names the index of the item that failed.
            value = self._buffer.value(MAX_ITEM_CHARS)
            self._count += 1
            yield JsonItem(self._count, value)
            if self._buffer.expect(",]") == "]":
                return

    def _object_members(self, path: JsonPath) -> Iterator[JsonItem]:
        self._buffer.expect("{")
        if self._buffer.peek() == "}":
            self._buffer.expect("}")
            return
        while True:
            if self._buffer.peek() != '"':
                raise _Malformed(faults.INVALID_JSON)
            key = self._buffer.value(MAX_ITEM_CHARS)
            self._buffer.expect(":")
            yield from self._walk((*path, str(key)))
            if self._buffer.expect(",}") == "}":
                return


def iter_objects(
    items: Iterator[JsonItem | RejectedLine],
) -> Iterator[tuple[int, dict[str, object]] | RejectedLine]:
    """Pass rejected lines through and reject items that are not JSON objects."""
    for item in items:
        if isinstance(item, RejectedLine):
            yield item
            continue
        found = as_object(item.value)
        if found is None:
            yield RejectedLine(item.line, "json", faults.NOT_AN_OBJECT)
        else:
            yield item.line, found
