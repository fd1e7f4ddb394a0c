"""Read the ledger into the facts the lawful-basis rules need, and judge recipients.

This is the one place the pre-send checks and the screening ask whether a
recipient has a valid basis: ``verdicts_for_digests`` returns a
``consent.basis.BasisVerdict`` per address.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from compliance.core.models import utcnow
from consent.basis import (
    Audience,
    Basis,
    BasisVerdict,
    ConsentEvidence,
    RecipientFacts,
    Regime,
    Source,
    evaluate,
)
from consent.models import ConsentAction, ConsentRecord, Contact, ContactStatus
from suppression.screening import BasisAnswer

_CHUNK = 500


def _topics(record: ConsentRecord) -> tuple[str, ...]:
    try:
        value = json.loads(record.topics)
    except ValueError:
        return ()
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _overlaps(withdrawn: tuple[str, ...], given: tuple[str, ...]) -> bool:
    # A withdrawal without topics, or of a topic the record covers, ends it.
    return not withdrawn or not given or bool(set(withdrawn) & set(given))


def facts_from_records(contact: Contact, records: Sequence[ConsentRecord]) -> RecipientFacts:
    """Turn one contact's ledger records, in id order, into ``RecipientFacts``."""
    confirmations = {
        record.confirms_record_id: record.created_at
        for record in records
        if record.action == ConsentAction.CONFIRMED and record.confirms_record_id is not None
    }
    # A withdrawal that a reviewed reversal undid (a link scanner's click,
    # not the person's) no longer counts.
    reversed_ids = {
        record.confirms_record_id
        for record in records
        if record.action == ConsentAction.UPDATED and record.source == "reversal"
    }
    withdrawals = [
        (record.created_at, _topics(record))
        for record in records
        if record.action == ConsentAction.WITHDRAWN and record.id not in reversed_ids
    ]

    evidence: list[ConsentEvidence] = []
    declared_minor: bool | None = None
    parental_consent = False
    for record in records:
        if record.action != ConsentAction.GIVEN:
            continue
        try:
            basis = Basis(record.lawful_basis)
            source = Source(record.source)
        except ValueError:
            # A value this version does not know grants nothing.
            continue
        topics = _topics(record)
        withdrawn_at = min(
            (
                moment
                for moment, withdrawn_topics in withdrawals
                if moment >= record.created_at and _overlaps(withdrawn_topics, topics)
            ),
            default=None,
        )
        evidence.append(
            ConsentEvidence(
                basis=basis,
                source=source,
                given_at=record.created_at,
                confirmed_at=confirmations.get(record.id or 0),
                withdrawn_at=withdrawn_at,
                relationship_at=record.relationship_at,
                opt_out_offered=record.opt_out_offered,
                related_to_profession=record.related_to_profession,
                has_proof=record.has_proof,
                topics=topics,
            )
        )
        # The latest record that states an age decides.
        if record.declared_minor is not None:
            declared_minor = record.declared_minor
            parental_consent = record.parental_consent

    audience = Audience(contact.audience) if contact.audience in ("b2b", "b2c") else None
    return RecipientFacts(
        country=contact.country,
        audience=audience,
        declared_minor=declared_minor,
        parental_consent=parental_consent,
        evidence=tuple(evidence),
    )


def judge(
    facts: RecipientFacts,
    at: datetime,
    topic: str | None,
    default_regime: Regime,
) -> BasisVerdict:
    """Evaluate ``facts`` for one topic, or for any topic when ``topic`` is None.

    A screen without a topic asks "may this sender mail this person at all":
    each topic the records name is judged on its own, and the first valid
    one answers. Judging topic by topic keeps a withdrawal from one topic
    from ending the consent given for another.
    """
    if topic is not None:
        return evaluate(facts, at, topic=topic, default_regime=default_regime)
    topics = sorted({name for item in facts.evidence for name in item.topics})
    if not topics:
        return evaluate(facts, at, topic=None, default_regime=default_regime)
    verdicts = [evaluate(facts, at, topic=name, default_regime=default_regime) for name in topics]
    valid = [verdict for verdict in verdicts if verdict.valid]
    if valid:
        return valid[0]
    informative = [verdict for verdict in verdicts if verdict.code != "topic_not_covered"]
    return (informative or verdicts)[0]


def verdicts_for_digests(
    session: Session,
    sender_id: str,
    digests: Sequence[str],
    *,
    at: datetime | None = None,
    topic: str | None = None,
    default_regime: Regime = Regime.GDPR,
) -> dict[str, BasisVerdict]:
    """Judge each digest that belongs to a contact; digests without a contact are absent."""
    moment = at or utcnow()
    verdicts: dict[str, BasisVerdict] = {}
    for start in range(0, len(digests), _CHUNK):
        chunk = list(digests[start : start + _CHUNK])
        contacts = session.exec(
            select(Contact).where(
                Contact.sender_id == sender_id,
                col(Contact.email_index).in_(chunk),
                col(Contact.status).not_in([ContactStatus.ERASED, ContactStatus.EXPIRED]),
            )
        ).all()
        if not contacts:
            continue
        by_contact: dict[str, list[ConsentRecord]] = defaultdict(list)
        records = session.exec(
            select(ConsentRecord)
            .where(col(ConsentRecord.contact_id).in_([contact.id for contact in contacts]))
            .order_by(col(ConsentRecord.id))
        )
        for record in records:
            by_contact[record.contact_id].append(record)
        for contact in contacts:
            facts = facts_from_records(contact, by_contact.get(contact.id, []))
            if contact.email_index is not None:
                verdicts[contact.email_index] = judge(facts, moment, topic, default_regime)
    return verdicts


def digests_with_basis(
    session: Session, sender_id: str, digests: Sequence[str], *, at: datetime | None = None
) -> dict[str, BasisAnswer]:
    """Judge ``digests`` at ``at`` (default: now) for the screening.

    Returns one BasisAnswer per digest of a known contact. A pre-send check
    passes the planned send time, so that an implied consent that expires
    before the send is refused.
    """
    moment = at or utcnow()
    # An address without a contact has no record and no known country,
    # which the rules judge under GDPR: it gets no answer, so no basis.
    verdicts = verdicts_for_digests(session, sender_id, digests, at=moment)
    answers = {
        digest: BasisAnswer(verdict.valid, verdict.code, tuple(verdict.flags))
        for digest, verdict in verdicts.items()
    }
    # A subscriber who paused mail from the preference page gets none until then.
    for digest in paused_digests(session, sender_id, list(answers), moment):
        answers[digest] = BasisAnswer(False, "paused")
    return answers


def paused_digests(
    session: Session, sender_id: str, digests: Sequence[str], now: datetime
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), _CHUNK):
        chunk = list(digests[start : start + _CHUNK])
        rows = session.exec(
            select(Contact.email_index).where(
                Contact.sender_id == sender_id,
                col(Contact.email_index).in_(chunk),
                col(Contact.paused_until).is_not(None),
                col(Contact.paused_until) > now,
            )
        )
        found.update(digest for digest in rows if digest is not None)
    return found
