"""Preference changes from the subscriber's page: scoped unsubscribes, topics,
frequency, pause, name, address, leave reasons, and their reviewed reversal.

Every change is a ``PreferenceEvent`` with its method and a keyed
fingerprint of the client, so a burst made by a link scanner can be found
and undone by the sender with an audit trail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.blind_index import BlindIndex
from compliance.core.context import Services
from compliance.core.models import new_id, utcnow
from compliance.core.tokens import TokenClaims
from consent import ledger
from consent.models import (
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    PreferenceEvent,
    PreferenceEventKind,
    PreferenceMethod,
    Subscription,
    SubscriptionStatus,
    Topic,
)
from consent.service import ClientInfo, unsubscribe_all
from suppression.lists import resubscribe_memberships, unsubscribe_from_list
from suppression.models import SuppressionReason, SuppressionScope
from suppression.service import lift_for_event, move_event_entries, suppress

log = structlog.get_logger(__name__)

FREQUENCIES = ("normal", "weekly", "monthly")
LEAVE_REASONS = ("too_frequent", "not_relevant", "never_subscribed", "other")
MAX_PAUSE = timedelta(days=365)


def _event(
    services: Services,
    contact: Contact,
    kind: str,
    method: PreferenceMethod,
    client: ClientInfo,
    *,
    scope: str = "all",
    value: str | None = None,
) -> PreferenceEvent:
    return PreferenceEvent(
        id=new_id(),
        sender_id=contact.sender_id,
        contact_id=contact.id,
        # Raises ValueError on a kind missing from the enum, so the filter lists every stored kind.
        kind=PreferenceEventKind(kind).value,
        method=method,
        scope=scope,
        value=value,
        client_hash=services.fingerprints.digest(client.ip, client.user_agent),
    )


def record_preference_event(
    session: Session,
    services: Services,
    contact: Contact,
    kind: str,
    method: PreferenceMethod,
    client: ClientInfo,
    *,
    scope: str = "all",
    value: str | None = None,
) -> PreferenceEvent:
    event = _event(services, contact, kind, method, client, scope=scope, value=value)
    session.add(event)
    session.flush()
    return event


def _ledger_record(
    session: Session,
    contact: Contact,
    action: ConsentAction,
    topics: Sequence[str],
    source: str,
    confirms_record_id: int | None = None,
) -> ConsentRecord:
    return ledger.append(
        session,
        ConsentRecord(
            sender_id=contact.sender_id,
            contact_id=contact.id,
            action=action,
            topics=json.dumps(sorted(topics)),
            lawful_basis="consent",
            regime="gdpr",
            source=source,
            language=contact.locale,
            confirms_record_id=confirms_record_id,
            prev_hash="",
            record_hash="",
        ),
    )


def _index(contact: Contact) -> BlindIndex | None:
    if contact.email_index is None:
        return None
    return BlindIndex(contact.email_index_version, contact.email_index)


def is_stale(session: Session, contact: Contact, claims: TokenClaims) -> bool:
    """Tell whether the link predates an unsubscribe followed by a new confirmation.

    An old link must not end a subscription the person made again later.
    """
    if contact.status != ContactStatus.CONFIRMED or contact.confirmed_at is None:
        return False
    withdrawn = session.exec(
        select(ConsentRecord.id).where(
            ConsentRecord.contact_id == contact.id,
            ConsentRecord.action == ConsentAction.WITHDRAWN,
            col(ConsentRecord.created_at) > claims.issued_at,
            col(ConsentRecord.created_at) < contact.confirmed_at,
        )
    ).first()
    return withdrawn is not None


@dataclass(frozen=True)
class UnsubscribeOutcome:
    changed: bool
    # "all", "topic:<key>" or "list:<id>": what was (or would have been) unsubscribed.
    scope: str
    # The link was issued before the person unsubscribed and subscribed again.
    stale: bool = False


def unsubscribe_scope(
    session: Session,
    services: Services,
    contact: Contact,
    claims: TokenClaims,
    method: PreferenceMethod,
    client: ClientInfo,
) -> UnsubscribeOutcome:
    """Unsubscribe exactly what the link was sent for: everything, one topic or one list."""
    scope = claims.scope
    if is_stale(session, contact, claims):
        log.info("preferences.stale_link", contact_id=contact.id, scope=scope)
        return UnsubscribeOutcome(changed=False, scope=scope, stale=True)

    kind, _, ref = scope.partition(":")
    if kind not in ("topic", "list") or not ref:
        scope = "all"
    event = _event(services, contact, "unsubscribe", method, client, scope=scope)
    event_ref = f"preference:{event.id}"
    if kind == "topic" and ref:
        changed = _unsubscribe_topic(session, services, contact, ref, method, event_ref)
    elif kind == "list" and ref:
        changed = _unsubscribe_list(session, contact, ref, method, event_ref)
    else:
        changed = unsubscribe_all(
            session, services, contact, source=method.value, event_ref=event_ref
        )
    if changed:
        # Stamped after the change, so the event follows the ledger records it caused.
        event.created_at = utcnow()
        session.add(event)
        session.flush()
        log.info(
            "preferences.unsubscribed", contact_id=contact.id, scope=scope, method=method.value
        )
    return UnsubscribeOutcome(changed=changed, scope=scope)


def _unsubscribe_topic(
    session: Session,
    services: Services,
    contact: Contact,
    topic: str,
    method: PreferenceMethod,
    event_ref: str,
) -> bool:
    row = session.exec(
        select(Subscription).where(
            Subscription.contact_id == contact.id, Subscription.topic == topic
        )
    ).first()
    if row is None or row.status == SubscriptionStatus.UNSUBSCRIBED:
        return False
    row.status = SubscriptionStatus.UNSUBSCRIBED
    row.updated_at = utcnow()
    session.add(row)
    _ledger_record(session, contact, ConsentAction.WITHDRAWN, [topic], method.value)
    index = _index(contact)
    if index is not None:
        suppress(
            session,
            contact.sender_id,
            index,
            reason=SuppressionReason.UNSUBSCRIBE,
            source=method.value,
            actor=f"contact:{contact.id}",
            scope=SuppressionScope.TOPIC,
            scope_ref=topic,
            event_ref=event_ref,
        )
    # With its last topic gone, nothing is left to send: unsubscribe globally.
    if _live_subscriptions(session, contact) == 0:
        unsubscribe_all(session, services, contact, source=method.value, event_ref=event_ref)
    return True


def _live_subscriptions(session: Session, contact: Contact) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Subscription)
            .where(
                Subscription.contact_id == contact.id,
                Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        ).one()
    )


def _unsubscribe_list(
    session: Session, contact: Contact, list_id: str, method: PreferenceMethod, event_ref: str
) -> bool:
    if not unsubscribe_from_list(session, contact.sender_id, list_id, contact.id):
        return False
    index = _index(contact)
    if index is not None:
        # A list-scoped entry: screening for this list excludes the address
        # even if someone adds it back to the list.
        suppress(
            session,
            contact.sender_id,
            index,
            reason=SuppressionReason.UNSUBSCRIBE,
            source=method.value,
            actor=f"contact:{contact.id}",
            scope=SuppressionScope.LIST,
            scope_ref=list_id,
            event_ref=event_ref,
        )
    return True


@dataclass(frozen=True)
class TopicChange:
    added: list[str]
    removed: list[str]


def set_topics(
    session: Session,
    services: Services,
    contact: Contact,
    wanted: set[str],
    public_topics: Sequence[Topic],
    client: ClientInfo,
) -> TopicChange:
    """Turn public topics on and off for a confirmed contact.

    A topic turned on is a new consent for that topic: its wording is the
    topic's stored wording, given and confirmed by the person through the
    link sent to the confirmed address. Topics that are not public are left
    as they are.
    """
    offered = {topic.key: topic for topic in public_topics}
    if contact.status != ContactStatus.CONFIRMED:
        # Only a confirmed address may add topics without a new double
        # opt-in: a page left open after an unsubscribe must not subscribe
        # the person again. Removing topics stays possible.
        wanted = wanted & {
            row.topic
            for row in session.exec(
                select(Subscription).where(Subscription.contact_id == contact.id)
            )
            if row.status in (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PAUSED)
        }
    rows = {
        row.topic: row
        for row in session.exec(select(Subscription).where(Subscription.contact_id == contact.id))
    }
    active = {
        key
        for key, row in rows.items()
        if row.status in (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PAUSED)
    }
    added = sorted(key for key in wanted & offered.keys() if key not in active)
    removed = sorted(key for key in active & offered.keys() if key not in wanted)

    for key in added:
        row = rows.get(key) or Subscription(
            sender_id=contact.sender_id, contact_id=contact.id, topic=key
        )
        row.status = SubscriptionStatus.CONFIRMED
        row.updated_at = utcnow()
        session.add(row)
        topic = offered[key]
        given = ledger.append(
            session,
            ConsentRecord(
                sender_id=contact.sender_id,
                contact_id=contact.id,
                action=ConsentAction.GIVEN,
                topics=json.dumps([key]),
                lawful_basis="consent",
                regime="gdpr",
                source="form",
                wording_version=topic.wording_version,
                wording_sha256=_sha256(
                    topic.wording_fr if contact.locale == "fr" else topic.wording_en
                ),
                language=contact.locale,
                country=contact.country,
                audience=contact.audience,
                prev_hash="",
                record_hash="",
            ),
        )
        # The address is already proven by the earlier double opt-in, and
        # the page link was sent to it: the same act confirms.
        ledger.append(
            session,
            ConsentRecord(
                sender_id=contact.sender_id,
                contact_id=contact.id,
                action=ConsentAction.CONFIRMED,
                topics=json.dumps([key]),
                lawful_basis="consent",
                regime="gdpr",
                source="form",
                wording_version=topic.wording_version,
                wording_sha256=given.wording_sha256,
                language=contact.locale,
                confirms_record_id=given.id,
                country=contact.country,
                audience=contact.audience,
                prev_hash="",
                record_hash="",
            ),
        )
        record_preference_event(
            session,
            services,
            contact,
            "topic_on",
            PreferenceMethod.PAGE,
            client,
            scope=f"topic:{key}",
        )

    for key in removed:
        row = rows[key]
        row.status = SubscriptionStatus.UNSUBSCRIBED
        row.updated_at = utcnow()
        session.add(row)
        _ledger_record(session, contact, ConsentAction.WITHDRAWN, [key], "preference_center")
        record_preference_event(
            session,
            services,
            contact,
            "topic_off",
            PreferenceMethod.PAGE,
            client,
            scope=f"topic:{key}",
        )
    session.flush()
    if removed and _live_subscriptions(session, contact) == 0:
        unsubscribe_all(session, services, contact, source="preference_center")
    return TopicChange(added, removed)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def set_frequency(
    session: Session, services: Services, contact: Contact, frequency: str, client: ClientInfo
) -> bool:
    """Set how often the contact wants mail, on every subscription; False when unchanged."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    changed = False
    for row in session.exec(select(Subscription).where(Subscription.contact_id == contact.id)):
        if row.frequency != frequency:
            row.frequency = frequency
            row.updated_at = utcnow()
            session.add(row)
            changed = True
    if changed:
        record_preference_event(
            session, services, contact, "frequency", PreferenceMethod.PAGE, client, value=frequency
        )
    return changed


def pause(
    session: Session, services: Services, contact: Contact, until: datetime, client: ClientInfo
) -> None:
    """Stop marketing email until ``until`` (at most a year ahead); screening honours it."""
    now = utcnow()
    if until <= now or until - now > MAX_PAUSE:
        raise ValueError("the pause must end between tomorrow and one year from now")
    contact.paused_until = until
    session.add(contact)
    record_preference_event(
        session,
        services,
        contact,
        "pause",
        PreferenceMethod.PAGE,
        client,
        value=until.date().isoformat(),
    )


def resume(session: Session, services: Services, contact: Contact, client: ClientInfo) -> bool:
    if contact.paused_until is None:
        return False
    contact.paused_until = None
    session.add(contact)
    record_preference_event(session, services, contact, "resume", PreferenceMethod.PAGE, client)
    return True


def record_leave_reason(
    session: Session, services: Services, contact: Contact, reason: str, client: ClientInfo
) -> None:
    """Keep a reason for leaving; senders see only counts (see ``leave_reason_counts``)."""
    if reason not in LEAVE_REASONS:
        raise ValueError(f"reason must be one of {', '.join(LEAVE_REASONS)}")
    record_preference_event(
        session, services, contact, "leave_reason", PreferenceMethod.PAGE, client, value=reason
    )


def leave_reason_counts(session: Session, sender_id: str, since: datetime) -> dict[str, int]:
    rows = session.exec(
        select(PreferenceEvent.value, func.count())
        .where(
            PreferenceEvent.sender_id == sender_id,
            PreferenceEvent.kind == "leave_reason",
            col(PreferenceEvent.created_at) >= since,
        )
        .group_by(col(PreferenceEvent.value))
    ).all()
    counts = {reason: 0 for reason in LEAVE_REASONS}
    for value, count in rows:
        if value in counts:
            counts[value] = int(count)
    return counts


@dataclass(frozen=True)
class ReversalOutcome:
    reversed_event_ids: list[str]
    # Events not reversed: unknown, already reversed, or not an unsubscribe.
    skipped_event_ids: list[str]


def reverse_unsubscribes(
    session: Session, sender_id: str, event_ids: Sequence[str], actor: str, justification: str
) -> ReversalOutcome:
    """Undo unsubscribes found, after review, to come from a machine rather than a person.

    The contact returns to what the event unsubscribed, the suppression
    entries the event made are lifted with the justification, and the ledger
    and the audit log record the reversal. When another unsubscribe that is
    not reversed asks for the same thing (the same scope, or everything),
    the opt-out remains: the event is marked reversed, and its entries move
    to that other event. Complaints, erasures and objections are never
    touched.
    """
    done: list[str] = []
    skipped: list[str] = []
    # Each id once, so that a repeated id is not both reversed and skipped.
    for event_id in dict.fromkeys(event_ids):
        event = session.get(PreferenceEvent, event_id)
        if (
            event is None
            or event.sender_id != sender_id
            or event.kind != "unsubscribe"
            or event.reversed_at is not None
        ):
            skipped.append(event_id)
            continue
        contact = session.get(Contact, event.contact_id)
        if contact is None or contact.status in (ContactStatus.ERASED, ContactStatus.EXPIRED):
            skipped.append(event_id)
            continue

        covering = _covering_unsubscribe(session, event)
        if covering is not None:
            # The person's own opt-out, made after a scanner's for example,
            # keeps the address out: nothing is restored or lifted.
            move_event_entries(
                session, sender_id, f"preference:{event.id}", f"preference:{covering.id}", actor
            )
            _mark_reversed(session, sender_id, event, actor)
            done.append(event_id)
            continue

        lift_for_event(session, sender_id, f"preference:{event.id}", actor, justification)
        topics = _restore_subscriptions(session, contact, event)
        # The reversal points at the withdrawal it undoes: the ledger keeps
        # both, and the lawful-basis rules skip a reversed withdrawal.
        withdrawal = session.exec(
            select(ConsentRecord.id)
            .where(
                ConsentRecord.contact_id == contact.id,
                ConsentRecord.action == ConsentAction.WITHDRAWN,
                col(ConsentRecord.created_at) <= event.created_at,
            )
            .order_by(col(ConsentRecord.id).desc())
        ).first()
        _ledger_record(session, contact, ConsentAction.UPDATED, topics, "reversal", withdrawal)
        _mark_reversed(session, sender_id, event, actor)
        done.append(event_id)
    session.flush()
    log.info("preferences.reversed", sender_id=sender_id, reversed=len(done), skipped=len(skipped))
    return ReversalOutcome(done, skipped)


def _mark_reversed(session: Session, sender_id: str, event: PreferenceEvent, actor: str) -> None:
    event.reversed_at = utcnow()
    event.reversed_by = actor
    session.add(event)
    record_event(
        session,
        sender_id,
        actor=actor,
        action="preferences.unsubscribe_reversed",
        object_type="preference_event",
        object_id=event.id,
    )


def _covering_unsubscribe(session: Session, event: PreferenceEvent) -> PreferenceEvent | None:
    """Return another standing unsubscribe of the contact with the same scope or "all"."""
    return session.exec(
        select(PreferenceEvent)
        .where(
            PreferenceEvent.contact_id == event.contact_id,
            PreferenceEvent.kind == "unsubscribe",
            PreferenceEvent.id != event.id,
            col(PreferenceEvent.reversed_at).is_(None),
            col(PreferenceEvent.scope).in_([event.scope, "all"]),
        )
        .order_by(col(PreferenceEvent.created_at).desc(), col(PreferenceEvent.id).desc())
    ).first()


def _topics_left(session: Session, contact_id: str) -> set[str]:
    """Return the topics the person turned off on their own: page or topic link, not reversed."""
    events = session.exec(
        select(PreferenceEvent)
        .where(
            PreferenceEvent.contact_id == contact_id,
            col(PreferenceEvent.kind).in_(["unsubscribe", "topic_off", "topic_on"]),
            col(PreferenceEvent.scope).startswith("topic:"),
        )
        .order_by(col(PreferenceEvent.created_at), col(PreferenceEvent.id))
    ).all()
    left: dict[str, bool] = {}
    for event in events:
        if event.reversed_at is not None:
            continue
        # The latest choice for each topic wins.
        left[event.scope.partition(":")[2]] = event.kind != "topic_on"
    return {topic for topic, is_left in left.items() if is_left}


def _lists_left(session: Session, contact_id: str) -> set[str]:
    """Return the lists a contact left through a list link whose unsubscribe is not reversed."""
    scopes = session.exec(
        select(PreferenceEvent.scope).where(
            PreferenceEvent.contact_id == contact_id,
            PreferenceEvent.kind == "unsubscribe",
            col(PreferenceEvent.scope).startswith("list:"),
            col(PreferenceEvent.reversed_at).is_(None),
        )
    ).all()
    return {scope.partition(":")[2] for scope in scopes}


def _restore_subscriptions(session: Session, contact: Contact, event: PreferenceEvent) -> list[str]:
    """Undo what the unsubscribe ``event`` changed and return the topics subscribed again."""
    kind, _, ref = event.scope.partition(":")
    if kind == "list":
        # A list link unsubscribed from that one list: topics and the
        # contact's status were left as they were.
        resubscribe_memberships(session, contact.id, [ref], keep_left=())
        return []

    # A global reversal leaves off the topics the person turned off on their own.
    keep_off = _topics_left(session, contact.id) if kind == "all" else set()
    restored: list[str] = []
    for row in session.exec(select(Subscription).where(Subscription.contact_id == contact.id)):
        if row.status != SubscriptionStatus.UNSUBSCRIBED or row.topic in keep_off:
            continue
        if kind == "topic" and row.topic != ref:
            continue
        row.status = SubscriptionStatus.CONFIRMED
        row.updated_at = utcnow()
        session.add(row)
        restored.append(row.topic)
    if kind == "all" or contact.status == ContactStatus.UNSUBSCRIBED:
        # The global unsubscribe marked every membership unsubscribed (a
        # topic link does it too, with the last topic). A list the person
        # left through its own link, not reversed, stays left.
        resubscribe_memberships(
            session, contact.id, None, keep_left=_lists_left(session, contact.id)
        )
    if contact.status == ContactStatus.UNSUBSCRIBED:
        contact.status = (
            ContactStatus.CONFIRMED if contact.confirmed_at is not None else ContactStatus.IMPORTED
        )
        session.add(contact)
    return restored
