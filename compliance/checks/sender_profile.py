"""What the caller knows about the sender and the campaign, for the checks that compare with it."""

from __future__ import annotations

from dataclasses import dataclass


# TODO: `sendguard check` passes no profile (it has no sender option yet), so
# from the command line the US-02 address comparison is not made.
@dataclass(frozen=True)
class SenderProfile:
    """The sender's registered identity and what the recipients consented to.

    Every field is optional: a check whose input is missing reports what it
    could not verify instead of guessing. ``advertising_consent`` is True
    when every recipient gave prior affirmative consent (CAN-SPAM
    7704(a)(5)(B)), ``tracking_consent`` when every recipient accepted open
    tracking.
    """

    legal_name: str | None = None
    postal_address: str | None = None
    advertising_consent: bool | None = None
    tracking_consent: bool | None = None
