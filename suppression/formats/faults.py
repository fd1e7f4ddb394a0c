"""The faults a reader reports. Messages name the field and the problem, never a cell's content."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from suppression.formats.records import MAX_SCOPE_REF, N_, Fault

# Maximum length in bytes of a physical line in a CSV or JSONL file. Suppression rows are
# well under 1 KiB, so a longer line is damage, and the cap keeps memory flat.
MAX_LINE_BYTES = 1 << 20

# Maximum length in characters of one JSON item (an array element) that a reader decodes.
MAX_ITEM_CHARS = 1 << 20

INVALID_ADDRESS = Fault("invalid_address", N_("the address is not a valid email address"))
MISSING_ADDRESS = Fault("missing_address", N_("the address cell is empty"))
INVALID_UTF8 = Fault("invalid_encoding", N_("the line is not valid UTF-8; save the file as UTF-8"))
INVALID_UTF8_OR_1252 = Fault(
    "invalid_encoding", N_("the line is neither valid UTF-8 nor Windows-1252 text")
)
LINE_TOO_LONG = Fault(
    "line_too_long",
    N_("the line is longer than %(limit)s bytes"),
    (("limit", str(MAX_LINE_BYTES)),),
)
UNEXPECTED_CELLS = Fault(
    "unexpected_cells", N_("the row has more non-empty cells than the header has columns")
)
MISSING_HEADER = Fault("missing_header", N_("the file is empty or its header row is unreadable"))
INVALID_JSON = Fault("invalid_json", N_("the text is not valid JSON"))
ITEM_TOO_LARGE = Fault(
    "item_too_large",
    N_("the JSON value is longer than %(limit)s characters"),
    (("limit", str(MAX_ITEM_CHARS)),),
)
NOT_AN_OBJECT = Fault("not_an_object", N_("the item is not a JSON object"))
INVALID_BLIND_INDEX = Fault(
    "invalid_blind_index",
    N_("the blind index is not 64 hexadecimal characters (HMAC-SHA256)"),
)
INVALID_KEY_VERSION = Fault("invalid_key_version", N_("the key version is not a positive integer"))
# PostgreSQL text cannot hold NUL, so one such cell made a whole import fail.
SCOPE_REF_CONTROL = Fault(
    "invalid_scope_ref",
    N_("the scope_ref contains a control character such as NUL or a line break; remove it"),
)
SCOPE_REF_TOO_LONG = Fault(
    "scope_ref_too_long",
    N_("the scope_ref is longer than %(limit)s characters"),
    (("limit", str(MAX_SCOPE_REF)),),
)
MISSING_SCOPE_REF = Fault(
    "missing_scope_ref", N_("list and topic scopes need a scope_ref naming the list or topic")
)
UNEXPECTED_SCOPE_REF = Fault("unexpected_scope_ref", N_("a global entry cannot have a scope_ref"))
NOT_AN_ARRAY = Fault("not_an_array", N_("the line is not a JSON array"))
SENDGRID_GROUP_REQUIRED = Fault(
    "scope_ref_required",
    N_("the file does not name the SendGrid unsubscribe group id; give it as scope_ref"),
)


_CSV_FIELD_LIMIT = re.compile(r"field larger than field limit \((\d+)\)")


def malformed_csv(detail: str) -> Fault:
    """Return the fault for a csv module error, in words the catalogs translate.

    The module's messages describe the syntax and never quote the data, but
    they are English only, so the known ones are mapped to our own text.
    """
    limit = _CSV_FIELD_LIMIT.search(detail)
    if limit is not None:
        return Fault(
            "malformed_csv",
            N_("the CSV row is malformed: a cell is longer than %(limit)s characters"),
            (("limit", limit.group(1)),),
        )
    if "expected after" in detail:
        message = N_("the CSV row is malformed: a closing quote is not followed by a delimiter")
    elif "unexpected end of data" in detail:
        message = N_("the CSV row is malformed: a quoted cell is not closed")
    elif "new-line character seen in unquoted field" in detail:
        message = N_("the CSV row is malformed: a line break is inside an unquoted cell")
    elif "NUL" in detail:
        message = N_("the CSV row is malformed: the line contains a NUL character")
    else:
        message = N_("the CSV row is malformed")
    return Fault("malformed_csv", message)


def missing_column(names: Iterable[str]) -> Fault:
    quoted = [repr(name) for name in names]
    if len(quoted) == 1:
        return Fault(
            "missing_column", N_("the header has no %(name)s column"), (("name", quoted[0]),)
        )
    return Fault(
        "missing_column",
        N_("the header has none of these columns: %(names)s"),
        (("names", ", ".join(quoted)),),
    )


def duplicate_column(name: str) -> Fault:
    return Fault(
        "duplicate_column",
        N_("the header has the column %(name)s more than once"),
        (("name", repr(name)),),
    )


def missing_value(name: str) -> Fault:
    return Fault("missing_value", N_("the %(name)s is empty"), (("name", name),))


def unknown_value(name: str, allowed: Iterable[str]) -> Fault:
    # The rejected value is left out: after a column shift it may be an address.
    listed = ", ".join(sorted(allowed))
    return Fault(
        "unknown_value",
        N_("the %(name)s is not one of: %(allowed)s"),
        (("name", name), ("allowed", listed)),
    )


def missing_array(paths: Iterable[str]) -> Fault:
    # JSONPath (RFC 9535) names the places in any language: "$" is the
    # document itself, "$.items" its "items" member.
    return Fault(
        "unexpected_shape",
        N_("the JSON document has no array at any of: %(paths)s"),
        (("paths", ", ".join(paths)),),
    )


def status_required(choices: Iterable[str]) -> Fault:
    listed = ", ".join(sorted(choices))
    return Fault(
        "status_required",
        N_("the file does not say which members it contains; give the status (%(allowed)s)"),
        (("allowed", listed),),
    )


def status_mismatch(requested: str, found: str) -> Fault:
    return Fault(
        "status_mismatch",
        N_(
            "the status %(requested)s does not match the file's columns, "
            "which are those of %(found)s"
        ),
        (("requested", repr(requested)), ("found", repr(found))),
    )


def scope_ref_fault(reference: str) -> Fault | None:
    """Return why a scope_ref cannot be stored, or None when it can."""
    if len(reference) > MAX_SCOPE_REF:
        return SCOPE_REF_TOO_LONG
    if any(unicodedata.category(character) == "Cc" for character in reference):
        return SCOPE_REF_CONTROL
    return None
