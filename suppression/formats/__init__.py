"""Streaming readers and writers for ESP suppression files.

The package is pure: it reads and writes streams and touches no database.
Readers take a binary stream and yield ImportRecord or RejectedLine values
lazily. Writers take ExportRow values and a text stream. FORMATS lists
every format by the name the CLI uses.
"""

from suppression.formats.detect import detect_format
from suppression.formats.records import (
    DEFAULT_READ_OPTIONS,
    DEFAULT_WRITE_OPTIONS,
    ExportRow,
    Fault,
    ImportRecord,
    Reader,
    ReadOptions,
    ReadResult,
    RejectedLine,
    WriteOptions,
    Writer,
    WriteReport,
)
from suppression.formats.registry import FORMATS, NOT_SUPPRESSED, FormatSpec

__all__ = [
    "DEFAULT_READ_OPTIONS",
    "DEFAULT_WRITE_OPTIONS",
    "FORMATS",
    "NOT_SUPPRESSED",
    "ExportRow",
    "Fault",
    "FormatSpec",
    "ImportRecord",
    "ReadOptions",
    "ReadResult",
    "Reader",
    "RejectedLine",
    "WriteOptions",
    "WriteReport",
    "Writer",
    "detect_format",
]
