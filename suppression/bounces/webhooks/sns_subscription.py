"""Amazon SNS subscription confirmation: check the ``SubscribeURL``, request it, read the ARN.

When a topic subscribes an endpoint, SNS posts a signed
``SubscriptionConfirmation`` message. A GET of its ``SubscribeURL``, which
calls the SNS ``ConfirmSubscription`` action, confirms the subscription, and
SNS returns the new subscription's ARN in an XML document. The URL carries
the confirmation token and the request leaves the deployment, so the URL is
checked field by field before any request. The transport is passed in, so
tests never reach the network.
"""

from __future__ import annotations

import enum
import http.client
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.parsers import expat

from suppression.bounces.webhooks.common import text
from suppression.bounces.webhooks.ses import RejectRedirect, is_sns_host, sns_host_region

# Takes the checked ``SubscribeURL`` and returns the body of SNS's response.
SubscriptionConfirmer = Callable[[str], bytes]

TIMEOUT_SECONDS = 5.0
# A ConfirmSubscription response is under 1 KiB, so a larger body is not one.
MAX_RESPONSE_BYTES = 16 * 1024
_CHUNK_BYTES = 4096
# SNS subscription ids are UUIDs. The pattern keeps any other value out of the logs.
_SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class SubscribeUrlFault(enum.Enum):
    """A check of ``SubscribeURL`` that failed, with its English description."""

    MALFORMED = "is missing or not a plain absolute URL"
    NOT_HTTPS = "does not use https"
    NOT_SNS_HOST = "is not on an sns.<region>.amazonaws.com host"
    WRONG_REGION = "is on the SNS host of a region other than the TopicArn's"
    WRONG_ACTION = "does not carry Action=ConfirmSubscription"
    WRONG_TOPIC = "does not carry the message's TopicArn"
    WRONG_TOKEN = "does not carry the message's Token"  # noqa: S105 - a message, no secret


class SubscribeUrlError(ValueError):
    """The ``SubscribeURL`` of a confirmation message failed a check; ``fault`` names it.

    The message never contains the URL, because the URL carries the token.
    """

    def __init__(self, fault: SubscribeUrlFault) -> None:
        super().__init__(f"field 'SubscribeURL' {fault.value}")
        self.fault = fault


class ConfirmError(Exception):
    """The ConfirmSubscription request failed, or its response contains no subscription ARN.

    ``error_type`` is the class name of the underlying error and ``http_status``
    the HTTP status when SNS returned one. Neither contains the URL or the token.
    """

    def __init__(self, reason: str, *, error_type: str = "", http_status: int | None = None):
        super().__init__(reason)
        self.error_type = error_type or type(self).__name__
        self.http_status = http_status


def check_subscribe_url(envelope: dict[str, Any]) -> str:
    """Return the ``SubscribeURL`` of a verified confirmation message once every check passes.

    :raises SubscribeUrlError: when the URL is not an https URL of the SNS host
        of the topic's region, or its query lacks ``Action=ConfirmSubscription``
        or the message's ``TopicArn`` and ``Token``.
    """
    url = text(envelope.get("SubscribeURL"))
    topic_arn = text(envelope.get("TopicArn"))
    # Printable ASCII only: urlsplit silently drops tabs and newlines, and a
    # space or non-ASCII character has no place in a URL that SNS built.
    if not url or not all("!" <= character <= "~" for character in url):
        raise SubscribeUrlError(SubscribeUrlFault.MALFORMED)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SubscribeUrlError(SubscribeUrlFault.MALFORMED) from None

    if parts.scheme != "https":
        raise SubscribeUrlError(SubscribeUrlFault.NOT_HTTPS)
    if parts.username is not None or port not in (None, 443):
        raise SubscribeUrlError(SubscribeUrlFault.MALFORMED)
    if parts.path not in ("", "/") or parts.fragment:
        raise SubscribeUrlError(SubscribeUrlFault.MALFORMED)

    hostname = parts.hostname or ""
    if not is_sns_host(hostname):
        raise SubscribeUrlError(SubscribeUrlFault.NOT_SNS_HOST)
    # A topic ARN reads arn:<partition>:sns:<region>:<account>:<name>, and SNS
    # sends the confirmation link of the topic's own regional endpoint.
    arn_parts = topic_arn.split(":")
    if len(arn_parts) < 6 or sns_host_region(hostname) != arn_parts[3]:
        raise SubscribeUrlError(SubscribeUrlFault.WRONG_REGION)

    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise SubscribeUrlError(SubscribeUrlFault.MALFORMED) from None
    if query.get("Action") != ["ConfirmSubscription"]:
        raise SubscribeUrlError(SubscribeUrlFault.WRONG_ACTION)
    if query.get("TopicArn") != [topic_arn]:
        raise SubscribeUrlError(SubscribeUrlFault.WRONG_TOPIC)
    token = text(envelope.get("Token"))
    if not token or query.get("Token") != [token]:
        raise SubscribeUrlError(SubscribeUrlFault.WRONG_TOKEN)
    return url


def confirm_https(
    url: str,
    *,
    timeout_seconds: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> bytes:
    """Send the GET that confirms the subscription and return the response body.

    Redirects are not followed. ``timeout_seconds`` bounds each socket
    operation, and the body read stops once ``timeout_seconds`` have passed
    since the call or ``max_bytes`` have arrived. Call it only with a URL
    that ``check_subscribe_url`` returned.

    :raises ConfirmError: when the body is larger than ``max_bytes`` or takes
        longer than ``timeout_seconds`` to arrive.
    :raises OSError: ``urllib.error.HTTPError`` for a non-2xx status (3xx
        included), ``URLError`` or ``TimeoutError`` when the connection fails.
    :raises http.client.HTTPException: when the response is not valid HTTP.
    """
    # NOTE: the host name lookup runs before any socket exists, so no timeout bounds it.
    # RejectRedirect: a redirect must never send the token to a host the checks did not see.
    opener = urllib.request.build_opener(RejectRedirect)
    deadline = time.monotonic() + timeout_seconds
    try:
        response = opener.open(url, timeout=timeout_seconds)
    except urllib.error.HTTPError as error:
        # The error keeps the connection open, and callers need only its status.
        error.close()
        raise
    with response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ConfirmError("the response is larger than max_bytes")
        body = bytearray()
        while True:
            # read1 returns after at most one read on the socket, so a server
            # that trickles bytes still meets the deadline.
            chunk = response.read1(_CHUNK_BYTES)
            if not chunk:
                break
            body.extend(chunk)
            if len(body) > max_bytes:
                raise ConfirmError("the response is larger than max_bytes")
            if time.monotonic() > deadline:
                raise ConfirmError("the response timed out", error_type="TimeoutError")
    return bytes(body)


def subscription_arn(body: bytes, topic_arn: str) -> str:
    """Read the ``SubscriptionArn`` from a ConfirmSubscription response.

    The document may declare no DTD and no entity, so nothing is expanded
    or fetched while it is parsed.

    :raises ConfirmError: when the body is not such a response, or the ARN is
        not one of a subscription to ``topic_arn``.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    values: list[str] = []
    inside = False

    def reject_declaration(*_: object) -> None:
        raise ConfirmError("the response declares a DTD or an entity")

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal inside
        # The element may carry a namespace prefix, such as "sns:SubscriptionArn".
        inside = name.rpartition(":")[2] == "SubscriptionArn"
        if inside:
            values.append("")

    def end(_name: str) -> None:
        nonlocal inside
        inside = False

    def characters(data: str) -> None:
        if inside:
            values[-1] += data

    parser.StartDoctypeDeclHandler = reject_declaration
    parser.EntityDeclHandler = reject_declaration
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        raise ConfirmError("the response is not XML") from None

    if len(values) != 1:
        raise ConfirmError("the response has no single SubscriptionArn")
    arn = values[0].strip()
    # A subscription ARN is the topic ARN followed by ":<subscription id>".
    prefix, _, subscription_id = arn.rpartition(":")
    if prefix != topic_arn or not _SUBSCRIPTION_ID.fullmatch(subscription_id):
        raise ConfirmError("the SubscriptionArn is not a subscription to the topic")
    return arn


def confirm(envelope: dict[str, Any], confirmer: SubscriptionConfirmer = confirm_https) -> str:
    """Confirm the subscription of a verified ``SubscriptionConfirmation`` and return its ARN.

    :raises SubscribeUrlError: when ``SubscribeURL`` fails a check; no request is sent.
    :raises ConfirmError: when the request fails or SNS's response contains no ARN.
    """
    url = check_subscribe_url(envelope)
    try:
        body = confirmer(url)
    except (OSError, http.client.HTTPException, ValueError) as error:
        status = getattr(error, "code", None)
        raise ConfirmError(
            "the ConfirmSubscription request failed",
            error_type=type(error).__name__,
            http_status=status if isinstance(status, int) else None,
        ) from None
    return subscription_arn(body, text(envelope.get("TopicArn")))
