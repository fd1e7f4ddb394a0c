"""Lawful basis per recipient: regimes, bases, windows, withdrawals and their messages."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.core.i18n import translate
from consent.basis import (
    MESSAGES,
    Audience,
    Basis,
    BasisVerdict,
    ConsentEvidence,
    RecipientFacts,
    Regime,
    Source,
    add_months,
    age_of_digital_consent,
    evaluate,
    regime_for,
)

NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
LOCALES = Path(__file__).resolve().parents[2] / "consent" / "locales"
PARAMETER = re.compile(r"%\((\w+)\)s")


def consent(
    *,
    given_at: datetime = NOW - 30 * DAY,
    confirmed: bool = True,
    source: Source = Source.FORM,
    **changes: Any,
) -> ConsentEvidence:
    evidence = ConsentEvidence(
        basis=Basis.CONSENT,
        source=source,
        given_at=given_at,
        confirmed_at=given_at + timedelta(minutes=5) if confirmed else None,
    )
    return replace(evidence, **changes)


def implied(basis: Basis, relationship_at: datetime, **changes: Any) -> ConsentEvidence:
    evidence = ConsentEvidence(
        basis=basis,
        source=Source.PURCHASE,
        given_at=relationship_at,
        relationship_at=relationship_at,
    )
    return replace(evidence, **changes)


def facts(
    country: str | None,
    *evidence: ConsentEvidence,
    audience: Audience | None = Audience.B2C,
    **extra: Any,
) -> RecipientFacts:
    return replace(RecipientFacts(country=country, audience=audience, evidence=evidence), **extra)


# Regimes and ages.


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("FR", Regime.GDPR),
        ("de", Regime.GDPR),
        (" NO ", Regime.GDPR),
        ("CA", Regime.CASL),
        ("US", Regime.CAN_SPAM),
    ],
)
def test_regime_for_known_countries(country: str, expected: Regime) -> None:
    assert regime_for(country, Audience.B2C, Regime.CAN_SPAM) is expected


def test_regime_for_other_country_uses_default() -> None:
    assert regime_for("GB", Audience.B2C, Regime.CAN_SPAM) is Regime.CAN_SPAM
    assert regime_for("BR", None, Regime.CASL) is Regime.CASL


@pytest.mark.parametrize("country", [None, "", "FRA", "1A", "É1"])
def test_regime_for_unknown_country_is_gdpr(country: str | None) -> None:
    assert regime_for(country, Audience.B2B, Regime.CAN_SPAM) is Regime.GDPR


def test_regime_for_ignores_audience() -> None:
    assert regime_for("FR", Audience.B2B, Regime.CAN_SPAM) is regime_for(
        "FR", Audience.B2C, Regime.CAN_SPAM
    )


@pytest.mark.parametrize(
    ("country", "age"),
    [
        ("FR", 15),
        ("fr", 15),
        ("DE", 16),
        ("BE", 13),
        ("AT", 14),
        ("IE", 16),
        ("NO", 16),
        ("BR", 16),
    ],
)
def test_age_of_digital_consent(country: str, age: int) -> None:
    assert age_of_digital_consent(country) == age


def test_age_of_digital_consent_rejects_bad_code() -> None:
    with pytest.raises(ValueError, match="ISO 3166-1 alpha-2"):
        age_of_digital_consent("France")


# GDPR consent.


def test_confirmed_consent_is_valid() -> None:
    verdict = evaluate(facts("FR", consent()), NOW)

    assert verdict.valid
    assert verdict.regime is Regime.GDPR
    assert verdict.basis is Basis.CONSENT
    assert verdict.code == "consent_confirmed"
    assert verdict.rule == "EP-01"
    assert verdict.params == {"confirmed_on": "2026-05-16"}
    assert verdict.expires_at is None
    assert verdict.evidence_index == 0


def test_unconfirmed_consent_is_refused() -> None:
    verdict = evaluate(facts("FR", consent(confirmed=False)), NOW)

    assert not verdict.valid
    assert verdict.code == "consent_unconfirmed"
    assert verdict.rule == "EU-03"


def test_confirmation_after_at_does_not_count() -> None:
    evidence = consent(confirmed=False, confirmed_at=NOW + SECOND)

    assert evaluate(facts("FR", evidence), NOW).code == "consent_unconfirmed"
    assert evaluate(facts("FR", evidence), NOW + SECOND).valid


def test_withdrawn_consent_is_refused() -> None:
    verdict = evaluate(facts("FR", consent(withdrawn_at=NOW - DAY)), NOW)

    assert not verdict.valid
    assert verdict.code == "consent_withdrawn"
    assert verdict.rule == "EU-05"
    assert verdict.params == {"withdrawn_on": "2026-06-14"}


def test_future_withdrawal_not_yet_effective() -> None:
    assert evaluate(facts("FR", consent(withdrawn_at=NOW + SECOND)), NOW).valid


def test_withdrawal_beats_older_consent_on_other_record() -> None:
    older = consent(given_at=NOW - 100 * DAY)
    withdrawal = consent(given_at=NOW - 50 * DAY, withdrawn_at=NOW - 10 * DAY)

    verdict = evaluate(facts("FR", older, withdrawal), NOW)

    assert not verdict.valid
    assert verdict.code == "consent_withdrawn"


def test_withdrawal_at_same_instant_wins() -> None:
    moment = NOW - DAY
    verdict = evaluate(
        facts("FR", consent(given_at=moment, confirmed_at=moment, withdrawn_at=moment)), NOW
    )

    assert not verdict.valid


def test_newer_confirmed_consent_after_withdrawal_is_valid() -> None:
    withdrawn = consent(given_at=NOW - 100 * DAY, withdrawn_at=NOW - 50 * DAY)
    renewed = consent(given_at=NOW - 10 * DAY)

    verdict = evaluate(facts("FR", withdrawn, renewed), NOW)

    assert verdict.valid
    assert verdict.evidence_index == 1


def test_newer_unconfirmed_consent_after_withdrawal_is_refused() -> None:
    withdrawn = consent(given_at=NOW - 100 * DAY, withdrawn_at=NOW - 50 * DAY)
    pending = consent(given_at=NOW - 10 * DAY, confirmed=False)

    verdict = evaluate(facts("FR", withdrawn, pending), NOW)

    assert not verdict.valid
    assert verdict.code == "consent_unconfirmed"


@pytest.mark.parametrize("source", [Source.SURVEY, Source.CONTEST, Source.EVENT, Source.SOCIAL])
def test_side_channel_consent_needs_confirmation(source: Source) -> None:
    verdict = evaluate(facts("FR", consent(source=source, confirmed=False)), NOW)

    assert not verdict.valid
    assert verdict.code == f"{source.value}_not_confirmed"
    assert verdict.rule == "EU-04"


def test_confirmed_survey_consent_is_valid() -> None:
    verdict = evaluate(facts("FR", consent(source=Source.SURVEY)), NOW)

    assert verdict.valid
    assert verdict.code == "consent_confirmed"


def test_imported_consent_without_proof_is_flagged() -> None:
    verdict = evaluate(facts("FR", consent(source=Source.IMPORT, has_proof=False)), NOW)

    assert verdict.valid
    assert "imported_without_proof" in verdict.flags


def test_provable_basis_preferred() -> None:
    unproven = consent(source=Source.IMPORT, has_proof=False)
    proven = consent(given_at=NOW - 300 * DAY)

    verdict = evaluate(facts("FR", unproven, proven), NOW)

    assert verdict.evidence_index == 1
    assert verdict.flags == ()


def test_evidence_given_after_at_is_ignored() -> None:
    verdict = evaluate(facts("FR", consent(given_at=NOW + DAY)), NOW)

    assert verdict.code == "no_basis"


def test_no_record_under_gdpr_has_no_basis() -> None:
    verdict = evaluate(facts("FR"), NOW)

    assert not verdict.valid
    assert verdict.code == "no_basis"
    assert verdict.rule == "EU-02"
    assert verdict.basis is None


def test_suppressed_recipient_is_refused() -> None:
    verdict = evaluate(facts("FR", consent(), suppressed=True), NOW)

    assert not verdict.valid
    assert verdict.code == "suppressed"
    assert verdict.rule == "EP-06"


def test_suppressed_under_can_spam() -> None:
    verdict = evaluate(facts("US", suppressed=True), NOW)

    assert not verdict.valid
    assert verdict.rule == "US-06"


# Topics.


def test_topic_record_covers_its_topic_only() -> None:
    news = consent(topics=("news",))

    assert evaluate(facts("FR", news), NOW, topic="news").valid
    refused = evaluate(facts("FR", news), NOW, topic="offers")
    assert refused.code == "topic_not_covered"
    assert refused.params == {"topic": "offers"}


def test_record_without_topics_covers_every_topic() -> None:
    assert evaluate(facts("FR", consent()), NOW, topic="offers").valid


def test_send_without_topic_needs_record_without_topics() -> None:
    assert not evaluate(facts("FR", consent(topics=("news",))), NOW).valid


def test_withdrawal_of_one_topic_keeps_other_topics() -> None:
    everything = consent(given_at=NOW - 100 * DAY)
    news_withdrawn = consent(given_at=NOW - 90 * DAY, topics=("news",), withdrawn_at=NOW - DAY)

    assert not evaluate(facts("FR", everything, news_withdrawn), NOW, topic="news").valid
    assert evaluate(facts("FR", everything, news_withdrawn), NOW, topic="offers").valid


# Soft opt-in and the professional exception.


def soft_opt_in(**changes: Any) -> ConsentEvidence:
    evidence = ConsentEvidence(
        basis=Basis.SOFT_OPT_IN,
        source=Source.PURCHASE,
        given_at=NOW - 40 * DAY,
        relationship_at=NOW - 40 * DAY,
        opt_out_offered=True,
    )
    return replace(evidence, **changes)


def test_soft_opt_in_with_opt_out_is_valid() -> None:
    verdict = evaluate(facts("FR", soft_opt_in()), NOW)

    assert verdict.valid
    assert verdict.basis is Basis.SOFT_OPT_IN
    assert verdict.rule == "EP-02"


@pytest.mark.parametrize("offered", [False, None])
def test_soft_opt_in_without_opt_out_is_refused(offered: bool | None) -> None:
    verdict = evaluate(facts("FR", soft_opt_in(opt_out_offered=offered)), NOW)

    assert not verdict.valid
    assert verdict.code == "soft_opt_in_without_opt_out"


def test_soft_opt_in_without_sale_is_refused() -> None:
    verdict = evaluate(facts("FR", soft_opt_in(relationship_at=None)), NOW)

    assert verdict.code == "soft_opt_in_without_sale"


def test_soft_opt_in_objection_is_opt_out() -> None:
    verdict = evaluate(facts("FR", soft_opt_in(withdrawn_at=NOW - DAY)), NOW)

    assert verdict.code == "opted_out"
    assert verdict.rule == "EU-06"


def professional(**changes: Any) -> ConsentEvidence:
    evidence = ConsentEvidence(
        basis=Basis.B2B_PROFESSIONAL,
        source=Source.EVENT,
        given_at=NOW - 20 * DAY,
        opt_out_offered=True,
        related_to_profession=True,
    )
    return replace(evidence, **changes)


def test_b2b_in_france_is_valid() -> None:
    verdict = evaluate(facts("FR", professional(), audience=Audience.B2B), NOW)

    assert verdict.valid
    assert verdict.basis is Basis.B2B_PROFESSIONAL
    assert verdict.rule == "EP-03"


def test_b2b_in_germany_needs_consent() -> None:
    verdict = evaluate(facts("DE", professional(), audience=Audience.B2B), NOW)

    assert not verdict.valid
    assert verdict.code == "b2b_exception_not_available"
    assert verdict.rule == "EP-01"


@pytest.mark.parametrize("related", [False, None])
def test_b2b_unrelated_to_profession_is_refused(related: bool | None) -> None:
    verdict = evaluate(
        facts("FR", professional(related_to_profession=related), audience=Audience.B2B), NOW
    )

    assert verdict.code == "b2b_not_related_to_profession"


def test_b2b_without_opt_out_is_refused() -> None:
    verdict = evaluate(facts("FR", professional(opt_out_offered=None), audience=Audience.B2B), NOW)

    assert verdict.code == "b2b_without_opt_out"


@pytest.mark.parametrize("audience", [Audience.B2C, None])
def test_b2b_exception_needs_b2b_recipient(audience: Audience | None) -> None:
    verdict = evaluate(facts("FR", professional(), audience=audience), NOW)

    assert verdict.code == "b2b_not_professional_recipient"


def test_casl_basis_not_available_under_gdpr() -> None:
    verdict = evaluate(facts("FR", implied(Basis.CASL_IMPLIED_PURCHASE, NOW - DAY)), NOW)

    assert verdict.code == "basis_not_available"
    assert verdict.params == {"basis": "casl_implied_purchase", "regime": "gdpr"}


# Minors.


def test_minor_without_parental_consent_is_refused() -> None:
    verdict = evaluate(facts("FR", consent(), declared_minor=True), NOW)

    assert not verdict.valid
    assert verdict.code == "minor_without_parental_consent"
    assert verdict.rule == "EU-07"
    assert verdict.params == {"age": "15"}


def test_minor_with_parental_consent_is_valid() -> None:
    assert evaluate(facts("FR", consent(), declared_minor=True, parental_consent=True), NOW).valid


def test_minor_in_unknown_country_uses_sixteen() -> None:
    verdict = evaluate(facts(None, consent(), declared_minor=True), NOW)

    assert verdict.params == {"age": "16"}
    assert "country_unknown" in verdict.flags


def test_minor_rule_not_applied_under_can_spam() -> None:
    assert evaluate(facts("US", declared_minor=True), NOW).valid


# CASL.


def test_casl_express_consent_is_valid() -> None:
    verdict = evaluate(facts("CA", consent()), NOW)

    assert verdict.valid
    assert verdict.regime is Regime.CASL
    assert verdict.basis is Basis.CASL_EXPRESS
    assert verdict.rule == "CA-01"


def test_casl_unconfirmed_express_is_refused() -> None:
    verdict = evaluate(facts("CA", consent(confirmed=False)), NOW)

    assert verdict.code == "consent_unconfirmed"
    assert verdict.rule == "CA-10"


def test_casl_purchase_valid_at_two_years_exactly() -> None:
    bought = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_PURCHASE, bought)), NOW)

    assert verdict.valid
    assert verdict.code == "casl_implied"
    assert verdict.expires_at == NOW
    assert verdict.params == {"relationship_on": "2024-06-15", "expires_on": "2026-06-15"}


def test_casl_purchase_expired_one_second_after_two_years() -> None:
    bought = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_PURCHASE, bought)), NOW + SECOND)

    assert not verdict.valid
    assert verdict.code == "casl_implied_expired"
    assert verdict.rule == "CA-02"


def test_casl_inquiry_valid_at_six_months_exactly() -> None:
    asked = datetime(2025, 12, 15, 12, 0, 0, tzinfo=UTC)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_INQUIRY, asked)), NOW)

    assert verdict.valid
    assert verdict.expires_at == NOW


def test_casl_inquiry_expired_one_second_after_six_months() -> None:
    asked = datetime(2025, 12, 15, 12, 0, 0, tzinfo=UTC)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_INQUIRY, asked)), NOW + SECOND)

    assert verdict.code == "casl_implied_expired"


def test_casl_inquiry_six_months_and_one_day_is_expired() -> None:
    asked = datetime(2025, 12, 14, 12, 0, 0, tzinfo=UTC)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_INQUIRY, asked)), NOW)

    assert not verdict.valid
    assert verdict.code == "casl_implied_expired"
    assert verdict.params == {"relationship_on": "2025-12-14", "expires_on": "2026-06-14"}


def test_casl_leap_day_purchase_expires_february_28() -> None:
    bought = datetime(2024, 2, 29, 9, 30, tzinfo=UTC)
    evidence = implied(Basis.CASL_IMPLIED_PURCHASE, bought)
    limit = datetime(2026, 2, 28, 9, 30, tzinfo=UTC)

    assert evaluate(facts("CA", evidence), limit).valid
    assert not evaluate(facts("CA", evidence), limit + SECOND).valid


def test_casl_inquiry_ending_on_leap_day() -> None:
    asked = datetime(2023, 8, 31, 0, 0, tzinfo=UTC)

    assert add_months(asked, 6) == datetime(2024, 2, 29, 0, 0, tzinfo=UTC)
    assert add_months(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)


def test_casl_window_counted_in_utc() -> None:
    montreal_winter = timezone(timedelta(hours=-5))
    asked = datetime(2026, 1, 10, 20, 0, tzinfo=montreal_winter)  # 2026-01-11 01:00 UTC

    assert add_months(asked, 6) == datetime(2026, 7, 11, 1, 0, tzinfo=UTC)


def test_casl_non_business_lasts_two_years() -> None:
    donated = NOW - timedelta(days=365 * 2 + 1)
    verdict = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_NON_BUSINESS, donated)), NOW)

    assert verdict.code == "casl_implied_expired"
    assert "donation" in verdict.message


def test_casl_expires_soon_flag_within_thirty_days() -> None:
    asked = NOW - timedelta(days=160)
    soon = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_INQUIRY, asked)), NOW)
    later = evaluate(facts("CA", implied(Basis.CASL_IMPLIED_INQUIRY, asked)), NOW - 20 * DAY)

    assert "casl_expires_soon" in soon.flags
    assert "casl_expires_soon" not in later.flags


def test_casl_implied_without_date_is_refused() -> None:
    evidence = replace(implied(Basis.CASL_IMPLIED_PURCHASE, NOW - DAY), relationship_at=None)

    assert evaluate(facts("CA", evidence), NOW).code == "casl_implied_without_date"


def test_casl_published_needs_business_relevance() -> None:
    published = implied(Basis.CASL_IMPLIED_PUBLISHED, NOW - DAY, related_to_profession=True)

    assert evaluate(facts("CA", published), NOW).valid
    refused = evaluate(facts("CA", replace(published, related_to_profession=None)), NOW)
    assert refused.code == "casl_published_not_relevant"


def test_casl_prefers_longer_window() -> None:
    inquiry = implied(Basis.CASL_IMPLIED_INQUIRY, NOW - 10 * DAY)
    purchase = implied(Basis.CASL_IMPLIED_PURCHASE, NOW - 100 * DAY)

    verdict = evaluate(facts("CA", inquiry, purchase), NOW)

    assert verdict.basis is Basis.CASL_IMPLIED_PURCHASE


def test_casl_prefers_express_over_implied() -> None:
    purchase = implied(Basis.CASL_IMPLIED_PURCHASE, NOW - DAY)

    verdict = evaluate(facts("CA", purchase, consent(given_at=NOW - 400 * DAY)), NOW)

    assert verdict.basis is Basis.CASL_EXPRESS


def test_casl_no_record_has_no_basis() -> None:
    verdict = evaluate(facts("CA"), NOW)

    assert verdict.code == "no_basis"
    assert verdict.rule == "CA-01"


def test_refusal_about_newest_record() -> None:
    expired = implied(Basis.CASL_IMPLIED_INQUIRY, NOW - 400 * DAY)
    pending = consent(given_at=NOW - 2 * DAY, confirmed=False)

    verdict = evaluate(facts("CA", expired, pending), NOW)

    assert verdict.code == "consent_unconfirmed"


# CAN-SPAM.


def test_can_spam_without_record_is_valid() -> None:
    verdict = evaluate(facts("US"), NOW)

    assert verdict.valid
    assert verdict.basis is Basis.CAN_SPAM_OPT_OUT
    assert verdict.code == "can_spam_no_opt_out"
    assert verdict.rule == "US-06"


def test_can_spam_b2b_without_record_is_valid() -> None:
    assert evaluate(facts("US", audience=Audience.B2B), NOW).valid


def test_can_spam_opt_out_is_refused() -> None:
    verdict = evaluate(facts("US", consent(withdrawn_at=NOW - DAY)), NOW)

    assert not verdict.valid
    assert verdict.code == "consent_withdrawn"
    assert verdict.rule == "US-06"


def test_can_spam_confirmed_consent_reported() -> None:
    verdict = evaluate(facts("US", consent()), NOW)

    assert verdict.basis is Basis.CONSENT
    assert verdict.rule == "US-07"


def test_can_spam_unconfirmed_consent_still_valid() -> None:
    verdict = evaluate(facts("US", consent(confirmed=False)), NOW)

    assert verdict.valid
    assert verdict.code == "can_spam_no_opt_out"


def test_can_spam_reconsent_after_opt_out_is_valid() -> None:
    opted_out = consent(given_at=NOW - 100 * DAY, withdrawn_at=NOW - 50 * DAY)

    assert evaluate(facts("US", opted_out, consent(given_at=NOW - DAY)), NOW).valid


# Unknown country and input checks.


def test_unknown_country_judged_under_gdpr() -> None:
    verdict = evaluate(facts(None), NOW, default_regime=Regime.CAN_SPAM)

    assert not verdict.valid
    assert verdict.regime is Regime.GDPR
    assert verdict.flags == ("country_unknown",)


def test_other_country_uses_default_regime() -> None:
    verdict = evaluate(facts("GB"), NOW, default_regime=Regime.CAN_SPAM)

    assert verdict.valid
    assert verdict.regime is Regime.CAN_SPAM


def test_naive_at_rejected() -> None:
    with pytest.raises(ValueError, match=r"^at is a naive datetime"):
        evaluate(facts("FR"), datetime(2026, 1, 1))


@pytest.mark.parametrize("name", ["given_at", "confirmed_at", "withdrawn_at", "relationship_at"])
def test_naive_evidence_datetime_rejected(name: str) -> None:
    values: dict[str, object] = {"given_at": NOW, name: datetime(2026, 1, 1)}
    with pytest.raises(ValueError, match=rf"^{name} is a naive datetime"):
        ConsentEvidence(basis=Basis.CONSENT, source=Source.FORM, **values)  # type: ignore[arg-type]


# Messages and catalogs.


def catalog(language: str) -> dict[str, str]:
    with (LOCALES / language / "LC_MESSAGES" / "basis.po").open("rb") as handle:
        entries = read_po(handle, locale=language)
    return {
        message.id: message.string
        for message in entries
        if isinstance(message.id, str) and message.id and isinstance(message.string, str)
    }


def test_every_message_has_french_translation() -> None:
    french = catalog("fr")

    missing = sorted(msgid for msgid in MESSAGES.values() if not french.get(msgid))

    assert missing == []


def test_french_keeps_parameters() -> None:
    french = catalog("fr")

    different = [
        msgid
        for msgid in MESSAGES.values()
        if set(PARAMETER.findall(msgid)) != set(PARAMETER.findall(french[msgid]))
    ]

    assert different == []


def test_catalogs_have_no_stale_entries() -> None:
    assert set(catalog("fr")) == set(MESSAGES.values())
    assert set(catalog("en")) == set(MESSAGES.values())


def test_verdict_translates_into_french() -> None:
    verdict = evaluate(facts("FR", consent()), NOW)

    assert (
        translate("fr", verdict.message, **verdict.params) == "Consentement confirmé le 2026-05-16."
    )


# Properties.

MOMENTS = st.datetimes(
    min_value=datetime(2022, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
EVIDENCE = st.builds(
    ConsentEvidence,
    basis=st.sampled_from(Basis),
    source=st.sampled_from(Source),
    given_at=MOMENTS,
    confirmed_at=st.none() | MOMENTS,
    withdrawn_at=st.none() | MOMENTS,
    relationship_at=st.none() | MOMENTS,
    opt_out_offered=st.none() | st.booleans(),
    related_to_profession=st.none() | st.booleans(),
    has_proof=st.booleans(),
    topics=st.sampled_from([(), ("news",), ("offers",), ("news", "offers")]),
)
FACTS = st.builds(
    RecipientFacts,
    country=st.sampled_from([None, "FR", "DE", "CA", "US", "GB", "xx"]),
    audience=st.none() | st.sampled_from(Audience),
    declared_minor=st.none() | st.booleans(),
    parental_consent=st.booleans(),
    evidence=st.lists(EVIDENCE, max_size=4).map(tuple),
    suppressed=st.booleans(),
)
TOPICS = st.sampled_from([None, "news", "offers"])


@settings(max_examples=400)
@given(FACTS, MOMENTS, TOPICS, st.data())
def test_withdrawing_never_validates(
    recipient: RecipientFacts, at: datetime, topic: str | None, data: st.DataObject
) -> None:
    # Withdrawing means recording a withdrawal where there was none; moving an
    # existing withdrawal earlier may rightly revive a consent given after it.
    before = evaluate(recipient, at, topic=topic)
    open_records = [i for i, item in enumerate(recipient.evidence) if item.withdrawn_at is None]
    if before.valid or not open_records:
        return
    index = data.draw(st.sampled_from(open_records))
    withdrawn_at = data.draw(MOMENTS)
    evidence = list(recipient.evidence)
    evidence[index] = replace(evidence[index], withdrawn_at=withdrawn_at)

    after = evaluate(replace(recipient, evidence=tuple(evidence)), at, topic=topic)

    assert not after.valid


@settings(max_examples=400)
@given(FACTS, MOMENTS, TOPICS, MOMENTS)
def test_withdrawal_record_never_validates(
    recipient: RecipientFacts, at: datetime, topic: str | None, withdrawn_at: datetime
) -> None:
    before = evaluate(recipient, at, topic=topic)
    withdrawal = ConsentEvidence(
        basis=Basis.CONSENT,
        source=Source.FORM,
        given_at=min(withdrawn_at, at),
        withdrawn_at=withdrawn_at,
    )

    after = evaluate(
        replace(recipient, evidence=(*recipient.evidence, withdrawal)), at, topic=topic
    )

    assert after.valid <= before.valid


@settings(max_examples=400)
@given(
    st.sampled_from(
        [Basis.CASL_IMPLIED_PURCHASE, Basis.CASL_IMPLIED_INQUIRY, Basis.CASL_IMPLIED_NON_BUSINESS]
    ),
    MOMENTS,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1500)),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=1500)),
)
def test_later_at_never_revives_expired_casl(
    basis: Basis, relationship_at: datetime, age: timedelta, delay: timedelta
) -> None:
    recipient = facts("CA", implied(basis, relationship_at))
    first = evaluate(recipient, relationship_at + age)
    if first.valid:
        return

    later = evaluate(recipient, relationship_at + age + delay)

    assert first.code == "casl_implied_expired"
    assert not later.valid
    assert later.code == "casl_implied_expired"


@settings(max_examples=400)
@given(FACTS, MOMENTS, TOPICS)
def test_verdict_is_well_formed(recipient: RecipientFacts, at: datetime, topic: str | None) -> None:
    verdict = evaluate(recipient, at, topic=topic)

    assert isinstance(verdict, BasisVerdict)
    assert verdict.message in MESSAGES.values()
    assert set(PARAMETER.findall(verdict.message)) == set(verdict.params)
    assert re.fullmatch(r"(EU|EP|CA|US)-\d\d", verdict.rule)
    if verdict.valid:
        assert verdict.basis is not None
        assert not recipient.suppressed
    if verdict.expires_at is not None and verdict.valid:
        assert verdict.expires_at >= at
