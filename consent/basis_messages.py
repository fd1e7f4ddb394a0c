"""The English msgids of the lawful-basis verdicts and the rule-table ids they cite."""

from __future__ import annotations

from collections.abc import Mapping

from compliance.core.i18n import N_
from consent.basis_facts import Regime

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
