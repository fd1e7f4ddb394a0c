"""Store verdicts as bounce events, apply the policy, and update campaign counts.

Service functions only flush; the caller's transaction commits (one per
request, one per message for the CLI).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from compliance.core.blind_index import AddressError, BlindIndex, BlindIndexer
from compliance.core.models import utcnow
from suppression.bounces.policy import BouncePolicy, Outcome, immediate_suppression, recorded
from suppression.bounces.verdict import BounceClass, Verdict
from suppression.models import (
    BounceEvent,
    Campaign,
    DeliveryEvent,
    EventKind,
    SuppressionReason,
)
from suppression.service import suppress

log = structlog.get_logger(__name__)

# The campaign counter each class increments.
_COUNTERS: dict[BounceClass, str] = {
    BounceClass.HARD: "hard_bounce_count",
    BounceClass.SOFT: "soft_bounce_count",
    BounceClass.COMPLAINT: "complaint_count",
    BounceClass.UNSUBSCRIBE: "unsubscribe_count",
    BounceClass.DELIVERED: "delivered_count",
}


@dataclass
class IngestReport:
    """Counts of what ingestion did, by outcome and by class."""

    messages: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)

    def add(self, verdict: Verdict, outcome: Outcome) -> None:
        self.outcomes[outcome.value] += 1
        self.classes[verdict.bounce_class.value] += 1

    def as_json(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "outcomes": dict(sorted(self.outcomes.items())),
            "classes": dict(sorted(self.classes.items())),
        }


def fingerprint(origin: str, digest: str, verdict: Verdict) -> str:
    """Identify one verdict of one report, so a report read twice is stored once."""
    text = "|".join((origin, digest, verdict.bounce_class.value, verdict.reason, verdict.status))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ingest(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    verdicts: Sequence[Verdict],
    *,
    origin: str,
    source: str,
    policy: BouncePolicy,
    actor: str,
    occurred_at: datetime | None = None,
    report: IngestReport | None = None,
) -> list[Outcome]:
    """Apply the policy to the verdicts of one report and store them.

    ``origin`` identifies the report (a hash of the raw message, or the
    ESP's event id); ``source`` names the channel (``mail``, ``ses``...).
    """
    outcomes = []
    when = occurred_at or utcnow()
    for verdict in verdicts:
        outcome = _ingest_one(
            session, sender_id, indexer, verdict, origin, source, policy, actor, when
        )
        outcomes.append(outcome)
        if report is not None:
            report.add(verdict, outcome)
    return outcomes


def _ingest_one(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    verdict: Verdict,
    origin: str,
    source: str,
    policy: BouncePolicy,
    actor: str,
    when: datetime,
) -> Outcome:
    if not recorded(verdict):
        return Outcome.IGNORED
    try:
        index = indexer.current(verdict.recipient)
        digests = [item.digest for item in indexer.all_versions(verdict.recipient)]
    except AddressError:
        log.info("bounce.address_invalid", sender_id=sender_id, source=source)
        return Outcome.IGNORED

    event = BounceEvent(
        sender_id=sender_id,
        campaign_id=find_campaign(session, sender_id, verdict),
        blind_index=index.digest,
        key_version=index.version,
        bounce_class=verdict.bounce_class.value,
        reason=verdict.reason[:32],
        status=verdict.status[:16],
        reply_code=verdict.reply_code[:8],
        feedback_type=verdict.feedback_type[:32],
        source=source,
        message_ref=_message_ref(verdict),
        fingerprint=fingerprint(origin, index.digest, verdict),
        occurred_at=when,
    )
    if not _insert(session, event):
        return Outcome.DUPLICATE

    _count(session, event)
    outcome = _apply_policy(session, sender_id, index, digests, verdict, event, policy, actor)
    log.info(
        "bounce.ingested",
        sender_id=sender_id,
        event_id=event.id,
        bounce_class=event.bounce_class,
        reason=event.reason,
        outcome=outcome.value,
        index_prefix=index.digest[:8],
    )
    return outcome


def _apply_policy(
    session: Session,
    sender_id: str,
    index: BlindIndex,
    digests: list[str],
    verdict: Verdict,
    event: BounceEvent,
    policy: BouncePolicy,
    actor: str,
) -> Outcome:
    reason = immediate_suppression(verdict)
    if reason is not None:
        suppress(
            session,
            sender_id,
            index,
            reason=reason,
            source=f"bounce:{event.source}",
            actor=actor,
            event_ref=f"bounce_event:{event.id}",
        )
        return Outcome.SUPPRESSED

    if verdict.bounce_class is BounceClass.SOFT:
        attempts = soft_attempts(session, sender_id, digests, event.occurred_at, policy)
        event.attempt = attempts
        session.add(event)
        session.flush()
        if attempts >= policy.soft_limit:
            suppress(
                session,
                sender_id,
                index,
                reason=SuppressionReason.HARD_BOUNCE,
                source="bounce:soft_confirmed",
                actor=actor,
                event_ref=f"bounce_event:{event.id}",
            )
            return Outcome.CONFIRMED_FAILURE
        return Outcome.COUNTED
    return Outcome.RECORDED


def soft_attempts(
    session: Session,
    sender_id: str,
    digests: Sequence[str],
    now: datetime,
    policy: BouncePolicy,
) -> int:
    """Count the failed sends of an address within the window and since its last delivery.

    Several reports about one send (a delay warning, then the final
    failure) count once: sends are told apart by their original Message-ID.
    """
    since = now - policy.soft_window
    delivered = session.exec(
        select(func.max(BounceEvent.occurred_at)).where(
            BounceEvent.sender_id == sender_id,
            col(BounceEvent.blind_index).in_(list(digests)),
            BounceEvent.bounce_class == BounceClass.DELIVERED.value,
            BounceEvent.occurred_at <= now,
        )
    ).one()
    if delivered is not None and delivered > since:
        since = delivered
    rows = session.exec(
        select(BounceEvent.message_ref, BounceEvent.fingerprint).where(
            BounceEvent.sender_id == sender_id,
            col(BounceEvent.blind_index).in_(list(digests)),
            BounceEvent.bounce_class == BounceClass.SOFT.value,
            BounceEvent.occurred_at > since,
            BounceEvent.occurred_at <= now,
        )
    ).all()
    return len({message_ref or print_ for message_ref, print_ in rows})


def find_campaign(session: Session, sender_id: str, verdict: Verdict) -> str | None:
    """Return this sender's campaign named by the returned message, or None.

    The campaign header (``X-Sendguard-Campaign``) names it directly; a
    Message-ID of the form ``<campaign-id.anything@host>`` names it too.
    """
    candidates = [verdict.campaign_ref.strip()] if verdict.campaign_ref else []
    local = verdict.original_message_id.strip().strip("<>").rpartition("@")[0]
    if local:
        candidates.append(local.split(".")[0].split("+")[0])
    candidates = [item for item in candidates if 0 < len(item) <= 36]
    if not candidates:
        return None
    found = session.exec(
        select(Campaign.id).where(col(Campaign.id).in_(candidates), Campaign.sender_id == sender_id)
    ).first()
    return found


def _message_ref(verdict: Verdict) -> str:
    if not verdict.original_message_id:
        return ""
    return hashlib.sha256(verdict.original_message_id.encode("utf-8")).hexdigest()


def _insert(session: Session, event: BounceEvent) -> bool:
    existing = session.exec(
        select(BounceEvent.id).where(
            BounceEvent.sender_id == event.sender_id, BounceEvent.fingerprint == event.fingerprint
        )
    ).first()
    if existing is not None:
        return False
    try:
        # A savepoint, so a concurrent insert of the same report fails alone.
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        return False
    return True


def _count(session: Session, event: BounceEvent) -> None:
    counter = _COUNTERS.get(BounceClass(event.bounce_class))
    if event.campaign_id is None or counter is None:
        return
    column = getattr(Campaign, counter)
    # One UPDATE adds 1 in the database, so concurrent reports lose no count.
    session.execute(
        update(Campaign).where(col(Campaign.id) == event.campaign_id).values({column: column + 1})
    )
    if event.bounce_class == BounceClass.DELIVERED.value:
        session.add(
            DeliveryEvent(
                sender_id=event.sender_id,
                campaign_id=event.campaign_id,
                blind_index=event.blind_index,
                kind=EventKind.DELIVERED.value,
                occurred_at=event.occurred_at,
            )
        )
    session.flush()


def raw_origin(raw: bytes) -> str:
    """Identify a raw report by its content, for idempotent re-reads."""
    return "mail:" + hashlib.sha256(raw).hexdigest()


def ingest_all(
    session: Session,
    sender_id: str,
    indexer: BlindIndexer,
    batches: Iterable[tuple[str, Sequence[Verdict]]],
    *,
    source: str,
    policy: BouncePolicy,
    actor: str,
) -> IngestReport:
    """Ingest several reports, each given as ``(origin, verdicts)``."""
    report = IngestReport()
    for origin, verdicts in batches:
        report.messages += 1
        ingest(
            session,
            sender_id,
            indexer,
            verdicts,
            origin=origin,
            source=source,
            policy=policy,
            actor=actor,
            report=report,
        )
    return report
