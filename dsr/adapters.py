"""One adapter per processor kind: turn a notification into HTTP calls and classify the response.

An adapter returns a :class:`CallResult` and never raises for an HTTP or
network failure. Its ``error`` is a fixed code with at most the HTTP status
and the processor's numeric error code: response bodies can quote the
address, so no text of theirs is kept.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from compliance.core.models import iso_utc
from dsr.models import ProcessorKind
from dsr.outbound import OutboundClient, OutboundError, Response

POSTMARK_BASE_URL = "https://api.postmarkapp.com"
SENDGRID_BASE_URL = "https://api.sendgrid.com"
# Mailchimp serves each account from one data center, named by the API key's
# suffix: key "…-us21" is served at https://us21.api.mailchimp.com.
MAILCHIMP_BASE_URL = "https://{data_center}.api.mailchimp.com"
# Postmark's default stream for broadcasts (marketing) messages.
POSTMARK_DEFAULT_STREAM = "broadcast"
MAX_MAILCHIMP_LISTS = 10

_DATA_CENTER = re.compile(r"-([a-z]{2,5}[0-9]{1,3})$")
# Network failures that a later attempt may not meet.
_RETRYABLE_REASONS = frozenset({"timeout", "connection_failed", "tls_failed", "host_not_resolved"})


class Action(enum.StrEnum):
    ERASURE = "erasure"  # GDPR Art. 17
    OBJECTION = "objection"  # Art. 21(3): no more direct marketing
    # Art. 16. Art. 19 requires it to be passed on to each recipient. Only
    # the webhook takes it: the vendors' erasure and suppression calls cannot
    # carry corrected values.
    RECTIFICATION = "rectification"


# Processor kinds that accept a rectification.
RECTIFICATION_KINDS = frozenset({ProcessorKind.WEBHOOK})


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    # The processor accepted the request and is still carrying it out: ask
    # again later with the remote_ref it returned (Postmark's data removals).
    WAITING = "waiting"


@dataclass(frozen=True)
class CallResult:
    outcome: Outcome
    response_status: int | None = None
    # Non-personal: "http_503", "timeout", "postmark_error_300"...
    error: str | None = None
    # The processor's own id for the job, when it returns one.
    remote_ref: str | None = None


@dataclass(frozen=True)
class Credentials:
    # The webhook signing secret, or the API key or token of the kind.
    secret: str
    # Postmark only: the server token its suppressions API needs (objection).
    server_token: str | None = None


@dataclass(frozen=True)
class Notification:
    """The request one task sends to one processor; ``task_id`` is the stable event id."""

    task_id: str
    request_id: str
    sender_id: str
    action: Action
    # When the task was created: the same on every retry.
    created_at: datetime
    # When this attempt is made: the webhook signature's timestamp.
    sent_at: datetime
    address: str
    # Rectification: the corrected values by field (name, country, locale),
    # and the fields that wait for the subject's confirmation (email).
    changes: Mapping[str, str] = field(default_factory=dict)
    pending_confirmation: tuple[str, ...] = ()
    # The processor's own job id from an earlier attempt, to poll its state.
    remote_ref: str | None = None


@dataclass(frozen=True)
class ProcessorCall:
    kind: ProcessorKind
    base_url: str
    credentials: Credentials
    config: Mapping[str, Any] = field(default_factory=dict)


def mailchimp_data_center(api_key: str) -> str | None:
    """Return the data center named by a Mailchimp API key's suffix, or None."""
    match = _DATA_CENTER.search(api_key)
    return match.group(1) if match else None


def default_base_url(kind: ProcessorKind, secret: str) -> str | None:
    """Return the official API base URL of ``kind``, or None when it needs one given."""
    if kind == ProcessorKind.POSTMARK:
        return POSTMARK_BASE_URL
    if kind == ProcessorKind.SENDGRID:
        return SENDGRID_BASE_URL
    if kind == ProcessorKind.MAILCHIMP:
        data_center = mailchimp_data_center(secret)
        return MAILCHIMP_BASE_URL.format(data_center=data_center) if data_center else None
    return None


def call_processor(client: OutboundClient, call: ProcessorCall, note: Notification) -> CallResult:
    """Send ``note`` to the processor described by ``call`` and classify the result."""
    if note.action == Action.RECTIFICATION and call.kind not in RECTIFICATION_KINDS:
        # The vendor adapters would take it for an erasure.
        return CallResult(Outcome.PERMANENT, error="action_not_supported")
    adapter = _ADAPTERS[call.kind]
    try:
        return adapter(client, call, note)
    except OutboundError as error:
        outcome = Outcome.RETRYABLE if error.reason in _RETRYABLE_REASONS else Outcome.PERMANENT
        return CallResult(outcome, error=error.reason)


def classify_status(status: int) -> Outcome:
    """Classify an HTTP status: 2xx done, 408, 429 and 5xx worth retrying, others final."""
    if 200 <= status < 300:
        return Outcome.SUCCEEDED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRYABLE
    # 3xx included: a redirect is not followed, so the call did not happen.
    return Outcome.PERMANENT


def _failure(response: Response, detail: str | None = None) -> CallResult:
    error = f"http_{response.status}" + (f":{detail}" if detail else "")
    return CallResult(classify_status(response.status), response.status, error)


def _json_object(response: Response) -> dict[str, Any]:
    """Parse a JSON object body; return {} for anything else (truncated, HTML, empty)."""
    if response.truncated:
        return {}
    try:
        parsed = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _json_headers() -> dict[str, str]:
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": "Sendguard (data-subject request notification)",
    }


# Webhook ---------------------------------------------------------------------


def webhook_body(note: Notification) -> bytes:
    """Build the webhook's JSON body; its ``id`` is the task id, the same on every retry."""
    document: dict[str, object] = {
        "id": note.task_id,
        "type": f"dsr.{note.action.value}",
        "created_at": iso_utc(note.created_at),
        "request_id": note.request_id,
        "sender_id": note.sender_id,
        "subject": {"email": note.address},
    }
    if note.action == Action.RECTIFICATION:
        document["changes"] = dict(note.changes)
        document["pending_confirmation"] = list(note.pending_confirmation)
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the HMAC-SHA256 hex digest of ``"<timestamp>.<body>"`` under ``secret``.

    The timestamp is signed with the body, so a receiver that rejects old
    timestamps also rejects a captured request replayed later.
    """
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _notify_webhook(client: OutboundClient, call: ProcessorCall, note: Notification) -> CallResult:
    body = webhook_body(note)
    timestamp = int(note.sent_at.timestamp())
    headers = _json_headers()
    signature = webhook_signature(call.credentials.secret, timestamp, body)
    headers["Sendguard-Signature"] = f"t={timestamp},v1={signature}"
    headers["Sendguard-Event-Id"] = note.task_id

    response = client.request("POST", call.base_url, headers=headers, body=body)
    if classify_status(response.status) != Outcome.SUCCEEDED:
        return _failure(response)
    return CallResult(Outcome.SUCCEEDED, response.status)


# Postmark --------------------------------------------------------------------


def _postmark_failure(response: Response) -> CallResult:
    # Postmark errors carry a numeric ErrorCode next to a Message that may quote input.
    code = _json_object(response).get("ErrorCode")
    return _failure(response, f"postmark_error_{code}" if isinstance(code, int) else None)


def _notify_postmark(client: OutboundClient, call: ProcessorCall, note: Notification) -> CallResult:
    if note.action == Action.OBJECTION:
        return _suppress_postmark(client, call, note)

    if note.remote_ref is not None:
        return _poll_postmark_removal(client, call, note.remote_ref)

    # Data Removal API: erases the recipient's data from the whole account.
    # RequestedBy is documented as the requester's address. A controller's
    # role address can be configured, else the request id replaces it, so no
    # person's address is sent. NotifyWhenCompleted stays false for that reason.
    requested_by = str(call.config.get("requested_by") or f"sendguard-dsr-{note.request_id}")
    body = {"RequestedBy": requested_by, "RequestedFor": note.address, "NotifyWhenCompleted": False}
    headers = _json_headers()
    headers["X-Postmark-Account-Token"] = call.credentials.secret
    response = client.request(
        "POST", _url(call.base_url, "/data-removals"), headers=headers, body=_encode(body)
    )
    if classify_status(response.status) != Outcome.SUCCEEDED:
        return _postmark_failure(response)

    document = _json_object(response)
    removal_id = document.get("ID")
    if not isinstance(removal_id, int):
        # Without its id the removal cannot be followed: a person must check it.
        return CallResult(Outcome.PERMANENT, response.status, error="postmark_removal_id_missing")
    return _removal_state(response.status, str(removal_id), document.get("Status"))


def _poll_postmark_removal(
    client: OutboundClient, call: ProcessorCall, removal_id: str
) -> CallResult:
    headers = _json_headers()
    headers["X-Postmark-Account-Token"] = call.credentials.secret
    response = client.request(
        "GET", _url(call.base_url, f"/data-removals/{quote(removal_id, safe='')}"), headers=headers
    )
    if classify_status(response.status) != Outcome.SUCCEEDED:
        return _postmark_failure(response)
    return _removal_state(response.status, removal_id, _json_object(response).get("Status"))


def _removal_state(status: int, removal_id: str, state: object) -> CallResult:
    # Postmark reports "Pending" until it has erased the data, then "Done".
    # The erasure counts as done only then, so the certificate never claims
    # an erasure that Postmark has not carried out.
    if state == "Done":
        return CallResult(Outcome.SUCCEEDED, status, remote_ref=removal_id)
    if state == "Pending":
        return CallResult(Outcome.WAITING, status, remote_ref=removal_id)
    return CallResult(
        Outcome.RETRYABLE, status, error="postmark_removal_state_unknown", remote_ref=removal_id
    )


def _suppress_postmark(
    client: OutboundClient, call: ProcessorCall, note: Notification
) -> CallResult:
    token = call.credentials.server_token
    if not token:
        return CallResult(Outcome.PERMANENT, error="postmark_server_token_missing")

    stream = str(call.config.get("message_stream") or POSTMARK_DEFAULT_STREAM)
    headers = _json_headers()
    headers["X-Postmark-Server-Token"] = token
    body = {"Suppressions": [{"EmailAddress": note.address}]}
    path = f"/message-streams/{quote(stream, safe='')}/suppressions"
    response = client.request(
        "POST", _url(call.base_url, path), headers=headers, body=_encode(body)
    )
    if classify_status(response.status) != Outcome.SUCCEEDED:
        return _postmark_failure(response)

    # Each address gets a Status: "Suppressed", or "Failed" with a Message.
    results = _json_object(response).get("Suppressions")
    statuses = [item.get("Status") for item in results or [] if isinstance(item, dict)]
    if statuses != ["Suppressed"]:
        return CallResult(Outcome.PERMANENT, response.status, "postmark_suppression_failed")
    return CallResult(Outcome.SUCCEEDED, response.status, remote_ref=f"stream:{stream}"[:120])


# SendGrid --------------------------------------------------------------------


def _sendgrid_headers(call: ProcessorCall) -> dict[str, str]:
    headers = _json_headers()
    headers["Authorization"] = f"Bearer {call.credentials.secret}"
    return headers


def _notify_sendgrid(client: OutboundClient, call: ProcessorCall, note: Notification) -> CallResult:
    headers = _sendgrid_headers(call)
    if note.action == Action.OBJECTION:
        # Global unsubscribes: SendGrid drops every later message to the address.
        body = {"recipient_emails": [note.address]}
        response = client.request(
            "POST",
            _url(call.base_url, "/v3/asm/suppressions/global"),
            headers=headers,
            body=_encode(body),
        )
        if classify_status(response.status) != Outcome.SUCCEEDED:
            return _failure(response)
        return CallResult(Outcome.SUCCEEDED, response.status, remote_ref="global_unsubscribe")

    # Erasure: Marketing Campaigns deletes contacts by id only, so find the id first.
    # The address is not added to a suppression: that would keep it in clear at
    # SendGrid, while Sendguard screens every send against its own blind index.
    search = client.request(
        "POST",
        _url(call.base_url, "/v3/marketing/contacts/search/emails"),
        headers=headers,
        body=_encode({"emails": [note.address]}),
    )
    if search.status == 404:
        # SendGrid documents 404 for no matching contact: nothing to erase.
        return CallResult(Outcome.SUCCEEDED, search.status, remote_ref="no_contact")
    if classify_status(search.status) != Outcome.SUCCEEDED:
        return _failure(search, "search")

    contact_ids = _sendgrid_contact_ids(_json_object(search))
    if not contact_ids:
        return CallResult(Outcome.SUCCEEDED, search.status, remote_ref="no_contact")

    ids = ",".join(quote(contact_id, safe="") for contact_id in contact_ids)
    deletion = client.request(
        "DELETE", _url(call.base_url, f"/v3/marketing/contacts?ids={ids}"), headers=headers
    )
    if classify_status(deletion.status) != Outcome.SUCCEEDED:
        return _failure(deletion, "delete")
    # 202: SendGrid deletes asynchronously and returns the job's id.
    job_id = _json_object(deletion).get("job_id")
    remote_ref = f"job:{job_id}"[:120] if isinstance(job_id, str) else None
    return CallResult(Outcome.SUCCEEDED, deletion.status, remote_ref=remote_ref)


def _sendgrid_contact_ids(document: Mapping[str, Any]) -> list[str]:
    # "result" maps each searched address to {"contact": {...}} or {"error": "..."}.
    result = document.get("result")
    ids: list[str] = []
    if not isinstance(result, dict):
        return ids
    for entry in result.values():
        contact = entry.get("contact") if isinstance(entry, dict) else None
        contact_id = contact.get("id") if isinstance(contact, dict) else None
        if isinstance(contact_id, str) and contact_id and contact_id not in ids:
            ids.append(contact_id)
    return ids


# Mailchimp -------------------------------------------------------------------


def subscriber_hash(address: str) -> str:
    """Return Mailchimp's member id: the MD5 hex digest of the lowercased address."""
    return hashlib.md5(address.lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def _notify_mailchimp(
    client: OutboundClient, call: ProcessorCall, note: Notification
) -> CallResult:
    # HTTP basic authentication: any user name, the API key as password.
    token = base64.b64encode(f"sendguard:{call.credentials.secret}".encode()).decode("ascii")
    headers = _json_headers()
    headers["Authorization"] = f"Basic {token}"
    member = subscriber_hash(note.address)

    done = absent = 0
    last_status: int | None = None
    failures: list[CallResult] = []
    for list_id in call.config.get("list_ids", []):
        base = f"/3.0/lists/{quote(str(list_id), safe='')}/members/{member}"
        if note.action == Action.ERASURE:
            # Deletes the member's personal data for good; Mailchimp will
            # then refuse to import the address into this audience again.
            response = client.request(
                "POST", _url(call.base_url, f"{base}/actions/delete-permanent"), headers=headers
            )
        else:
            # PATCH changes an existing member only: PUT would create one.
            response = client.request(
                "PATCH",
                _url(call.base_url, base),
                headers=headers,
                body=_encode({"status": "unsubscribed"}),
            )
        last_status = response.status
        if response.status == 404:
            # Not in this audience, or already deleted: nothing left to do.
            absent += 1
        elif classify_status(response.status) == Outcome.SUCCEEDED:
            done += 1
        else:
            failures.append(_failure(response))

    # A retry repeats every audience, and those already done return 404.
    for outcome in (Outcome.RETRYABLE, Outcome.PERMANENT):
        for failure in failures:
            if failure.outcome == outcome:
                return failure
    remote_ref = f"lists_done={done};lists_absent={absent}"
    return CallResult(Outcome.SUCCEEDED, last_status, remote_ref=remote_ref)


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


_Adapter = Callable[[OutboundClient, ProcessorCall, Notification], CallResult]
_ADAPTERS: dict[ProcessorKind, _Adapter] = {
    ProcessorKind.WEBHOOK: _notify_webhook,
    ProcessorKind.POSTMARK: _notify_postmark,
    ProcessorKind.SENDGRID: _notify_sendgrid,
    ProcessorKind.MAILCHIMP: _notify_mailchimp,
}
