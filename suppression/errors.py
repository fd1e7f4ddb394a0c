"""Errors of the suppression and list rules."""

from __future__ import annotations

from datetime import datetime

from compliance.core.errors import Conflict
from compliance.core.i18n import N_
from compliance.core.models import iso_utc


class ListLocked(Conflict):
    """A list used by a campaign stays undeletable for 7 days after that campaign's send."""

    code = "list_locked"

    def __init__(self, list_id: str, locked_until: datetime, campaign_id: str) -> None:
        super().__init__(
            N_(
                "List %(list_id)s cannot be deleted before %(locked_until)s (UTC): campaign "
                "%(campaign_id)s used it, and a list stays locked for 7 days after a send. "
                "Try again after that date."
            ),
            context={
                "locked_until": iso_utc(locked_until),
                "campaign_id": campaign_id,
                "list_id": list_id,
            },
            list_id=list_id,
            locked_until=locked_until.strftime("%Y-%m-%d %H:%M"),
            campaign_id=campaign_id,
        )
