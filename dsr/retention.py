"""Retention rules per data category: what is due for deletion, and the job that deletes it.

Each rule has a period set in settings (docs/retention.md gives the
defaults and their legal sources):

- ``prospects``: contacts with no contact from the person for
  ``retention_prospect_days``, erased through the DSR erasure path;
- ``pending_signups``: double opt-ins whose link expired
  (``confirmation_ttl_hours``), purged by the consent maintenance;
- ``delivery_events`` and ``bounce_events``: engagement and bounce rows
  older than ``retention_delivery_event_days``;
- ``dsr_records``: closed requests older than ``retention_dsr_days`` after
  they closed, with their processor tasks and their key;
- ``outbox_messages``: sent and dead emails of the outbox, older than
  ``retention_outbox_days`` after they finished.

Suppression entries have no rule: they keep opt-outs working and stay.
The job works in small transactions and locks rows with SKIP LOCKED on
PostgreSQL, so several processes can run it at once, and a second run
finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, Engine, delete, func
from sqlmodel import Session, col, select

from compliance.core import outbox_retention
from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.db import read_only, transaction
from compliance.core.keystore import KeyStore
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from consent import retention as consent_retention
from consent.maintenance import purge_expired
from dsr.models import CLOSED_STATUSES, DataSubjectRequest, ProcessorTask
from dsr.payload import shred
from suppression import retention as event_retention
from suppression.retention import AgeCounts

log = structlog.get_logger(__name__)

# The report looks this far ahead for rows that will become due.
REPORT_WINDOW_DAYS = 30
BATCH_SIZE = 500

PROSPECTS = "prospects"
PENDING_SIGNUPS = "pending_signups"
DELIVERY_EVENTS = "delivery_events"
BOUNCE_EVENTS = "bounce_events"
DSR_RECORDS = "dsr_records"
OUTBOX_MESSAGES = "outbox_messages"


@dataclass(frozen=True)
class RuleReport:
    name: str
    # The data the rule removes, in words for the report.
    category: str
    period: timedelta
    # The setting that changes the period (environment variable without its prefix).
    setting: str
    due_now: int
    # Rows that are not due now and become due within the report's window.
    due_in_window: int
    # ``now`` when rows are due now, else when the next row becomes due;
    # None when no stored row will ever be due under this rule. The job
    # removes a row at its first run after this moment.
    next_removal_at: datetime | None


@dataclass(frozen=True)
class RetentionReport:
    generated_at: datetime
    window_days: int
    sender_id: str | None
    rules: list[RuleReport]


@dataclass(frozen=True)
class RetentionResult:
    prospects_purged: int = 0
    signups_purged: int = 0
    # Expired sign-ups of list members or former subscribers: only their pending topics go.
    signups_kept: int = 0
    delivery_events_deleted: int = 0
    bounce_events_deleted: int = 0
    dsr_records_deleted: int = 0
    processor_tasks_deleted: int = 0
    outbox_messages_deleted: int = 0


def bounce_retention_days(settings: Settings) -> int:
    """Return the bounce-event period: never shorter than the soft-bounce counting window."""
    return max(settings.retention_delivery_event_days, settings.bounce_soft_window_days)


def _next_removal(now: datetime, counts: AgeCounts) -> datetime | None:
    return now if counts.due_now else counts.next_due_at


def _rule(
    name: str, category: str, period: timedelta, setting: str, now: datetime, counts: AgeCounts
) -> RuleReport:
    return RuleReport(
        name,
        category,
        period,
        setting,
        counts.due_now,
        counts.due_in_window,
        _next_removal(now, counts),
    )


# Prospects.


def _open_subject_indexes(session: Session, sender_id: str, digests: list[str]) -> set[str]:
    """Return the blind indexes among ``digests`` that have an open request of this sender."""
    if not digests:
        return set()
    return set(
        session.exec(
            select(DataSubjectRequest.subject_index).where(
                DataSubjectRequest.sender_id == sender_id,
                col(DataSubjectRequest.status).not_in(list(CLOSED_STATUSES)),
                col(DataSubjectRequest.subject_index).in_(digests),
            )
        ).all()
    )


def _without_open_requests(
    session: Session, prospects: list[consent_retention.ProspectActivity]
) -> list[consent_retention.ProspectActivity]:
    # A contact with an open request keeps its data until the request
    # closes, because the reply needs it (an access export, say).
    with_open_request: set[tuple[str, str]] = set()
    for sender_id in {item.sender_id for item in prospects}:
        digests = [item.email_index for item in prospects if item.sender_id == sender_id]
        found = _open_subject_indexes(session, sender_id, [d for d in digests if d])
        with_open_request |= {(sender_id, digest) for digest in found}
    return [
        item
        for item in prospects
        if (item.sender_id, item.email_index or "") not in with_open_request
    ]


def _scan_prospects(
    session: Session, since: datetime | None, sender_id: str | None
) -> list[consent_retention.ProspectActivity]:
    found: list[consent_retention.ProspectActivity] = []
    after_id: str | None = None
    while True:
        page = consent_retention.prospects_without_contact_since(
            session, since, sender_id=sender_id, after_id=after_id
        )
        found += _without_open_requests(session, page.prospects)
        if page.last_id is None:
            return found
        after_id = page.last_id


def _prospect_counts(
    session: Session, now: datetime, period: timedelta, window: timedelta, sender_id: str | None
) -> AgeCounts:
    cutoff = now - period
    soon = _scan_prospects(session, cutoff + window, sender_id)
    due_now = sum(1 for item in soon if item.last_contact_at < cutoff)
    later = [item.last_contact_at for item in soon if item.last_contact_at >= cutoff]
    if not later:
        # Nothing becomes due within the window: read every live contact to
        # find the next date. NOTE: this reads all contacts, in pages.
        later = [
            item.last_contact_at
            for item in _scan_prospects(session, None, sender_id)
            if item.last_contact_at >= cutoff
        ]
    return AgeCounts(due_now, len(soon) - due_now, min(later) + period if later else None)


# DSR records.


def _closed_at() -> ColumnElement[datetime]:
    # A closed request without completed_at (a rejection, say) closed at its last update.
    return func.coalesce(col(DataSubjectRequest.completed_at), col(DataSubjectRequest.updated_at))


def _is_closed() -> ColumnElement[bool]:
    return col(DataSubjectRequest.status).in_(list(CLOSED_STATUSES))


def _dsr_counts(
    session: Session, now: datetime, period: timedelta, window: timedelta, sender_id: str | None
) -> AgeCounts:
    cutoff = now - period
    closed_at = _closed_at()

    def count(*conditions: ColumnElement[bool]) -> int:
        query = (
            select(func.count()).select_from(DataSubjectRequest).where(_is_closed(), *conditions)
        )
        if sender_id is not None:
            query = query.where(DataSubjectRequest.sender_id == sender_id)
        return session.exec(query).one()

    due_now = count(closed_at < cutoff)
    due_in_window = count(closed_at >= cutoff, closed_at < cutoff + window)
    oldest = select(func.min(closed_at)).where(_is_closed(), closed_at >= cutoff)
    if sender_id is not None:
        oldest = oldest.where(DataSubjectRequest.sender_id == sender_id)
    oldest_at = session.exec(oldest).one()
    return AgeCounts(due_now, due_in_window, oldest_at + period if oldest_at else None)


# Outbox messages.


def _outbox_counts(
    session: Session, now: datetime, period: timedelta, window: timedelta, sender_id: str | None
) -> AgeCounts:
    cutoff = now - period
    due_now = outbox_retention.count_finished(session, cutoff, None, sender_id)
    due_in_window = outbox_retention.count_finished(session, cutoff + window, cutoff, sender_id)
    oldest_at = outbox_retention.oldest_finished_since(session, cutoff, sender_id)
    return AgeCounts(due_now, due_in_window, oldest_at + period if oldest_at else None)


@dataclass(frozen=True)
class DeletedRequests:
    """One batch of deleted requests."""

    requests: int
    processor_tasks: int
    # The highest request id deleted, to pass as ``after_id``; None after the last batch.
    last_id: str | None


def delete_closed_requests(
    session: Session, keystore: KeyStore, before: datetime, after_id: str | None
) -> DeletedRequests:
    """Delete one batch of requests closed before ``before``, with their tasks and keys.

    Keys are destroyed first, in the key store's own transaction, as the
    contact erasure does. A failure afterwards leaves rows that the next run deletes.
    """
    query = select(DataSubjectRequest).where(_is_closed(), _closed_at() < before)
    if after_id is not None:
        query = query.where(col(DataSubjectRequest.id) > after_id)
    requests = list(
        session.exec(
            query.order_by(col(DataSubjectRequest.id))
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not requests:
        return DeletedRequests(0, 0, None)

    ids = [request.id for request in requests]
    for request in requests:
        shred(keystore, request)
    tasks = (
        session.connection()
        .execute(delete(ProcessorTask).where(col(ProcessorTask.request_id).in_(ids)))
        .rowcount
    )
    for request in requests:
        record_event(
            session,
            request.sender_id,
            actor=f"retention:{DSR_RECORDS}",
            action="retention.purged",
            object_type="data_subject_request",
            object_id=request.id,
        )
        session.delete(request)
    session.flush()
    last_id = ids[-1] if len(ids) == BATCH_SIZE else None
    return DeletedRequests(len(ids), tasks, last_id)


# The report and the job.


def retention_report(
    session: Session, settings: Settings, now: datetime | None = None, sender_id: str | None = None
) -> RetentionReport:
    """Report, per rule, how many rows are due now, within the window, and the next removal date."""
    moment = now or utcnow()
    window = timedelta(days=REPORT_WINDOW_DAYS)
    prospects = timedelta(days=settings.retention_prospect_days)
    signups = timedelta(hours=settings.confirmation_ttl_hours)
    events = timedelta(days=settings.retention_delivery_event_days)
    bounces = timedelta(days=bounce_retention_days(settings))
    requests = timedelta(days=settings.retention_dsr_days)
    outbox = timedelta(days=settings.retention_outbox_days)

    rules = [
        _rule(
            PROSPECTS,
            "contacts with no contact from the person",
            prospects,
            "RETENTION_PROSPECT_DAYS",
            moment,
            _prospect_counts(session, moment, prospects, window, sender_id),
        ),
        _rule(
            PENDING_SIGNUPS,
            "double opt-ins never confirmed",
            signups,
            "CONFIRMATION_TTL_HOURS",
            moment,
            consent_retention.pending_signup_ages(session, moment, signups, window, sender_id),
        ),
        _rule(
            DELIVERY_EVENTS,
            "delivery, open and click events",
            events,
            "RETENTION_DELIVERY_EVENT_DAYS",
            moment,
            event_retention.delivery_event_ages(
                session, moment, events.days, window.days, sender_id
            ),
        ),
        _rule(
            BOUNCE_EVENTS,
            "bounce and complaint events",
            bounces,
            "RETENTION_DELIVERY_EVENT_DAYS",
            moment,
            event_retention.bounce_event_ages(
                session, moment, bounces.days, window.days, sender_id
            ),
        ),
        _rule(
            DSR_RECORDS,
            "closed data-subject requests",
            requests,
            "RETENTION_DSR_DAYS",
            moment,
            _dsr_counts(session, moment, requests, window, sender_id),
        ),
        _rule(
            OUTBOX_MESSAGES,
            "sent and undeliverable emails (encrypted copies)",
            outbox,
            "RETENTION_OUTBOX_DAYS",
            moment,
            _outbox_counts(session, moment, outbox, window, sender_id),
        ),
    ]
    return RetentionReport(moment, REPORT_WINDOW_DAYS, sender_id, rules)


def _purge_prospects(engine: Engine, services: Services, now: datetime) -> int:
    cutoff = now - timedelta(days=services.settings.retention_prospect_days)
    purged = 0
    after_id: str | None = None
    while True:
        with Session(read_only(engine)) as session:
            page = consent_retention.prospects_without_contact_since(
                session, cutoff, after_id=after_id
            )
            due = _without_open_requests(session, page.prospects)
        # One transaction per contact: an erasure appends to the sender's
        # audit chain, whose lock would otherwise hold back sign-ups.
        for prospect in due:
            with transaction(engine) as session:
                purged += consent_retention.purge_prospect(
                    session, services, prospect.contact_id, cutoff, PROSPECTS
                )
        if page.last_id is None:
            return purged
        after_id = page.last_id


def _purge_signups(engine: Engine, services: Services, now: datetime) -> tuple[int, int]:
    ttl = timedelta(hours=services.settings.confirmation_ttl_hours)
    purged = kept = 0
    after_id: str | None = None
    while True:
        with Session(read_only(engine)) as session:
            batch = consent_retention.expired_signup_ids(session, now, ttl, after_id=after_id)
        for contact_id in batch:
            with transaction(engine) as session:
                if consent_retention.lock_live_contact(session, contact_id) is None:
                    continue
                outcome = purge_expired(session, services, contact_id, now)
            purged += outcome == "purged"
            kept += outcome == "kept"
        if len(batch) < consent_retention.BATCH_SIZE:
            return purged, kept
        after_id = batch[-1]


def _delete_events(engine: Engine, before: datetime, *, bounces: bool) -> int:
    remove = (
        event_retention.delete_bounce_events_before
        if bounces
        else event_retention.delete_delivery_events_before
    )
    deleted = 0
    after_id: int | None = None
    while True:
        with transaction(engine) as session:
            batch = remove(session, before, after_id)
        deleted += batch.deleted
        if batch.last_id is None:
            return deleted
        after_id = batch.last_id


def _delete_requests(engine: Engine, keystore: KeyStore, before: datetime) -> tuple[int, int]:
    requests = tasks = 0
    after_id: str | None = None
    while True:
        with transaction(engine) as session:
            batch = delete_closed_requests(session, keystore, before, after_id)
        requests += batch.requests
        tasks += batch.processor_tasks
        if batch.last_id is None:
            return requests, tasks
        after_id = batch.last_id


def _delete_outbox(engine: Engine, before: datetime) -> int:
    deleted = 0
    after_id: str | None = None
    while True:
        with transaction(engine) as session:
            batch = outbox_retention.delete_finished_before(session, before, after_id)
        deleted += batch.deleted
        if batch.last_id is None:
            return deleted
        after_id = batch.last_id


def apply_retention(
    engine: Engine, services: Services, now: datetime | None = None
) -> RetentionResult:
    """Apply every rule once, for every sender, in short transactions.

    Safe to run from several processes at once and to repeat: rows locked
    by another worker are skipped, and deleted rows are not found again.
    """
    moment = now or utcnow()
    settings = services.settings

    prospects = _purge_prospects(engine, services, moment)
    signups_purged, signups_kept = _purge_signups(engine, services, moment)
    events = _delete_events(
        engine, moment - timedelta(days=settings.retention_delivery_event_days), bounces=False
    )
    bounces = _delete_events(
        engine, moment - timedelta(days=bounce_retention_days(settings)), bounces=True
    )
    requests, tasks = _delete_requests(
        engine, services.keystore, moment - timedelta(days=settings.retention_dsr_days)
    )

    outbox = _delete_outbox(engine, moment - timedelta(days=settings.retention_outbox_days))

    result = RetentionResult(
        prospects,
        signups_purged,
        signups_kept,
        events,
        bounces,
        requests,
        tasks,
        outbox_messages_deleted=outbox,
    )
    log.info("retention.applied", **asdict(result))
    return result
