"""Lawful basis to send marketing email to one recipient, and the regime it falls under.

Pure rules: no database and no I/O. The pre-send checks and the screening
build a :class:`RecipientFacts` from the consent ledger and call
:func:`evaluate`, which returns a :class:`BasisVerdict` saying whether a valid
basis exists, under which regime, on which rule of the rule table (the ``rule``
ids ``EU-…``, ``EP-…``, ``CA-…``, ``US-…`` of the legal rule table), and why.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from compliance.core.i18n import N_


class Regime(StrEnum):
    GDPR = "gdpr"
    CASL = "casl"
    CAN_SPAM = "can_spam"


class Audience(StrEnum):
    B2C = "b2c"
    B2B = "b2b"


class Basis(StrEnum):
    CONSENT = "consent"
    SOFT_OPT_IN = "soft_opt_in"
    B2B_PROFESSIONAL = "b2b_professional"
    CASL_EXPRESS = "casl_express"
    CASL_IMPLIED_PURCHASE = "casl_implied_purchase"
    CASL_IMPLIED_INQUIRY = "casl_implied_inquiry"
    CASL_IMPLIED_NON_BUSINESS = "casl_implied_non_business"
    CASL_IMPLIED_PUBLISHED = "casl_implied_published"
    CAN_SPAM_OPT_OUT = "can_spam_opt_out"


class Source(StrEnum):
    FORM = "form"
    API = "api"
    IMPORT = "import"
    EVENT = "event"
    PURCHASE = "purchase"
    INQUIRY = "inquiry"
    SURVEY = "survey"
    CONTEST = "contest"
    SOCIAL = "social"


# Consent collected as a side effect of another activity counts only after a
# specific confirmation step (GDPR Art. 7(2) and 7(4): distinguishable, not bundled).
SIDE_CHANNEL_SOURCES = frozenset({Source.SURVEY, Source.CONTEST, Source.EVENT, Source.SOCIAL})

# Bases that rest on the person's own opt-in, as opposed to a relationship.
CONSENT_BASES = frozenset({Basis.CONSENT, Basis.CASL_EXPRESS})

# EU member states and the three other EEA states (Iceland, Liechtenstein,
# Norway), where the GDPR and the ePrivacy Directive apply through the EEA Agreement.
EU_EEA_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
    }
)  # fmt: skip

# GDPR Art. 8(1): 16 unless a member state set a lower age, not below 13.
DEFAULT_AGE_OF_DIGITAL_CONSENT = 16

# Ages set by national law under GDPR Art. 8(1). Read on the Bird & Bird GDPR
# tracker (children) for AT, BE, CZ, DK, FI, FR, DE, HU, IE, IT, NL, PL, SK,
# ES, SE; France is Loi 78-17 art. 45. NOTE: BG, HR, CY, EE, GR, LV, LT, LU,
# MT, PT, RO and SI are not yet checked against the national laws.
# Iceland, Liechtenstein and Norway are left at 16, the Art. 8(1) default,
# because no national figure was checked; 16 is the strictest possible value.
AGE_OF_DIGITAL_CONSENT: Mapping[str, int] = {
    "BE": 13, "DK": 13, "EE": 13, "FI": 13, "LV": 13, "MT": 13, "PT": 13, "SE": 13,
    "AT": 14, "BG": 14, "CY": 14, "IT": 14, "LT": 14, "ES": 14,
    "FR": 15, "CZ": 15, "GR": 15, "SI": 15,
    "DE": 16, "HR": 16, "HU": 16, "IE": 16, "LU": 16, "NL": 16, "PL": 16, "RO": 16,
    "SK": 16,
}  # fmt: skip

# CASL s. 10(10), 10(11) and 10(13): implied consent from a purchase, contract
# or non-business relationship lasts 2 years, from an inquiry 6 months.
CASL_IMPLIED_MONTHS: Mapping[Basis, int] = {
    Basis.CASL_IMPLIED_PURCHASE: 24,
    Basis.CASL_IMPLIED_NON_BUSINESS: 24,
    Basis.CASL_IMPLIED_INQUIRY: 6,
}

# The rule table proposes a warning 30 days before implied consent expires,
# so that the sender can ask for express consent in time.
CASL_EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class ConsentEvidence:
    """One consent or relationship record of the ledger, reduced to what the rules read.

    All datetimes must be timezone-aware. ``withdrawn_at`` is the unsubscribe
    or objection that ended this record. ``relationship_at`` is the date of
    the purchase, contract, inquiry, donation or membership an implied basis
    rests on. For a subscription or an ongoing account it is the date the
    account ended, and for the soft opt-in it is the sale date.
    An empty ``topics`` covers every topic.
    """

    basis: Basis
    source: Source
    given_at: datetime
    confirmed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    relationship_at: datetime | None = None
    opt_out_offered: bool | None = None
    related_to_profession: bool | None = None
    has_proof: bool = True
    topics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("given_at", "confirmed_at", "withdrawn_at", "relationship_at"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True)
class RecipientFacts:
    """Facts the rules need about one recipient, with nothing that identifies the person.

    ``declared_minor`` is True when the declared age is under the age of
    digital consent of the recipient's member state (see
    :func:`age_of_digital_consent`), None when no age is known.
    ``suppressed`` is True when the address is on the suppression list.
    """

    country: str | None
    audience: Audience | None
    declared_minor: bool | None = None
    parental_consent: bool = False
    evidence: tuple[ConsentEvidence, ...] = ()
    suppressed: bool = False


@dataclass(frozen=True)
class BasisVerdict:
    """Whether marketing email may be sent to one recipient, and why.

    ``code`` is a stable machine string; ``message`` is an English msgid to
    translate with ``params``, which hold only non-personal values (dates,
    country codes, topic ids). ``rule`` is the rule-table id the verdict rests
    on. ``expires_at`` is the last instant at which the basis still holds;
    None means it does not expire. ``evidence_index`` is the position in
    ``RecipientFacts.evidence`` of the record the verdict is about.
    """

    valid: bool
    regime: Regime
    basis: Basis | None
    code: str
    message: str
    rule: str
    params: Mapping[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    expires_at: datetime | None = None
    evidence_index: int | None = None


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(
            f"{name} is a naive datetime; pass a timezone-aware datetime such as "
            "datetime.now(UTC), because consent windows are compared as instants"
        )


def normalize_country(country: str | None) -> str | None:
    """Return the upper-case ISO 3166-1 alpha-2 code, or None when ``country`` is not one."""
    if country is None:
        return None
    code = country.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None
    return code


def regime_for(country: str | None, audience: Audience | None, default: Regime) -> Regime:
    """Return the regime that governs marketing email to a recipient in ``country``.

    EU and EEA countries get GDPR with ePrivacy, Canada gets CASL and the
    United States CAN-SPAM. Another known country gets ``default``, the
    regime the sender chose for countries the rule table does not cover (the
    United Kingdom and Switzerland among them).

    An unknown or malformed country gets GDPR, whatever the value of ``default``:
    its opt-in rules need a confirmed consent or a recorded customer
    relationship, its French B2B exception needs a known French recipient,
    and its age of digital consent falls back to 16, the highest Art. 8(1) allows.
    That is the safest choice, but it drops the CASL 2-year and 6-month windows.

    ``audience`` does not change the regime in the rule table: it selects the
    bases inside GDPR (B2C consent or the B2B exception). It is accepted so
    that every caller passes the same facts.
    """
    del audience  # The three regimes in the rule table are chosen by country alone.
    code = normalize_country(country)
    if code is None:
        return Regime.GDPR
    if code in EU_EEA_COUNTRIES:
        return Regime.GDPR
    if code == "CA":
        return Regime.CASL
    if code == "US":
        return Regime.CAN_SPAM
    return default


def age_of_digital_consent(country: str) -> int:
    """Return the age under which GDPR Art. 8 needs a holder of parental responsibility.

    Member states without a lowered age, and countries outside the EU/EEA
    evaluated under GDPR, get 16, the Art. 8(1) default.

    :raises ValueError: when ``country`` is not an ISO 3166-1 alpha-2 code.
    """
    code = normalize_country(country)
    if code is None:
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'FR'")
    return AGE_OF_DIGITAL_CONSENT.get(code, DEFAULT_AGE_OF_DIGITAL_CONSENT)


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months in UTC, moving a missing day to the last day of the month.

    31 August plus 6 months is the end of February, and 29 February plus
    24 months is 28 February: the window never grows past the calendar date.
    """
    utc = moment.astimezone(UTC)
    index = utc.month - 1 + months
    year = utc.year + index // 12
    month = index % 12 + 1
    day = min(utc.day, calendar.monthrange(year, month)[1])
    return utc.replace(year=year, month=month, day=day)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


# English msgids of every verdict, by message key (the verdict code, or the
# code and a qualifier when one code has several sentences).
MESSAGES: Mapping[str, str] = {
    "suppressed": N_("The address is on the suppression list."),
    "can_spam_no_opt_out": N_("No opt-out is recorded, and CAN-SPAM needs no prior consent."),
    "topic_not_covered": N_("No consent or relationship record covers the topic %(topic)s."),
    "no_basis:casl": N_("No lawful basis: no express or implied consent is recorded."),
    "no_basis:gdpr": N_(
        "No lawful basis: no confirmed consent, no existing-customer relationship "
        "and no professional exception is recorded."
    ),
    "consent_confirmed": N_("Consent confirmed on %(confirmed_on)s."),
    "consent_unconfirmed": N_(
        "Consent given on %(given_on)s is not confirmed yet: it counts once the "
        "recipient confirms it from the confirmation email."
    ),
    "side_channel_not_confirmed": N_(
        "Consent collected through a survey, contest, event registration or social-media "
        "contact on %(given_on)s counts only after an explicit confirmation, and none is "
        "recorded."
    ),
    "consent_withdrawn": N_("Consent was withdrawn on %(withdrawn_on)s."),
    "opted_out": N_("The recipient opted out on %(withdrawn_on)s."),
    "basis_not_available": N_("The basis %(basis)s does not exist under the %(regime)s regime."),
    "minor_without_parental_consent": N_(
        "The recipient declared an age under %(age)s, the age of digital consent that "
        "applies; a holder of parental responsibility must give or authorise consent."
    ),
    "soft_opt_in": N_(
        "Existing customer since a sale on %(sale_on)s, with an opt-out offered at "
        "collection: similar products may be promoted."
    ),
    "soft_opt_in_without_sale": N_(
        "Soft opt-in rejected: the record has no date of the sale or service at which "
        "the address was collected."
    ),
    "soft_opt_in_without_opt_out": N_(
        "Soft opt-in rejected: the record does not show that an opt-out was offered when "
        "the address was collected."
    ),
    "b2b_professional": N_(
        "Professional contact in France: the message relates to the recipient's profession "
        "and an opt-out was offered at collection."
    ),
    "b2b_not_professional_recipient": N_(
        "Professional exception rejected: the recipient is not marked as a professional "
        "(B2B) contact."
    ),
    "b2b_exception_not_available": N_(
        "The professional exception applies to recipients in France only; elsewhere a "
        "professional contact needs consent or the soft opt-in."
    ),
    "b2b_not_related_to_profession": N_(
        "Professional exception rejected: the record does not show that the message "
        "relates to the recipient's profession."
    ),
    "b2b_without_opt_out": N_(
        "Professional exception rejected: the record does not show that the recipient "
        "was informed and offered an opt-out at collection."
    ),
    "casl_implied_published": N_(
        "Implied consent: the address was published or disclosed, and the message relates "
        "to the recipient's business role."
    ),
    "casl_published_not_relevant": N_(
        "Implied consent from a published address rejected: the record does not show that "
        "the message relates to the recipient's business role."
    ),
    "casl_implied_without_date": N_(
        "Implied consent rejected: the record has no date of the purchase, inquiry or "
        "relationship it rests on."
    ),
    "casl_implied:casl_implied_purchase": N_(
        "Implied consent from a purchase or contract on %(relationship_on)s, valid until "
        "%(expires_on)s."
    ),
    "casl_implied:casl_implied_inquiry": N_(
        "Implied consent from an inquiry on %(relationship_on)s, valid until %(expires_on)s."
    ),
    "casl_implied:casl_implied_non_business": N_(
        "Implied consent from a donation, volunteer work or membership on "
        "%(relationship_on)s, valid until %(expires_on)s."
    ),
    "casl_implied_expired:casl_implied_purchase": N_(
        "Implied consent from a purchase or contract on %(relationship_on)s expired on "
        "%(expires_on)s, 2 years later."
    ),
    "casl_implied_expired:casl_implied_inquiry": N_(
        "Implied consent from an inquiry on %(relationship_on)s expired on %(expires_on)s, "
        "6 months later."
    ),
    "casl_implied_expired:casl_implied_non_business": N_(
        "Implied consent from a donation, volunteer work or membership on "
        "%(relationship_on)s expired on %(expires_on)s, 2 years later."
    ),
}

# Rule-table ids per regime for the outcomes every regime shares.
SUPPRESSION_RULE = {Regime.GDPR: "EP-06", Regime.CASL: "CA-09", Regime.CAN_SPAM: "US-06"}
NO_BASIS_RULE = {Regime.GDPR: "EU-02", Regime.CASL: "CA-01", Regime.CAN_SPAM: "US-06"}
WITHDRAWAL_RULE = {Regime.GDPR: "EU-05", Regime.CASL: "CA-09", Regime.CAN_SPAM: "US-06"}
OBJECTION_RULE = {Regime.GDPR: "EU-06", Regime.CASL: "CA-09", Regime.CAN_SPAM: "US-06"}


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
    _require_aware("at", at)
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
        params = {"withdrawn_on": _day(withdrawn_at)}
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
        return record.verdict("soft_opt_in", "EP-02", valid=True, params={"sale_on": _day(sale_at)})

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
    params = {"relationship_on": _day(relationship_at), "expires_on": _day(expires_at)}
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
    params = {"given_on": _day(evidence.given_at)}
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
    confirmed_on = _day(_affirmed_at(record.evidence, at))
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
