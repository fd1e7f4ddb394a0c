"""What the caller knows about the sender and the campaign, for the checks that compare with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SenderProfile:
    """The sender's registered identity, the recipients' countries and what they consented to.

    Every field is optional: a check whose input is missing reports what it
    could not verify instead of guessing. ``advertising_consent`` is True
    when every recipient gave prior affirmative consent (CAN-SPAM
    7704(a)(5)(B)), ``tracking_consent`` when every recipient accepted open
    tracking. ``recipient_countries`` contains ISO 3166-1 alpha-2 codes, and
    None means the countries are not known, so the CASL content rules
    cannot be ruled out.
    """

    legal_name: str | None = None
    postal_address: str | None = None
    advertising_consent: bool | None = None
    tracking_consent: bool | None = None
    recipient_countries: frozenset[str] | None = None
