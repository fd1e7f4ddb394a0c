"""The facts and tables the lawful-basis rules read: regimes, bases, sources, evidence.

Pure data: no database and no I/O. :mod:`consent.basis` evaluates them.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum


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
            require_aware(name, getattr(self, name))


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


def require_aware(name: str, value: datetime | None) -> None:
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


def iso_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()
