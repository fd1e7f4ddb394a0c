"""Classify a raw message: one verdict per affected recipient.

The order of the tests matters: a feedback report can quote a bounce, a
bounce can carry ``Auto-Submitted: auto-replied`` (RFC 3464 section 2), and
an automatic reply is never read as an unsubscribe request.
"""

from __future__ import annotations

from email.message import Message

from suppression.bounces import textreport
from suppression.bounces.addresses import clean_address, first_code
from suppression.bounces.dsn import RecipientStatus, recipients_of
from suppression.bounces.feedback import classify_feedback, is_feedback
from suppression.bounces.mime import header_text, walk
from suppression.bounces.reasons import (
    REPLY_PATTERN,
    STATUS_PATTERN,
    class_of,
    decide_reason,
)
from suppression.bounces.replies import (
    auto_reply_verdicts,
    is_auto_reply,
    is_unsubscribe_request,
    unsubscribe_verdicts,
)
from suppression.bounces.verdict import BounceClass, Source, Verdict, not_bounce

# Headers of the returned message that name the campaign: ours first, then common ones.
CAMPAIGN_HEADERS = ("X-Sendguard-Campaign", "X-Campaign-ID", "X-Campaign")
MAX_DIAGNOSTIC_CHARS = 1000


def classify(raw: bytes) -> list[Verdict]:
    """Classify ``raw`` (a whole message, as received) into per-recipient verdicts.

    Never raises on malformed input: a message that carries no report gets
    one ``not_bounce`` verdict with an empty recipient.
    """
    walked = walk(raw)
    report = textreport.report_text(walked)
    original = textreport.original_headers(walked, "\n".join(walked.texts))
    message_id, campaign = _original_ids(original)

    if is_feedback(walked):
        verdicts = classify_feedback(walked, message_id, campaign)
        if verdicts:
            return verdicts

    statuses = [item for block in walked.delivery_status for item in recipients_of(block)]
    if not statuses and "final-recipient:" in report.lower():
        # A DSN pasted as plain text instead of a message/delivery-status part.
        statuses = recipients_of(report[report.lower().find("final-recipient:") - 1 :])
    if statuses:
        return [_from_status(item, report, message_id, campaign) for item in statuses]

    if textreport.looks_like_bounce(walked) and not _is_plain_reply(walked.headers):
        addresses = textreport.recipients(walked, report)
        if addresses:
            return [
                _from_text(segment, report, message_id, campaign)
                for segment in textreport.segments(report, addresses)
            ]

    if is_auto_reply(walked.headers):
        return auto_reply_verdicts(walked.headers, message_id, campaign) or [not_bounce()]
    if is_unsubscribe_request(walked.headers):
        return unsubscribe_verdicts(walked.headers, message_id, campaign) or [not_bounce()]
    return [not_bounce()]


def _is_plain_reply(headers: Message) -> bool:
    return header_text(headers, "Auto-Submitted").lower().startswith("auto-replied") and not (
        textreport.looks_like_bounce_sender(headers)
    )


def _from_status(item: RecipientStatus, report: str, message_id: str, campaign: str) -> Verdict:
    segment = textreport.segments(report, [item.recipient])[0] if report else None
    segment_text = segment.text if segment else ""
    status = item.status
    embedded = first_code(STATUS_PATTERN, item.diagnostic)
    # A generic X.0.0 status loses to the precise one the server wrote in its reply.
    if embedded and (not status or status.endswith(".0.0")):
        status = embedded
    reply_code = textreport.first_reply(item.diagnostic) or (segment.reply_code if segment else "")

    if item.action in ("delivered", "relayed", "expanded") and status.startswith("2"):
        reason = "delivered"
    else:
        # Without a Diagnostic-Code, the server's reply quoted in the text part stands in.
        diagnostic = item.diagnostic or textreport.reply_text(segment_text)
        reason = decide_reason(diagnostic, segment_text, status, item.action, item.diagnostic_type)
    return Verdict(
        recipient=item.recipient,
        bounce_class=class_of(reason, status, reply_code),
        reason=reason,
        status=status,
        reply_code=reply_code,
        diagnostic=_short(item.diagnostic or segment_text),
        action=item.action,
        remote_mta=item.remote_mta,
        original_message_id=message_id,
        campaign_ref=campaign,
        source=Source.DSN,
    )


def _from_text(segment: textreport.Segment, report: str, message_id: str, campaign: str) -> Verdict:
    reply = textreport.reply_text(segment.text)
    if reply:
        reason = decide_reason(reply, segment.text + "\n" + report, segment.status, "failed")
    else:
        reason = decide_reason(segment.text, report, segment.status, "failed")
    return Verdict(
        recipient=segment.recipient,
        bounce_class=class_of(reason, segment.status, segment.reply_code),
        reason=reason,
        status=segment.status,
        reply_code=segment.reply_code,
        diagnostic=_short(segment.text),
        action="failed",
        original_message_id=message_id,
        campaign_ref=campaign,
        source=Source.TEXT,
    )


def _original_ids(original: Message | None) -> tuple[str, str]:
    if original is None:
        return "", ""
    message_id = header_text(original, "Message-ID").strip()
    campaign = ""
    for name in CAMPAIGN_HEADERS:
        campaign = header_text(original, name).strip()
        if campaign:
            break
    return message_id[:250], campaign[:120]


def _short(text: str) -> str:
    return " ".join(text.split())[:MAX_DIAGNOSTIC_CHARS]


__all__ = ["REPLY_PATTERN", "BounceClass", "Verdict", "classify", "clean_address", "first_code"]
