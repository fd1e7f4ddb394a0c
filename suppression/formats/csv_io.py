"""Streaming RFC 4180 CSV input and output with exact line numbers.

Input is read one physical line at a time, so memory stays flat on files of
any size. A row that spans several lines (a quoted cell holding a newline)
is numbered by its first line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from suppression.formats import faults
from suppression.formats.faults import MAX_LINE_BYTES
from suppression.formats.records import Fault, RejectedLine

_UTF8_BOM = b"\xef\xbb\xbf"

# OWASP "CSV Injection": spreadsheet programs run a cell that starts with one
# of these characters as a formula. Writers prefix such cells with "'".
# Leading quotes are counted too, so that the prefix can be removed again
# without touching a value that really starts with "'".
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def neutralise_formula(value: str) -> str:
    """Prefix ``'`` to a cell that a spreadsheet would run as a formula."""
    if _FORMULA_START.match(value):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Remove the ``'`` that ``neutralise_formula`` added."""
    if value.startswith("'") and _FORMULA_START.match(value):
        return value[1:]
    return value


class _PhysicalLines:
    """Decoded lines of a binary stream, for ``csv.reader``, with the faults of each line.

    A line longer than MAX_LINE_BYTES is skipped up to its end and replaced
    by an empty line, so one damaged line cannot fill memory.
    """

    def __init__(self, stream: BinaryIO, *, windows_1252_fallback: bool) -> None:
        self._stream = stream
        self._fallback = windows_1252_fallback
        self._peeked: str | None = None
        self.count = 0
        self.faults: dict[int, Fault] = {}

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._peeked is not None:
            line, self._peeked = self._peeked, None
            return line
        return self._read()

    def peek(self) -> str:
        """Return the next line without consuming it ("" at the end of the stream)."""
        if self._peeked is None:
            try:
                self._peeked = self._read()
            except StopIteration:
                return ""
        return self._peeked

    def take_fault(self) -> Fault | None:
        """Return the first fault recorded since the last call, and forget the others."""
        first = self.faults[min(self.faults)] if self.faults else None
        self.faults.clear()
        return first

    def _read(self) -> str:
        raw = self._stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.count += 1

        if self.count == 1 and raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM) :]

        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            self._skip_rest_of_line()
            self.faults[self.count] = faults.LINE_TOO_LONG
            return "\n"

        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass

        # Bytes that are not UTF-8 are almost never valid UTF-8 by chance, so
        # decoding each line on its own handles UTF-8 and Windows-1252 files.
        if self._fallback:
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError:
                self.faults[self.count] = faults.INVALID_UTF8_OR_1252
        else:
            self.faults[self.count] = faults.INVALID_UTF8
        return raw.decode("utf-8", errors="replace")

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self._stream.readline(MAX_LINE_BYTES)
            if not chunk or chunk.endswith(b"\n"):
                return


@dataclass(frozen=True)
class CsvRow:
    """One CSV record and the 1-based physical line where it starts."""

    line: int
    cells: tuple[str, ...]

    def get(self, column: int | None) -> str:
        """Return the cell at ``column`` without a formula-guard prefix, or "" if absent."""
        if column is None or column >= len(self.cells):
            return ""
        return restore_formula(self.cells[column])


def sniff_delimiter(first_line: str, candidates: str) -> str:
    """Return the candidate found most often outside quoted cells; the first one on a tie."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = [
        (unquoted.count(candidate), -position) for position, candidate in enumerate(candidates)
    ]
    best = max(counts)
    return candidates[-best[1]]


def iter_csv_rows(
    stream: BinaryIO,
    *,
    delimiter: str = ",",
    sniff_delimiters: str | None = None,
    windows_1252_fallback: bool = False,
) -> Iterator[CsvRow | RejectedLine]:
    """Yield the rows of a CSV stream, and a RejectedLine for each unreadable row.

    A UTF-8 byte order mark is dropped. Blank rows, and rows whose cells are
    all empty, are skipped. With ``sniff_delimiters`` the delimiter is the
    candidate found most often in the first line.
    """
    lines = _PhysicalLines(stream, windows_1252_fallback=windows_1252_fallback)
    if sniff_delimiters:
        delimiter = sniff_delimiter(lines.peek(), sniff_delimiters)

    # strict=True rejects text after a closing quote instead of merging it.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The reader starts afresh on the next line after an error.
            start, previous_end = previous_end + 1, reader.line_num
            line_fault = lines.take_fault() or faults.malformed_csv(str(error))
            yield RejectedLine(start, "line", line_fault)
            continue

        start, previous_end = previous_end + 1, reader.line_num
        row_fault = lines.take_fault()
        if row_fault is not None:
            yield RejectedLine(start, "line", row_fault)
            continue

        if any(cell.strip() for cell in cells):
            yield CsvRow(start, tuple(cells))


class Header:
    """Column positions of a header row."""

    def __init__(self, row: CsvRow, *, case_sensitive: bool) -> None:
        self.line = row.line
        self._case_sensitive = case_sensitive
        self.names = tuple(self._key(cell) for cell in row.cells)
        # Readers look up columns on every row, so results are cached.
        self._found: dict[tuple[str, ...], int | None] = {}

    def _key(self, name: str) -> str:
        name = name.strip()
        return name if self._case_sensitive else name.casefold()

    def find(self, *names: str) -> int | None:
        """Return the position of the first of ``names`` in the header, or None."""
        if names not in self._found:
            keys = [self._key(name) for name in names]
            present = [self.names.index(key) for key in keys if key in self.names]
            self._found[names] = present[0] if present else None
        return self._found[names]

    def has(self, name: str) -> bool:
        return self._key(name) in self.names

    def duplicated(self, names: Iterable[str]) -> str | None:
        """Return the first of ``names`` that the header contains twice, or None."""
        for name in names:
            if self.names.count(self._key(name)) > 1:
                return name
        return None

    def extra_cells(self, row: CsvRow) -> bool:
        """Return whether ``row`` has non-empty cells past the header's last column."""
        return any(cell.strip() for cell in row.cells[len(self.names) :])


def read_header(
    rows: Iterator[CsvRow | RejectedLine],
    *,
    required: Sequence[Sequence[str]],
    known: Iterable[str] = (),
    case_sensitive: bool = True,
) -> Generator[RejectedLine, None, Header | None]:
    """Read the header row, yielding a RejectedLine and returning None when it is unusable.

    ``required`` lists groups of accepted names, one of each group must be
    present. A duplicate of a required or ``known`` column is rejected
    because the reader could not tell which cell to trust.
    """
    first = next(rows, None)
    if first is None:
        yield RejectedLine(1, "header", faults.MISSING_HEADER)
        return None
    if isinstance(first, RejectedLine):
        yield RejectedLine(first.line, "header", first.fault)
        return None

    header = Header(first, case_sensitive=case_sensitive)
    for group in required:
        if header.find(*group) is None:
            yield RejectedLine(header.line, "header", faults.missing_column(group))
            return None

    all_names = [name for group in required for name in group] + list(known)
    duplicate = header.duplicated(all_names)
    if duplicate is not None:
        yield RejectedLine(header.line, "header", faults.duplicate_column(duplicate))
        return None
    return header


class CsvOutput:
    """A CSV writer that guards every cell against formula injection.

    Rows end with LF, as in the ESP exports studied. The text stream should
    be opened with ``newline=""`` so that Python does not translate them.
    """

    def __init__(
        self, out: TextIO, *, delimiter: str = ",", raw_address_column: bool = False
    ) -> None:
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        # ESP import files carry the address in their first column, and the ESP
        # must receive it exactly: a guard quote would make it another address,
        # and the opt-out would be lost. Those files are for upload, not for a
        # spreadsheet; every other cell keeps the guard.
        self._raw_first = raw_address_column

    def write(self, cells: Iterable[str]) -> None:
        row = list(cells)
        guarded = [neutralise_formula(cell) for cell in row]
        if self._raw_first and row:
            guarded[0] = row[0]
        self._writer.writerow(guarded)


def _checked_body(
    rows: Iterator[CsvRow | RejectedLine], header: Header
) -> Iterator[CsvRow | RejectedLine]:
    for item in rows:
        if isinstance(item, CsvRow) and header.extra_cells(item):
            yield RejectedLine(item.line, "line", faults.UNEXPECTED_CELLS)
        else:
            yield item


def read_table(
    stream: BinaryIO,
    *,
    required: Sequence[Sequence[str]],
    known: Iterable[str] = (),
    case_sensitive: bool = True,
    sniff_delimiters: str | None = None,
    windows_1252_fallback: bool = False,
) -> Generator[RejectedLine, None, tuple[Header, Iterator[CsvRow | RejectedLine]] | None]:
    """Read a CSV file with a header row, as ``read_header`` does.

    Returns the header and the remaining rows, in which a row with non-empty
    cells beyond the header's columns is replaced by a RejectedLine.
    """
    rows = iter_csv_rows(
        stream, sniff_delimiters=sniff_delimiters, windows_1252_fallback=windows_1252_fallback
    )
    header = yield from read_header(
        rows, required=required, known=known, case_sensitive=case_sensitive
    )
    if header is None:
        return None
    return header, _checked_body(rows, header)
