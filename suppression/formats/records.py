"""The values that readers yield and writers take: records, rejected lines, faults and options."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, TextIO

from suppression.models import SuppressionReason, SuppressionScope

# Maximum length of the ESP reason text kept on a record. Longer text is cut and the record
# carries the warning below.
MAX_SOURCE_REASON = 200

# SuppressionEntry.scope_ref is a 64-character column.
MAX_SCOPE_REF = 64

# Warning codes that a record can carry. The record is still imported.
WARNING_UNPARSEABLE_TIME = "unparseable_time"
WARNING_SOURCE_REASON_TRUNCATED = "source_reason_truncated"


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``msgid`` for the catalogs' extraction without translating it.

    The format layer imports nothing from the service, so it carries its own
    marker. The import API translates the text (suppression/files_router.py).
    """
    return msgid


@dataclass(frozen=True)
class Fault:
    """Why a line was rejected: a stable code and a message without personal data.

    ``msgid`` is the English text, marked for the gettext catalogs, and its
    ``%(name)s`` placeholders take ``params``. The API translates it into the
    client's language; the CLI prints :attr:`message`.
    """

    code: str
    msgid: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        """Return the English message."""
        return self.msgid % dict(self.params) if self.params else self.msgid

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class RejectedLine:
    """A line (or JSON item) that produced no record.

    ``line`` is the 1-based line where the rejected row starts, or the 1-based
    item index for JSON documents. ``field`` names the column or key at fault,
    or ``line``, ``header`` or ``json`` when the fault concerns the whole unit.
    """

    line: int
    field: str
    fault: Fault


@dataclass(frozen=True)
class ImportRecord:
    """One suppression fact read from an ESP file, not yet normalised nor indexed.

    Exactly one of ``address`` (trimmed, syntax-checked, case kept) and
    ``blind_index`` (lower-case hex, with its ``key_version``) is set.
    ``suppress`` is False for rows that describe a removal or a subscribed
    contact. Such rows are reported but must never lift an entry, and their
    ``reason`` is MANUAL with no meaning. ``scope_ref`` is the ESP's own id
    (list, group, stream or tag), which the caller maps to its lists or topics.
    """

    line: int
    reason: SuppressionReason
    address: str | None = None
    blind_index: str | None = None
    key_version: int | None = None
    source_reason: str = ""
    occurred_at: datetime | None = None
    scope: SuppressionScope = SuppressionScope.GLOBAL
    scope_ref: str = ""
    suppress: bool = True
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # These checks guard the readers against their own bugs. Input faults
        # become RejectedLine values before a record is built.
        if (self.address is None) == (self.blind_index is None):
            raise ValueError("a record needs exactly one of address and blind_index")

        if self.blind_index is not None and self.key_version is None:
            raise ValueError("a blind_index record needs its key_version")

        if self.occurred_at is not None and self.occurred_at.utcoffset() != timedelta(0):
            raise ValueError("occurred_at must be an aware datetime in UTC")

        if len(self.source_reason) > MAX_SOURCE_REASON:
            raise ValueError(f"source_reason is longer than {MAX_SOURCE_REASON} characters")

        if (self.scope is SuppressionScope.GLOBAL) != (self.scope_ref == ""):
            raise ValueError("scope_ref must be empty for global scope and set otherwise")


ReadResult = ImportRecord | RejectedLine


@dataclass(frozen=True)
class ReadOptions:
    """Facts about a file that the caller supplies because the file may not contain them.

    ``filename`` lets readers take a Mailchimp status, a SendGrid group id or
    a Postmark stream from the name. ``reason`` replaces the default reason
    (MANUAL) of formats whose rows carry none. ``status`` is the member
    status for Mailchimp and Benchmark exports. ``scope_ref`` is the list,
    group or stream id for formats scoped below the account. A value given
    here wins over one derived from the file name.
    """

    filename: str | None = None
    reason: SuppressionReason | None = None
    status: str | None = None
    scope_ref: str | None = None


DEFAULT_READ_OPTIONS = ReadOptions()

Reader = Callable[[BinaryIO, ReadOptions], Iterator[ReadResult]]


@dataclass(frozen=True)
class ExportRow:
    """One active suppression entry to export.

    ``email`` is the clear address when the sender still has the contact,
    and None when only the blind index is known.
    """

    blind_index: str
    key_version: int
    reason: SuppressionReason
    created_at: datetime
    scope: SuppressionScope = SuppressionScope.GLOBAL
    scope_ref: str = ""
    source: str = ""
    email: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.utcoffset() is None:
            raise ValueError("created_at must be an aware datetime")


@dataclass(frozen=True)
class WriteOptions:
    """Export choices.

    ESP import formats receive only global entries unless ``include_scoped``
    is True, because most ESP lists are account-wide and a list-level
    unsubscribe written there would block every list.
    """

    include_scoped: bool = False


DEFAULT_WRITE_OPTIONS = WriteOptions()


@dataclass(frozen=True)
class WriteReport:
    """Rows written and rows skipped, counted by skip code (for example ``reason:unsubscribe``)."""

    written: int
    skipped: Mapping[str, int] = field(default_factory=dict)


Writer = Callable[[Iterable[ExportRow], TextIO, WriteOptions], WriteReport]
