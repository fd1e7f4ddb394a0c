"""Apply a stream of imported suppression records to the database.

An import only ever adds entries: it never lifts one, never changes a
contact, and re-running it adds nothing (entries are keyed by blind index,
reason, scope and scope ref). Rows that describe a removal or a subscribed
contact are counted as ``not_applied``.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

import structlog
from sqlalchemy import insert
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import AddressError, BlindIndex, BlindIndexer
from compliance.core.models import new_id, utcnow
from suppression.formats import Fault, ImportRecord, ReadResult, RejectedLine
from suppression.models import SuppressionEntry, SuppressionReason, SuppressionScope

log = structlog.get_logger(__name__)

BATCH_SIZE = 2000

# Erasure and objection entries carry a data-subject request's proof; a file
# may bring them only hashed, as a Sendguard export writes them.
RESERVED_REASONS = frozenset({SuppressionReason.ERASED, SuppressionReason.OBJECTION})
RESERVED_FAULT = Fault(
    "reserved_reason",
    "erased and objection entries come from data-subject requests; import them hashed-only",
)
# The report keeps the first rejected lines in full and counts the rest.
MAX_REJECTED_KEPT = 1000


@dataclass
class ImportReport:
    import_id: str
    read: int = 0
    imported: int = 0
    already_present: int = 0
    # Rows that describe a removal or a subscribed contact: an import never lifts.
    not_applied: int = 0
    rejected_count: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class ImportOptions:
    source: str
    actor: str
    # Keep the file's list, group or stream scopes. By default every entry is
    # global: an opt-out from one ESP list stops all mail, the safe reading.
    keep_scope: bool = False


ProgressCallback = Callable[[int], None]


def import_records(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    results: Iterable[ReadResult],
    options: ImportOptions,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Add the suppression entries ``results`` describe; return what happened to each row."""
    report = ImportReport(import_id=secrets.token_hex(8))
    iterator = iter(results)
    while batch := list(islice(iterator, BATCH_SIZE)):
        _apply_batch(session, sender_id, indexer, batch, options, report)
        if on_progress is not None:
            on_progress(len(batch))

    # TODO: the CLI commits each batch, so a run killed here leaves rows with no audit event.
    record_event(
        session,
        sender_id,
        actor=options.actor,
        action="suppression.imported",
        object_type="import",
        object_id=report.import_id,
    )
    log.info(
        "suppression.imported",
        sender_id=sender_id,
        import_id=report.import_id,
        read=report.read,
        imported=report.imported,
        already_present=report.already_present,
        rejected=report.rejected_count,
    )
    return report


def _reject(report: ImportReport, rejected: RejectedLine) -> None:
    report.rejected_count += 1
    if len(report.rejected) < MAX_REJECTED_KEPT:
        report.rejected.append(rejected)


def _index_of(record: ImportRecord, indexer: BlindIndexer) -> BlindIndex | Fault:
    if record.blind_index is not None and record.key_version is not None:
        if record.key_version not in indexer.versions:
            return Fault(
                "unknown_key_version",
                f"key version {record.key_version} is not a live blind-index key",
            )
        return BlindIndex(record.key_version, record.blind_index)
    try:
        return indexer.current(record.address or "")
    except AddressError:
        return Fault("invalid_address", "the address cannot be normalised")


def _apply_batch(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    batch: list[ReadResult],
    options: ImportOptions,
    report: ImportReport,
) -> None:
    wanted: dict[tuple[str, str, str, str], tuple[ImportRecord, BlindIndex]] = {}
    for result in batch:
        report.read += 1
        if isinstance(result, RejectedLine):
            _reject(report, result)
            continue
        report.warnings.update(result.warnings)
        if not result.suppress:
            report.not_applied += 1
            continue
        if result.address is not None and result.reason in RESERVED_REASONS:
            _reject(report, RejectedLine(result.line, "reason", RESERVED_FAULT))
            continue
        index = _index_of(result, indexer)
        if isinstance(index, Fault):
            _reject(report, RejectedLine(result.line, "email", index))
            continue
        scope, scope_ref = (
            (result.scope, result.scope_ref)
            if options.keep_scope
            else (SuppressionScope.GLOBAL, "")
        )
        key = (index.digest, result.reason.value, scope.value, scope_ref)
        if key in wanted:
            report.already_present += 1
            continue
        wanted[key] = (result, index)

    if not wanted:
        return

    digests = sorted({key[0] for key in wanted})
    existing = {
        (digest, reason, scope, scope_ref)
        for digest, reason, scope, scope_ref in session.exec(
            select(
                SuppressionEntry.blind_index,
                SuppressionEntry.reason,
                SuppressionEntry.scope,
                SuppressionEntry.scope_ref,
            ).where(
                SuppressionEntry.sender_id == sender_id,
                col(SuppressionEntry.blind_index).in_(digests),
                col(SuppressionEntry.lifted_at).is_(None),
            )
        )
    }

    now = utcnow()
    rows = []
    for key, (record, index) in wanted.items():
        if key in existing:
            report.already_present += 1
            continue
        rows.append(
            {
                "id": new_id(),
                "sender_id": sender_id,
                "blind_index": index.digest,
                "key_version": index.version,
                "scope": key[2],
                "scope_ref": key[3],
                "reason": key[1],
                "source": options.source[:40],
                "event_ref": f"import:{report.import_id}:{record.line}",
                "created_at": record.occurred_at or now,
            }
        )
    if rows:
        # One multi-row INSERT per batch: the ORM's per-object flush is far slower.
        session.execute(insert(SuppressionEntry), rows)
        report.imported += len(rows)
