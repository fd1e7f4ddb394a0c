"""Refusals sent back by mailing-list servers instead of a mail system.

The fml list server replies to a post it will not distribute with a message
of its own, not a delivery status notification. It names itself in the
``X-MLServer`` header and states the cause in the subject.
"""

from __future__ import annotations

import re

from suppression.bounces.addresses import addresses_in
from suppression.bounces.mime import Walked, header_text
from suppression.bounces.verdict import BounceClass, Source, Verdict

# Subjects of fml's refusals and the reason each one names.
_FML_SUBJECTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # The poster is not a member of a members-only list: the list refuses the sender.
    (re.compile(r"(?i)\bare not (?:a )?member\b"), "rejected"),
    # The list saw the same Message-ID twice and stopped a mail loop.
    (re.compile(r"(?i)^\s*loop alert\b"), "systemerror"),
)


def list_server_verdicts(walked: Walked, message_id: str, campaign: str) -> list[Verdict]:
    """Return the verdict of a list server's refusal, or ``[]`` when the message is none."""
    if not header_text(walked.headers, "X-MLServer").lower().startswith("fml"):
        return []
    subject = header_text(walked.headers, "Subject")
    reason = next((found for pattern, found in _FML_SUBJECTS if pattern.search(subject)), "")
    if not reason:
        return []
    sender = {address.lower() for address in addresses_in(header_text(walked.headers, "From"))}
    named = [
        address
        for address in addresses_in("\n".join(walked.texts)[:4000])
        if address.lower() not in sender
    ]
    recipient = (named or addresses_in(header_text(walked.headers, "To")) or [""])[0]
    if not recipient:
        return []
    return [
        Verdict(
            recipient=recipient,
            bounce_class=BounceClass.SOFT,
            reason=reason,
            diagnostic=subject[:200],
            action="failed",
            original_message_id=message_id,
            campaign_ref=campaign,
            source=Source.TEXT,
        )
    ]
