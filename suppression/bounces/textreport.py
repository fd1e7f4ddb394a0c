"""The human-readable part of a bounce: where the report ends and what it says per recipient."""

from __future__ import annotations

import email
import email.policy
import functools
import re
from dataclasses import dataclass
from email.message import Message

from suppression.bounces.addresses import addresses_in, is_system_address, same_address
from suppression.bounces.mime import Walked, header_text
from suppression.bounces.reasons import REPLY_PATTERN, STATUS_PATTERN

# Lines after which MTAs quote the returned message; the report is what comes before.
# The leading run of rule characters is possessive and each phrase starts where that run
# ends. A run of dashes that ends in "--" or "-- " can still introduce "original message".
# Letting the run give characters back instead made a line of n dashes cost n**3 steps:
# four lines of 999 dashes took 12 seconds.
_SEPARATOR = re.compile(
    r"(?m)^[ \t>|*=_-]*+(?:"
    r"below this line is a copy|original message follows|"
    r"this is a copy of (?:the|your) message|original message (?:follows|below|headers)|"
    r"returned message|unsent message below|message headers? follows?|"
    r"headers? of (?:the )?(?:original|returned) message|"
    r"the headers? (?:and (?:the )?(?:top|first) .{0,20})?(?:of|from) (?:the|this|your) "
    r"(?:original )?message|copy of the (?:original )?message|"
    r"undelivered message (?:headers )?follows|message that (?:you|was) sent|original message:$"
    r"|content-type:\s*message/rfc822|return-path:\s*<|received:\s*from\s"
    r"|(?:(?<=--)|(?<=-- ))original message)"
)

_SEPARATOR_ANY_CASE = re.compile(_SEPARATOR.pattern, re.IGNORECASE | re.MULTILINE)

_BOUNCE_SUBJECT = re.compile(
    r"(?i)undeliver|deliver(?:y|ed)? (?:status|notification|failure|report|problem|has failed"
    r"|failed|incomplete)|returned (?:mail|to sender)|failure notice|mail delivery|non[- ]?"
    r"delivery|could not be delivered|bounce|rejected|warning|not delivered|delayed|"
    r"nicht zustellbar|unzustellbar|no entregado|non remis|error|failed|fehlgeschlagen|"
    r"problem|mail system|notification|returned|delivery|unable to deliver|"
    r"\u914d\u9001|\u672a\u914d\u9054|\u30a8\u30e9\u30fc"
)
_BOUNCE_SENDER = re.compile(
    r"(?i)mailer-daemon|postmaster|mail delivery|mail administrator|mailadmin|"
    r"system administrator|mail system|daemon|bounce|returns?@|mdaemon|mail router"
)


@dataclass(frozen=True)
class Segment:
    recipient: str
    text: str
    status: str
    reply_code: str


def report_text(walked: Walked) -> str:
    """Return the report before the quoted original message."""
    text = "\n".join(walked.texts).replace("\r\n", "\n")
    span = separator_span(text)
    return text[: span[0]] if span else text


@functools.lru_cache(maxsize=8)
def separator_span(text: str) -> tuple[int, int] | None:
    """Return where the quoted original message is introduced in ``text``, or ``None``.

    The pattern is matched on the lower-cased text: a case-insensitive search
    costs twice as much. Cached, because the report and the quoted headers are
    both looked for in the same text.
    """
    lowered = text.lower()
    if len(lowered) != len(text):
        # Lower-casing changed the length (some non-ASCII letters do): offsets would shift.
        match = _SEPARATOR_ANY_CASE.search(text)
    else:
        match = _SEPARATOR.search(lowered)
    return match.span() if match else None


def is_bounce_from(headers: Message) -> bool:
    return bool(_BOUNCE_SENDER.search(header_text(headers, "From")))


def looks_like_bounce_sender(headers: Message) -> bool:
    # header_text, not headers.get: a header with 8-bit bytes comes back as a Header object.
    return_path = header_text(headers, "Return-Path")
    sender = header_text(headers, "From") + return_path
    return bool(_BOUNCE_SENDER.search(sender)) or return_path.strip() == "<>"


# Opening lines that only reports of a failed delivery carry, whoever sends them
# (Verizon's gateways write them from an ordinary subscriber address).
_BOUNCE_OPENING = re.compile(
    r"(?im)^(?:error: invalid user address|error message below:|"
    r"message could not be delivered to mobile)"
)


def looks_like_bounce(walked: Walked) -> bool:
    if walked.delivery_status or walked.report_type.lower() == "delivery-status":
        return True
    if walked.texts and _BOUNCE_OPENING.search(walked.texts[0][:2000]):
        return True
    if walked.headers.get("X-Failed-Recipients"):
        return True
    if looks_like_bounce_sender(walked.headers):
        return True
    return bool(_BOUNCE_SUBJECT.search(header_text(walked.headers, "Subject")))


def recipients(walked: Walked, report: str, original: Message | None = None) -> list[str]:
    """Return the recipients the report names, without the mail system's and the sender's own.

    ``original`` is the returned message's header block when it was quoted as text.
    """
    original = walked.original if original is None else original
    excluded = addresses_in(header_text(walked.headers, "To") + header_text(walked.headers, "From"))
    if original is not None:
        excluded += addresses_in(header_text(original, "From"))

    failed = addresses_in(header_text(walked.headers, "X-Failed-Recipients"))
    if failed:
        return failed
    listed = _listed_failures(report)
    if listed:
        return listed

    found = [
        address
        for address in addresses_in(report)
        if not is_system_address(address)
        and not any(same_address(address, other) for other in excluded)
    ]
    if found:
        return found
    if original is not None:
        named = addresses_in(header_text(original, "To"))[:1]
        if named:
            return named
    # A report about a mail system's own address ("postmaster@...") names only that.
    return [
        address
        for address in addresses_in(report)
        if not any(same_address(address, other) for other in excluded)
    ][:1]


# Exim lists the failed addresses, one a line, after this sentence; the list names
# recipients even when one of them is also the sender's own address.
_FAILED_LIST = re.compile(r"(?i)following address(?:\(es\)|es)?\s+failed:[ \t]*\n")
_LISTED_LINE = re.compile(r"^[ \t]*<?(\S+@[^\s>:]+)>?:?[ \t]*$")


def _listed_failures(report: str) -> list[str]:
    match = _FAILED_LIST.search(report)
    if match is None:
        return []
    found = []
    for line in report[match.end() : match.end() + 4000].splitlines():
        listed = _LISTED_LINE.match(line)
        if listed:
            found.extend(addresses_in(listed.group(1)))
    return list(dict.fromkeys(found))


def _first_mention(lowered: str, address: str) -> int:
    """Return where the report starts to speak of ``address``: a line it opens, else any."""
    # str.find, not a regex per address: compiling one per report costs more than the rest.
    first = position = lowered.find(address)
    while position >= 0:
        line_start = lowered.rfind("\n", 0, position) + 1
        if not lowered[line_start:position].strip(' \t<"'):
            return line_start
        position = lowered.find(address, position + 1)
    return max(first, 0)


def segments(report: str, addresses: list[str]) -> list[Segment]:
    """Cut the report into the text about each recipient, from its first mention to the next."""
    lowered = report.lower()
    starts = [_first_mention(lowered, address.lower()) for address in addresses]
    result = []
    for position, address in enumerate(addresses):
        if len(addresses) == 1:
            # The words before the first mention are the MTA's boilerplate for every recipient.
            text = report[starts[0] :]
        else:
            following = [start for start in starts if start > starts[position]]
            end = min(following) if following else len(report)
            text = report[starts[position] : end]
        result.append(
            Segment(
                recipient=address,
                text=text,
                status=first_status(text),
                reply_code=first_reply(text),
            )
        )
    return result


# Where the remote server's own words start in a plain-text report: after the phrase
# that introduces them, or at the first SMTP reply code at a line or sentence start.
_REPLY_START = re.compile(
    r"(?i)(?:said|returned was|failed with|remote host said|server replied|"
    r"error from remote mail server after [^:\n]{0,80}:(?:\s*host [^:\n]{0,120}:)?)\s*"
    r"|(?:^|(?<=[\s>:(]))(?=[45]\d\d[ -][^\n]{3})"
    # Sendmail's local delivery agent names the cause a line before the SMTP reply.
    r"|(?im:^(?=mail\.local: ))"
)


def reply_text(text: str) -> str:
    """Return the remote server's reply within a report segment, or ``""`` when none is marked."""
    match = _REPLY_START.search(text)
    return text[match.end() :] if match else ""


def first_status(text: str) -> str:
    for match in STATUS_PATTERN.finditer(text):
        if match.group(1) != "2":
            return match.group(0)
    return ""


def first_reply(text: str) -> str:
    for line in text.splitlines():
        match = REPLY_PATTERN.search(line)
        if match and match.group(1)[0] != "2":
            return match.group(1)
    return ""


def original_headers(walked: Walked, text: str) -> Message | None:
    """Return the returned message's headers, from its MIME part or the quoted text."""
    if walked.original is not None:
        return walked.original
    span = separator_span(text)
    if span is None:
        return None
    quoted = text[span[1] : span[1] + 32768].split("\n", 1)[-1].lstrip("\n")
    return email.message_from_string(quoted, policy=email.policy.compat32)
