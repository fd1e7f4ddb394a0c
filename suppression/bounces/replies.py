"""Automatic replies (RFC 3834) and unsubscribe requests mailed to a List-Unsubscribe address."""

from __future__ import annotations

import re
from email.message import Message

from suppression.bounces.addresses import addresses_in
from suppression.bounces.mime import header_text
from suppression.bounces.verdict import BounceClass, Source, Verdict

_AUTO_SUBJECT = re.compile(
    r"(?i)^\s*(?:auto(?:matic)?[ -]?(?:reply|response)|auto:|out of (?:the )?office|"
    r"vacation|away from|absence|abwesenheit|r[ée]ponse automatique|absent|"
    r"respuesta autom[áa]tica|risposta automatica|autosvar|automatisch antwoord)"
)
_UNSUBSCRIBE_SUBJECT = re.compile(r"(?i)^\s*(?:re:\s*)?(?:unsubscribe|d[ée]sinscri|désabonn)")
_UNSUBSCRIBE_LOCAL = re.compile(r"(?i)^(?:unsubscribe|unsub|leave|optout|opt-out)\b")


def is_auto_reply(headers: Message) -> bool:
    """Tell an automatic reply by the RFC 3834 section 5 header or the usual vendor headers."""
    auto = header_text(headers, "Auto-Submitted").strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if headers.get("X-Autoreply") or headers.get("X-Autorespond") or headers.get("X-Autoresponder"):
        return True
    if header_text(headers, "Precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.search(header_text(headers, "Subject")))


def auto_reply_verdicts(headers: Message, message_id: str, campaign: str) -> list[Verdict]:
    # The person away is the one who replies: the From address of the reply.
    sender = addresses_in(header_text(headers, "From"))
    if not sender:
        return []
    return [
        Verdict(
            recipient=sender[0],
            bounce_class=BounceClass.AUTOREPLY,
            reason="vacation",
            diagnostic=header_text(headers, "Subject")[:200],
            original_message_id=message_id,
            campaign_ref=campaign,
            source=Source.AUTOREPLY,
        )
    ]


def is_unsubscribe_request(headers: Message) -> bool:
    """Tell a request sent to a ``mailto:`` List-Unsubscribe address (RFC 2369 section 3.2).

    Such addresses start with ``unsubscribe`` or carry it as the subject,
    which is what mail clients fill in from ``mailto:...?subject=unsubscribe``.
    """
    if _UNSUBSCRIBE_SUBJECT.search(header_text(headers, "Subject")):
        return True
    for name in ("To", "Delivered-To", "X-Original-To"):
        for address in addresses_in(header_text(headers, name)):
            if _UNSUBSCRIBE_LOCAL.search(address.rpartition("@")[0]):
                return True
    return False


def unsubscribe_verdicts(headers: Message, message_id: str, campaign: str) -> list[Verdict]:
    sender = addresses_in(header_text(headers, "From"))
    if not sender:
        return []
    return [
        Verdict(
            recipient=sender[0],
            bounce_class=BounceClass.UNSUBSCRIBE,
            reason="unsubscribe",
            original_message_id=message_id,
            campaign_ref=campaign,
            source=Source.UNSUBSCRIBE,
        )
    ]
