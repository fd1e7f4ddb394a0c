"""ARF feedback reports (RFC 5965), Microsoft JMRP and older Yahoo-style abuse reports."""

from __future__ import annotations

import re

from suppression.bounces.addresses import addresses_in, clean_address, is_system_address
from suppression.bounces.dsn import fields_of
from suppression.bounces.mime import Walked, header_text
from suppression.bounces.verdict import BounceClass, Source, Verdict

# RFC 5965 section 7.3 and RFC 6591/6650 feedback types.
FEEDBACK_TYPES = frozenset({"abuse", "fraud", "virus", "other", "not-spam", "auth-failure"})

# Microsoft JMRP copies the complaining recipient into this header of the returned message.
_JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"
_ABUSE_TEXT = re.compile(
    r"this is an? (?:e-?mail )?abuse report|complaint about message|feedback loop|"
    r"reported (?:this message )?as spam"
)


def is_feedback(walked: Walked) -> bool:
    if walked.feedback or walked.report_type.lower() == "feedback-report":
        return True
    if walked.original is not None and walked.original.get(_JMRP_RECIPIENT):
        return True
    subject = header_text(walked.headers, "Subject")
    # Lower-cased first: a case-insensitive search costs about twice as much.
    text = "\n".join(walked.texts)[:4000].lower()
    return bool(_ABUSE_TEXT.search(subject.lower()) or _ABUSE_TEXT.search(text))


def classify_feedback(walked: Walked, message_id: str, campaign: str) -> list[Verdict]:
    """Return one ``complaint`` verdict per complaining recipient."""
    fields = fields_of(walked.feedback[0]) if walked.feedback else {}
    feedback_type = fields.get("feedback-type", "").strip().lower() or "abuse"
    # RFC 5965 section 3.2 lets Original-Rcpt-To repeat, once per recipient of the report.
    recipients = [
        clean_address(value)
        for block in walked.feedback
        for name, value in _field_lines(block)
        if name in _RCPT_FIELDS
    ]
    recipients = [address for address in recipients if address]

    if not recipients and walked.original is not None:
        jmrp = header_text(walked.original, _JMRP_RECIPIENT)
        to = jmrp or header_text(walked.original, "To")
        recipients = [address for address in addresses_in(to) if not is_system_address(address)]
    if not recipients:
        # Some loops name the recipient only in the report's own To header.
        recipients = addresses_in(header_text(walked.headers, "To"))[:1]

    return [
        Verdict(
            recipient=address,
            bounce_class=BounceClass.COMPLAINT,
            reason="feedback",
            feedback_type=feedback_type,
            diagnostic=fields.get("user-agent", ""),
            original_message_id=message_id,
            campaign_ref=campaign,
            source=Source.ARF,
        )
        for address in dict.fromkeys(recipients)
    ]


# Removal-Recipient comes from the draft the MAAWG loops followed before RFC 5965.
_RCPT_FIELDS = frozenset({"original-rcpt-to", "removal-recipient"})
_FIELD_LINE = re.compile(r"(?im)^([a-z][a-z0-9-]*)[ \t]*:[ \t]*(.*)$")


def _field_lines(block: str) -> list[tuple[str, str]]:
    """Return every ``Name: value`` line of ``block``, repeated fields included."""
    return [(match.group(1).lower(), match.group(2)) for match in _FIELD_LINE.finditer(block)]
