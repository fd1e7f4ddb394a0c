"""The faults a reader reports. Messages name the field and the problem, never a cell's content."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from suppression.formats.records import MAX_SCOPE_REF, Fault

# Maximum length in bytes of a physical line in a CSV or JSONL file. Suppression rows are
# well under 1 KiB, so a longer line is damage, and the cap keeps memory flat.
MAX_LINE_BYTES = 1 << 20

# Maximum length in characters of one JSON item (an array element) that a reader decodes.
MAX_ITEM_CHARS = 1 << 20

INVALID_ADDRESS = Fault("invalid_address", "the address is not a valid email address")
MISSING_ADDRESS = Fault("missing_address", "the address cell is empty")
INVALID_UTF8 = Fault("invalid_encoding", "the line is not valid UTF-8; save the file as UTF-8")
INVALID_UTF8_OR_1252 = Fault(
    "invalid_encoding", "the line is neither valid UTF-8 nor Windows-1252 text"
)
LINE_TOO_LONG = Fault("line_too_long", f"the line is longer than {MAX_LINE_BYTES} bytes")
UNEXPECTED_CELLS = Fault(
    "unexpected_cells", "the row has more non-empty cells than the header has columns"
)
MISSING_HEADER = Fault("missing_header", "the file is empty or its header row is unreadable")
INVALID_JSON = Fault("invalid_json", "the text is not valid JSON")
ITEM_TOO_LARGE = Fault(
    "item_too_large", f"the JSON value is longer than {MAX_ITEM_CHARS} characters"
)
NOT_AN_OBJECT = Fault("not_an_object", "the item is not a JSON object")
INVALID_BLIND_INDEX = Fault(
    "invalid_blind_index", "the blind index is not 64 hexadecimal characters (HMAC-SHA256)"
)
INVALID_KEY_VERSION = Fault("invalid_key_version", "the key version is not a positive integer")
# PostgreSQL text cannot hold NUL, so one such cell made a whole import fail.
SCOPE_REF_CONTROL = Fault(
    "invalid_scope_ref",
    "the scope_ref contains a control character such as NUL or a line break; remove it",
)
SCOPE_REF_TOO_LONG = Fault("scope_ref_too_long", f"the scope_ref is longer than {MAX_SCOPE_REF}")
MISSING_SCOPE_REF = Fault(
    "missing_scope_ref", "list and topic scopes need a scope_ref naming the list or topic"
)
UNEXPECTED_SCOPE_REF = Fault("unexpected_scope_ref", "a global entry cannot have a scope_ref")
NOT_AN_ARRAY = Fault("not_an_array", "the line is not a JSON array")


def malformed_csv(detail: str) -> Fault:
    # The csv module's messages describe the syntax ("',' expected after '\"'",
    # "field larger than field limit") and never quote the data.
    return Fault("malformed_csv", f"the CSV row is malformed: {detail}")


def missing_column(names: Iterable[str]) -> Fault:
    listed = " or ".join(repr(name) for name in names)
    return Fault("missing_column", f"the header has no {listed} column")


def duplicate_column(name: str) -> Fault:
    return Fault("duplicate_column", f"the header has the column {name!r} more than once")


def missing_value(name: str) -> Fault:
    return Fault("missing_value", f"the {name} is empty")


def unknown_value(name: str, allowed: Iterable[str]) -> Fault:
    # The rejected value is left out: after a column shift it may be an address.
    listed = ", ".join(sorted(allowed))
    return Fault("unknown_value", f"the {name} is not one of: {listed}")


def missing_array(path: str) -> Fault:
    return Fault("unexpected_shape", f"the JSON document has no {path} array")


def status_required(choices: Iterable[str]) -> Fault:
    listed = ", ".join(sorted(choices))
    return Fault(
        "status_required",
        f"the file does not say which members it holds; give the status ({listed})",
    )


def status_mismatch(requested: str, found: str) -> Fault:
    return Fault(
        "status_mismatch",
        f"the status {requested!r} does not match the file's columns, which are those of {found!r}",
    )


def scope_ref_required(subject: str) -> Fault:
    return Fault(
        "scope_ref_required", f"the file does not name the {subject}; give it as scope_ref"
    )


def scope_ref_fault(reference: str) -> Fault | None:
    """Return why a scope_ref cannot be stored, or None when it can."""
    if len(reference) > MAX_SCOPE_REF:
        return SCOPE_REF_TOO_LONG
    if any(unicodedata.category(character) == "Cc" for character in reference):
        return SCOPE_REF_CONTROL
    return None
