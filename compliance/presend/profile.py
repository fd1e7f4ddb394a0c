"""The sender profile the content checks compare the message with, for the API and the CLI."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from compliance.checks.sender_profile import SenderProfile
from compliance.core.errors import NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import Sender


def stored_profile(
    session: Session,
    sender_id: str,
    *,
    advertising_consent: bool | None = None,
    tracking_consent: bool | None = None,
    recipient_countries: Iterable[str] | None = None,
) -> SenderProfile:
    """Build the profile from the stored sender: its name is the legal name, and its postal address.

    :raises NotFound: when no sender has the id ``sender_id``.
    """
    registered = session.get(Sender, sender_id)
    if registered is None:
        raise NotFound(N_("Sender %(sender_id)s not found."), sender_id=safe_id(sender_id))
    return SenderProfile(
        legal_name=registered.name or None,
        postal_address=registered.postal_address or None,
        advertising_consent=advertising_consent,
        tracking_consent=tracking_consent,
        recipient_countries=(
            None if recipient_countries is None else frozenset(recipient_countries)
        ),
    )
