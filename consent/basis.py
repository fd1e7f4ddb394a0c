"""Lawful basis to send marketing email to one recipient, and the regime it falls under.

Pure rules: no database and no I/O. The pre-send checks and the screening
build a :class:`RecipientFacts` from the consent ledger and call
:func:`evaluate`, which returns a :class:`BasisVerdict` saying whether a valid
basis exists, under which regime, on which rule of the rule table (the ``rule``
ids ``EU-…``, ``EP-…``, ``CA-…``, ``US-…`` of the legal rule table), and why.
The facts and tables live in :mod:`consent.basis_facts`, the verdict
sentences in :mod:`consent.basis_messages`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from consent.basis_facts import (
    AGE_OF_DIGITAL_CONSENT,
    CASL_EXPIRY_WARNING,
    CASL_IMPLIED_MONTHS,
    CONSENT_BASES,
    DEFAULT_AGE_OF_DIGITAL_CONSENT,
    EU_EEA_COUNTRIES,
    SIDE_CHANNEL_SOURCES,
    Audience,
    Basis,
    BasisVerdict,
    ConsentEvidence,
    RecipientFacts,
    Regime,
    Source,
    add_months,
    age_of_digital_consent,
    iso_day,
    normalize_country,
    regime_for,
    require_aware,
)
from consent.basis_messages import (
    MESSAGES,
    NO_BASIS_RULE,
    OBJECTION_RULE,
    SUPPRESSION_RULE,
    WITHDRAWAL_RULE,
)

__all__ = [
    "AGE_OF_DIGITAL_CONSENT",
    "CASL_EXPIRY_WARNING",
    "CASL_IMPLIED_MONTHS",
    "CONSENT_BASES",
    "DEFAULT_AGE_OF_DIGITAL_CONSENT",
    "EU_EEA_COUNTRIES",
    "MESSAGES",
    "SIDE_CHANNEL_SOURCES",
    "Audience",
    "Basis",
    "BasisVerdict",
    "ConsentEvidence",
    "RecipientFacts",
    "Regime",
    "Source",
    "add_months",
    "age_of_digital_consent",
    "evaluate",
    "normalize_country",
    "regime_for",
]


@dataclass(frozen=True)
class _Record:
    """The record being assessed: its position in the facts and the flags it carries."""

    index: int
    evidence: ConsentEvidence
    regime: Regime
    flags: tuple[str, ...]

    def verdict(
        self,
        code: str,
        rule: str,
        *,
        valid: bool = False,
        basis: Basis | None = None,
        message_key: str | None = None,
        params: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
    ) -> BasisVerdict:
        return BasisVerdict(
            valid=valid,
            regime=self.regime,
            basis=basis or self.evidence.basis,
            code=code,
            message=MESSAGES[message_key or code],
            rule=rule,
            params=dict(params or {}),
            flags=self.flags,
            expires_at=expires_at,
            evidence_index=self.index,
        )


def evaluate(
    facts: RecipientFacts,
    at: datetime,
    *,
    topic: str | None = None,
    default_regime: Regime = Regime.GDPR,
) -> BasisVerdict:
    """Decide whether marketing email about ``topic`` may be sent to a recipient at ``at``.

    Every record that covers the topic is assessed: a record without topics
    covers every topic, and a send without a topic is covered only by
    records without topics, because consent must be specific. Records given
    after ``at`` are ignored. The best valid basis wins. Without one, the
    refusal about the most recent record is returned, because it is the one
    the sender can act on.

    :raises ValueError: when ``at`` is a naive datetime.
    """
    require_aware("at", at)
    country = normalize_country(facts.country)
    regime = regime_for(country, facts.audience, default_regime)
    context_flags = ("country_unknown",) if country is None else ()

    def general(code: str, rule: str, **params: str) -> BasisVerdict:
        valid = code == "can_spam_no_opt_out"
        key = f"{code}:{regime.value}" if code == "no_basis" else code
        return BasisVerdict(
            valid=valid,
            regime=regime,
            basis=Basis.CAN_SPAM_OPT_OUT if valid else None,
            code=code,
            message=MESSAGES[key],
            rule=rule,
            params=params,
            flags=context_flags,
        )

    # Suppression beats every basis, a newer consent included: a confirmed
    # double opt-in lifts the suppression entry before this is called.
    if facts.suppressed:
        return general("suppressed", SUPPRESSION_RULE[regime])

    existing = [(index, item) for index, item in enumerate(facts.evidence) if item.given_at <= at]
    relevant = [(index, item) for index, item in existing if _covers(item, topic)]
    withdrawals = [
        item.withdrawn_at
        for _, item in relevant
        if item.withdrawn_at is not None and item.withdrawn_at <= at
    ]
    assessed = [
        outcome
        for index, item in relevant
        if (outcome := _assess(_record(index, item, regime), facts, country, at, withdrawals))
    ]

    valid = [verdict for _, _, verdict in assessed if verdict.valid]
    if valid:
        best = max(valid, key=_preference)
        if regime is Regime.GDPR and facts.declared_minor and not facts.parental_consent:
            best = _minor_refusal(best, country)
        return _with_flags(best, context_flags)
    if assessed:
        # The newest record first; at the same instant a withdrawal wins.
        _, _, newest = max(assessed, key=lambda entry: (entry[0], entry[1]))
        return _with_flags(newest, context_flags)

    if regime is Regime.CAN_SPAM:
        # CAN-SPAM is opt-out: without an opt-out, no consent is needed (15 U.S.C. 7704(a)(4)).
        return general("can_spam_no_opt_out", "US-06")
    if topic is not None and existing:
        return general("topic_not_covered", NO_BASIS_RULE[regime], topic=topic)
    return general("no_basis", NO_BASIS_RULE[regime])


def _record(index: int, evidence: ConsentEvidence, regime: Regime) -> _Record:
    # GDPR Art. 7(1) and CASL s. 13 put the onus of proof on the sender, and
    # a partner's guarantee is not proof. The pre-send check sets the severity.
    flags: tuple[str, ...] = ()
    if not evidence.has_proof:
        flags = (
            ("imported_without_proof",) if evidence.source is Source.IMPORT else ("without_proof",)
        )
    return _Record(index, evidence, regime, flags)


def _covers(evidence: ConsentEvidence, topic: str | None) -> bool:
    if not evidence.topics:
        return True
    return topic is not None and topic in evidence.topics


def _confirmed(evidence: ConsentEvidence, at: datetime) -> bool:
    return evidence.confirmed_at is not None and evidence.confirmed_at <= at


def _affirmed_at(evidence: ConsentEvidence, at: datetime) -> datetime:
    """Return the last act of the person on this record that had happened by ``at``."""
    if evidence.confirmed_at is not None and evidence.confirmed_at <= at:
        return max(evidence.given_at, evidence.confirmed_at)
    return evidence.given_at


def _recency(evidence: ConsentEvidence, at: datetime) -> datetime:
    moments = [_affirmed_at(evidence, at)]
    if evidence.relationship_at is not None and evidence.relationship_at <= at:
        moments.append(evidence.relationship_at)
    return max(moments)


def _withdrawal(
    evidence: ConsentEvidence, at: datetime, withdrawals: list[datetime]
) -> datetime | None:
    """Return the withdrawal that ends ``evidence`` at ``at``, or None.

    A record's own withdrawal always ends it. A withdrawal recorded on
    another record ends every basis given or confirmed at or before it, so
    only a consent confirmed after the withdrawal counts again.
    """
    if evidence.withdrawn_at is not None and evidence.withdrawn_at <= at:
        return evidence.withdrawn_at
    affirmed = _affirmed_at(evidence, at)
    later = [moment for moment in withdrawals if moment >= affirmed]
    return max(later) if later else None


def _assess(
    record: _Record,
    facts: RecipientFacts,
    country: str | None,
    at: datetime,
    withdrawals: list[datetime],
) -> tuple[datetime, bool, BasisVerdict] | None:
    """Assess one record: (recency, is a withdrawal, verdict), or None when it is neutral."""
    evidence = record.evidence
    withdrawn_at = _withdrawal(evidence, at, withdrawals)
    if withdrawn_at is not None:
        params = {"withdrawn_on": iso_day(withdrawn_at)}
        if evidence.basis in CONSENT_BASES:
            # GDPR Art. 7(3); CASL s. 11(3); 15 U.S.C. 7704(a)(4).
            verdict = record.verdict(
                "consent_withdrawn", WITHDRAWAL_RULE[record.regime], params=params
            )
        else:
            # GDPR Art. 21(3): after an objection to direct marketing, no more processing.
            verdict = record.verdict("opted_out", OBJECTION_RULE[record.regime], params=params)
        return withdrawn_at, True, verdict

    recency = _recency(evidence, at)
    if record.regime is Regime.CAN_SPAM:
        # Only a confirmed consent matters: it removes the need to label the
        # message as an advertisement (15 U.S.C. 7704(a)(5)(B)).
        if evidence.basis in CONSENT_BASES and _confirmed(evidence, at):
            return recency, False, _consent_confirmed(record, Basis.CONSENT, "US-07", at)
        return None
    if record.regime is Regime.CASL:
        return recency, False, _assess_casl(record, at)
    return recency, False, _assess_gdpr(record, facts, country, at)


def _assess_gdpr(
    record: _Record, facts: RecipientFacts, country: str | None, at: datetime
) -> BasisVerdict:
    evidence = record.evidence
    if evidence.basis in CONSENT_BASES:
        # ePrivacy art. 13(1) and CPCE L34-5: prior consent for e-mail marketing.
        return _unconfirmed(record, at) or _consent_confirmed(record, Basis.CONSENT, "EP-01", at)

    if evidence.basis is Basis.SOFT_OPT_IN:
        # ePrivacy art. 13(2), CPCE L34-5 al. 4: address collected at a sale,
        # with a free opt-out offered at collection.
        # NOTE: "similar products" is the topic match; the collecting entity is not checked here.
        sale_at = evidence.relationship_at
        if sale_at is None or sale_at > at:
            return record.verdict("soft_opt_in_without_sale", "EP-02")
        if evidence.opt_out_offered is not True:
            return record.verdict("soft_opt_in_without_opt_out", "EP-02")
        return record.verdict(
            "soft_opt_in", "EP-02", valid=True, params={"sale_on": iso_day(sale_at)}
        )

    if evidence.basis is Basis.B2B_PROFESSIONAL:
        return _assess_b2b(record, facts, country)
    return _basis_not_available(record, "EU-02")


def _assess_b2b(record: _Record, facts: RecipientFacts, country: str | None) -> BasisVerdict:
    """Apply the French professional exception (CNIL guidance on CPCE L34-5).

    NOTE: the exception is applied in France only, the one member state whose
    rule was read. A professional contact elsewhere in the EU/EEA needs consent
    or the soft opt-in, as in Germany (UWG 7(2)), which is the strict reading.
    """
    evidence = record.evidence
    if facts.audience is not Audience.B2B:
        return record.verdict("b2b_not_professional_recipient", "EP-03")
    if country != "FR":
        return record.verdict("b2b_exception_not_available", "EP-01")
    if evidence.related_to_profession is not True:
        return record.verdict("b2b_not_related_to_profession", "EP-03")
    if evidence.opt_out_offered is not True:
        return record.verdict("b2b_without_opt_out", "EP-03")
    return record.verdict("b2b_professional", "EP-03", valid=True)


def _assess_casl(record: _Record, at: datetime) -> BasisVerdict:
    evidence = record.evidence
    if evidence.basis in CONSENT_BASES:
        return _unconfirmed(record, at) or _consent_confirmed(
            record, Basis.CASL_EXPRESS, "CA-01", at
        )

    if evidence.basis is Basis.CASL_IMPLIED_PUBLISHED:
        # CASL s. 10(9)(b)-(c): published or disclosed address, message relevant to the role.
        if evidence.related_to_profession is not True:
            return record.verdict("casl_published_not_relevant", "CA-03")
        return record.verdict("casl_implied_published", "CA-03", valid=True)

    months = CASL_IMPLIED_MONTHS.get(evidence.basis)
    if months is None:
        return _basis_not_available(record, "CA-01")
    if evidence.relationship_at is None or evidence.relationship_at > at:
        return record.verdict("casl_implied_without_date", "CA-02")
    return _casl_window(record, evidence.relationship_at, months, at)


def _casl_window(
    record: _Record, relationship_at: datetime, months: int, at: datetime
) -> BasisVerdict:
    """Apply the CASL implied-consent window (s. 10(10), 10(11), 10(13)).

    The window is counted to the second: exactly 2 years (or 6 months) after
    the relationship date the consent still holds, and one second later it
    has expired. The Act counts in days, so this is stricter by less than a day.
    """
    expires_at = add_months(relationship_at, months)
    params = {"relationship_on": iso_day(relationship_at), "expires_on": iso_day(expires_at)}
    kind = record.evidence.basis.value
    if at > expires_at:
        return record.verdict(
            "casl_implied_expired",
            "CA-02",
            message_key=f"casl_implied_expired:{kind}",
            params=params,
            expires_at=expires_at,
        )

    verdict = record.verdict(
        "casl_implied",
        "CA-02",
        valid=True,
        message_key=f"casl_implied:{kind}",
        params=params,
        expires_at=expires_at,
    )
    if expires_at - at <= CASL_EXPIRY_WARNING:
        verdict = replace(verdict, flags=(*verdict.flags, "casl_expires_soon"))
    return verdict


def _unconfirmed(record: _Record, at: datetime) -> BasisVerdict | None:
    """Refuse a consent the person has not confirmed yet (double opt-in or explicit step)."""
    evidence = record.evidence
    if _confirmed(evidence, at):
        return None
    params = {"given_on": iso_day(evidence.given_at)}
    gdpr = record.regime is Regime.GDPR
    if evidence.source in SIDE_CHANNEL_SOURCES:
        # Consent must be distinguishable from the survey, contest, event or
        # social-media contact it came with (GDPR Art. 7(2); CASL s. 10(1)).
        return record.verdict(
            f"{evidence.source.value}_not_confirmed",
            "EU-04" if gdpr else "CA-04",
            message_key="side_channel_not_confirmed",
            params=params,
        )
    return record.verdict("consent_unconfirmed", "EU-03" if gdpr else "CA-10", params=params)


def _consent_confirmed(record: _Record, basis: Basis, rule: str, at: datetime) -> BasisVerdict:
    confirmed_on = iso_day(_affirmed_at(record.evidence, at))
    return record.verdict(
        "consent_confirmed", rule, valid=True, basis=basis, params={"confirmed_on": confirmed_on}
    )


def _basis_not_available(record: _Record, rule: str) -> BasisVerdict:
    params = {"basis": record.evidence.basis.value, "regime": record.regime.value}
    return record.verdict("basis_not_available", rule, params=params)


# Among valid bases, prefer one that rests on the person's own act.
_BASIS_ORDER = (
    Basis.CONSENT,
    Basis.CASL_EXPRESS,
    Basis.SOFT_OPT_IN,
    Basis.B2B_PROFESSIONAL,
    Basis.CASL_IMPLIED_PUBLISHED,
    Basis.CASL_IMPLIED_PURCHASE,
    Basis.CASL_IMPLIED_NON_BUSINESS,
    Basis.CASL_IMPLIED_INQUIRY,
    Basis.CAN_SPAM_OPT_OUT,
)


def _preference(verdict: BasisVerdict) -> tuple[bool, bool, datetime, int]:
    """Rank valid verdicts: provable first, then no expiry, then the latest expiry."""
    provable = not any(flag.endswith("without_proof") for flag in verdict.flags)
    expires_at = verdict.expires_at or datetime.max.replace(tzinfo=UTC)
    order = _BASIS_ORDER.index(verdict.basis) if verdict.basis else len(_BASIS_ORDER)
    return provable, verdict.expires_at is None, expires_at, -order


def _minor_refusal(best: BasisVerdict, country: str | None) -> BasisVerdict:
    """Refuse a declared minor without parental consent (GDPR Art. 8; Loi 78-17 art. 45).

    Art. 8 governs consent, but it is applied to the soft opt-in and the
    professional exception too: their legitimate-interest basis (Art. 6(1)(f))
    weighs a child's interests first, so asking for a parent is the safe side.
    """
    age = age_of_digital_consent(country) if country else DEFAULT_AGE_OF_DIGITAL_CONSENT
    return replace(
        best,
        valid=False,
        code="minor_without_parental_consent",
        message=MESSAGES["minor_without_parental_consent"],
        rule="EU-07",
        params={"age": str(age)},
        expires_at=None,
    )


def _with_flags(verdict: BasisVerdict, context_flags: tuple[str, ...]) -> BasisVerdict:
    if not context_flags:
        return verdict
    return replace(verdict, flags=(*verdict.flags, *context_flags))
