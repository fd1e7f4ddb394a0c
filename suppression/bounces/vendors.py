"""Report formats of particular MTAs and gateways, recognised by their headers and wording.

Some gateways reject mail stopped by their recipient filters with the same
"user unknown" words they use for a missing mailbox, and send no status code
that tells the two apart. Sisimai reads a user-unknown from these gateways as
``filtered`` unless the server gave the precise X.1.1 status; so do we. Each
format is recognised by what only it writes, never by the refusal words.
"""

from __future__ import annotations

from email.message import Message

from suppression.bounces.mime import header_text

# Section lines and sentences that only one gateway's report carries.
_X1_SECTION = "---the following addresses had delivery errors---"
_X2_OPENING = "unable to deliver message to the following address(es)."
_MAILFOUNDRY_SUBJECT = "message delivery has failed"
_MAILFOUNDRY_OPENING = "delivery failed for the following reason:"


def filtering_gateway(headers: Message, report: str) -> str:
    """Return the name of the gateway whose user-unknown means a filter refusal, or ``""``."""
    if headers.get("X-AHMAILID"):
        return "activehunter"
    if "mcafee" in header_text(headers, "X-NAI-Header").lower():
        return "mcafee"
    if headers.get("X-ZohoMail") or header_text(headers, "X-Mailer").startswith("Zoho Mail"):
        return "zoho"
    if header_text(headers, "From").lower().rstrip("> ").endswith(".mxlogic.net"):
        return "mxlogic"
    lowered = report.lower()
    if _X1_SECTION in lowered:
        return "x1"
    if _X2_OPENING in lowered:
        return "x2"
    subject = header_text(headers, "Subject").strip().lower()
    if subject == _MAILFOUNDRY_SUBJECT and _MAILFOUNDRY_OPENING in lowered:
        return "mailfoundry"
    return ""
