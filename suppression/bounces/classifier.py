"""Classify a raw message: one verdict per affected recipient.

The order of the tests matters: a feedback report can quote a bounce, a
bounce can carry ``Auto-Submitted: auto-replied`` (RFC 3464 section 2), and
an automatic reply is never read as an unsubscribe request.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from email.message import Message

from suppression.bounces import textreport
from suppression.bounces.addresses import clean_address, first_code
from suppression.bounces.dsn import RecipientStatus, recipients_of
from suppression.bounces.feedback import classify_feedback, is_feedback
from suppression.bounces.mailinglist import list_server_verdicts
from suppression.bounces.mime import MAX_MESSAGE_BYTES, Walked, header_text, walk, walk_message
from suppression.bounces.reasons import (
    REPLY_PATTERN,
    STATUS_PATTERN,
    class_of,
    decide_reason,
    reason_from_text,
)
from suppression.bounces.replies import (
    auto_reply_verdicts,
    is_auto_reply,
    is_unsubscribe_request,
    unsubscribe_verdicts,
)
from suppression.bounces.vendors import filtering_gateway
from suppression.bounces.verdict import BounceClass, Source, Verdict, not_bounce
from suppression.bounces.webhooks import ses
from suppression.bounces.webhooks.common import WebhookFormatError

# Headers of the returned message that name the campaign: ours first, then common ones.
CAMPAIGN_HEADERS = ("X-Sendguard-Campaign", "X-Campaign-ID", "X-Campaign")
MAX_DIAGNOSTIC_CHARS = 1000


def classify(raw: bytes) -> list[Verdict]:
    """Classify ``raw`` (a whole message, as received) into per-recipient verdicts.

    Never raises on malformed input: a message that carries no report gets
    one ``not_bounce`` verdict with an empty recipient.
    """
    # RFC 5322 caps a line at 998 characters, so a longer one is junk or an
    # attack. Some reply patterns take time that grows faster than the line,
    # and cutting it keeps every later step linear in the message size.
    bounded = _cut_long_lines(raw)
    verdicts: list[Verdict] = []
    messages, messages_dropped = _mbox_messages(bounded)
    for message in messages:
        try:
            verdicts.extend(_classify(walk(message), forwarded=False))
        except RecursionError:
            # MIME nested deeper than Python's stack: no report can be read.
            verdicts.append(Verdict(recipient="", bounce_class=BounceClass.UNKNOWN, reason=""))
    reports = [item for item in verdicts if item.bounce_class is not BounceClass.NOT_BOUNCE]
    found = reports or verdicts[:1]
    if messages_dropped:
        return [replace(item, truncated=True) for item in found]
    return found


MAX_LINE_BYTES = 1000


def _cut_long_lines(raw: bytes) -> bytes:
    # bytes.split and max(map(len, ...)) run in C, and the common case (no long line)
    # returns ``raw`` itself.
    lines = raw.split(b"\n")
    if max(map(len, lines)) <= MAX_LINE_BYTES:
        return raw
    return b"\n".join(line[:MAX_LINE_BYTES] for line in lines)


# The "From " line that opens each message of an mbox file (RFC 4155 section 2): the
# sender, then an asctime() date. Some writers omit the blank line before it.
_MBOX_FROM = re.compile(
    rb"\nFrom \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d"
)
MAX_MBOX_MESSAGES = 16


def _mbox_messages(raw: bytes) -> tuple[list[bytes], bool]:
    """Split a file that holds several messages in mbox form; one message stays whole.

    The flag is true when the file contains messages past MAX_MBOX_MESSAGES or past
    the first MAX_MESSAGE_BYTES. The last message then runs to the end of the
    file, and the walk reads at most MAX_MESSAGE_BYTES of it.
    """
    if not raw.startswith(b"From "):
        return [raw], False
    starts = [0] + [match.start() + 1 for match in _MBOX_FROM.finditer(raw, 0, MAX_MESSAGE_BYTES)]
    dropped = len(starts) > MAX_MBOX_MESSAGES or (
        len(raw) > MAX_MESSAGE_BYTES and _MBOX_FROM.search(raw, MAX_MESSAGE_BYTES) is not None
    )
    starts = starts[:MAX_MBOX_MESSAGES]
    ends = [*starts[1:], len(raw)]
    return [raw[start:end] for start, end in zip(starts, ends, strict=True)], dropped


def _classify(walked: Walked, *, forwarded: bool) -> list[Verdict]:
    verdicts = _read_verdicts(walked, forwarded=forwarded)
    if walked.truncated:
        return [replace(item, truncated=True) for item in verdicts]
    return verdicts


def _read_verdicts(walked: Walked, *, forwarded: bool) -> list[Verdict]:
    report = textreport.report_text(walked)
    original = textreport.original_headers(walked, "\n".join(walked.texts))
    message_id, campaign = _original_ids(original)

    if is_feedback(walked):
        verdicts = classify_feedback(walked, message_id, campaign)
        if verdicts:
            return verdicts

    listed = list_server_verdicts(walked, message_id, campaign)
    if listed:
        return listed
    notified = _ses_notification(walked)
    if notified:
        return notified

    statuses = [item for block in walked.delivery_status for item in recipients_of(block)]
    if not statuses and "final-recipient:" in report.lower():
        # A DSN pasted as plain text instead of a message/delivery-status part.
        statuses = recipients_of(report[report.lower().find("final-recipient:") - 1 :])
    attached = walked.original or original
    if (
        not statuses
        and not forwarded
        and attached is not None
        and _is_forwarded(attached)
        and textreport.looks_like_bounce(walked)
    ):
        # A relay's bounce that carries the next hop's, attached or quoted: the inner
        # report gives the verdict. A person who forwards a bounce sends no bounce.
        return _classify(walk_message(attached), forwarded=True)
    if statuses:
        return _gateway_filtered(
            walked,
            report,
            [
                _from_status(item, segment, message_id, campaign)
                for item, segment in zip(statuses, _status_segments(report, statuses), strict=True)
            ],
        )

    if textreport.looks_like_bounce(walked) and not _is_plain_reply(walked.headers):
        addresses = textreport.recipients(walked, report, original)
        if addresses:
            return _gateway_filtered(
                walked,
                report,
                [
                    _from_text(segment, report, message_id, campaign)
                    for segment in textreport.segments(report, addresses)
                ],
            )

    if is_auto_reply(walked.headers):
        return auto_reply_verdicts(walked.headers, message_id, campaign) or [not_bounce()]
    if is_unsubscribe_request(walked.headers):
        return unsubscribe_verdicts(walked.headers, message_id, campaign) or [not_bounce()]
    return [not_bounce()]


def _ses_notification(walked: Walked) -> list[Verdict]:
    """Read an Amazon SES notification that SNS delivered by email as its JSON body."""
    body = walked.texts[0].lstrip() if walked.texts else ""
    if not body.startswith("{") or '"notificationType"' not in body[:200]:
        return []
    try:
        # The JSON object is followed by SNS's unsubscribe footer.
        message, _ = json.JSONDecoder().raw_decode(body)
        events = ses.parse(ses.unwrap(message)) if isinstance(message, dict) else []
    except (ValueError, WebhookFormatError):
        return []
    return [event.verdict for event in events]


def _is_forwarded(original: Message) -> bool:
    if original.get_content_type() != "multipart/report":
        return False
    report_type = original.get_param("report-type")
    return isinstance(report_type, str) and report_type.lower() == "delivery-status"


def _gateway_filtered(walked: Walked, report: str, verdicts: list[Verdict]) -> list[Verdict]:
    """Read a gateway's user-unknown as a filter refusal unless its status is X.1.1."""
    if not any(item.reason == "userunknown" for item in verdicts):
        return verdicts
    if not filtering_gateway(walked.headers, report):
        return verdicts
    return [
        replace(item, reason="filtered", bounce_class=BounceClass.SOFT)
        if item.reason == "userunknown" and item.status.partition(".")[2] != "1.1"
        else item
        for item in verdicts
    ]


def _is_plain_reply(headers: Message) -> bool:
    # RFC 3834 section 3.3 recommends an empty Return-Path for replies too, so only the
    # From header tells a mail system's bounce from a person's automatic reply.
    return is_auto_reply(headers) and not textreport.is_bounce_from(headers)


def _status_segments(
    report: str, statuses: list[RecipientStatus]
) -> list[textreport.Segment | None]:
    """Cut the text part into the words about each DSN recipient, in the DSN's order."""
    if not report:
        return [None] * len(statuses)
    addresses = list(dict.fromkeys(item.recipient for item in statuses))
    by_address = {segment.recipient: segment for segment in textreport.segments(report, addresses)}
    return [by_address.get(item.recipient) for item in statuses]


def _from_status(
    item: RecipientStatus, segment: textreport.Segment | None, message_id: str, campaign: str
) -> Verdict:
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
        # A disabled mailbox named in the Status comment beats the reply's generic words.
        if reason_from_text(item.status_text) == "suspend":
            reason = "suspend"
    bounce_class = class_of(reason, status, reply_code)
    if reason == "notaccept" and item.action == "delayed":
        # A domain without a mail exchanger gains none by waiting (RFC 7505 section 4),
        # even when the reporting MTA keeps the message queued.
        bounce_class = BounceClass.HARD
    return Verdict(
        recipient=item.recipient,
        bounce_class=bounce_class,
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
