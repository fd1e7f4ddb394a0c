"""A loopback HTTP server that plays a webhook receiver, Postmark, SendGrid and Mailchimp.

Each route responds with the request and response shapes the vendor
documents, checks the credential header, and records every request. Tests
can queue statuses to return before the normal answer (``fail_next``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core.context import Services
from compliance.core.models import utcnow
from compliance.core.tenants import create_sender
from dsr.models import DataSubjectRequest, RequestStatus, RequestType
from dsr.payload import RequestPayload, store_payload

WEBHOOK_SECRET = "webhook-signing-secret-0123456789abcdef"
POSTMARK_ACCOUNT_TOKEN = "postmark-account-token"
POSTMARK_SERVER_TOKEN = "postmark-server-token"
SENDGRID_API_KEY = "SG.fake-sendgrid-key"
MAILCHIMP_API_KEY = "0123456789abcdef0123456789abcdef-us21"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeState:
    requests: list[Recorded] = field(default_factory=list)
    # Statuses returned, one per request, before routes respond normally.
    queued_statuses: list[int] = field(default_factory=list)
    # Seconds to wait before responding to any request (timeout tests).
    delay_seconds: float = 0.0
    # Webhook: event ids seen, and the signatures that failed to verify.
    webhook_event_ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    # SendGrid: contacts by lowercased address, and the global unsubscribes.
    sendgrid_contacts: dict[str, str] = field(default_factory=dict)
    sendgrid_unsubscribes: list[str] = field(default_factory=list)
    # Postmark: data removals requested, suppressions per stream.
    postmark_removals: list[dict[str, Any]] = field(default_factory=list)
    # Removal ids that Postmark has carried out ("Done"). The others are "Pending".
    postmark_done: set[int] = field(default_factory=set)
    postmark_suppressions: dict[str, list[str]] = field(default_factory=dict)
    # Mailchimp: members by (list id, subscriber hash) -> status.
    mailchimp_members: dict[tuple[str, str], str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        recorded = Recorded(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {name.lower(): value for name, value in self.headers.items()},
            body,
        )
        state = self.server.state
        with self.server.lock:
            state.requests.append(recorded)
            queued = state.queued_statuses.pop(0) if state.queued_statuses else None
        if state.delay_seconds:
            time.sleep(state.delay_seconds)
        if queued is not None:
            self._reply(queued, {"error": "injected failure"})
            return
        with self.server.lock:
            status, document = _route(state, recorded)
        self._reply(status, document)

    def _reply(self, status: int, document: Any) -> None:
        payload = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


_MAILCHIMP_MEMBER = re.compile(
    r"/3\.0/lists/([^/]+)/members/([0-9a-f]{32})(/actions/delete-permanent)?"
)


def _route(state: FakeState, request: Recorded) -> tuple[int, Any]:
    path, method = request.path, request.method
    if path == "/large":
        # Larger than the client's response cap.
        return 200, {"padding": "x" * 200_000}
    if path == "/hook" and method == "POST":
        return _webhook(state, request)
    if path == "/data-removals" and method == "POST":
        return _postmark_removal(state, request)
    match = re.fullmatch(r"/data-removals/(\d+)", path)
    if match and method == "GET":
        return _postmark_removal_state(state, request, int(match.group(1)))
    match = re.fullmatch(r"/message-streams/([^/]+)/suppressions", path)
    if match and method == "POST":
        return _postmark_suppress(state, request, match.group(1))
    if path == "/v3/marketing/contacts/search/emails" and method == "POST":
        return _sendgrid_search(state, request)
    if path == "/v3/marketing/contacts" and method == "DELETE":
        return _sendgrid_delete(state, request)
    if path == "/v3/asm/suppressions/global" and method == "POST":
        return _sendgrid_unsubscribe(state, request)
    match = _MAILCHIMP_MEMBER.fullmatch(path)
    if match:
        return _mailchimp(state, request, match.group(1), match.group(2), bool(match.group(3)))
    return 404, {"error": "no such route"}


def _webhook(state: FakeState, request: Recorded) -> tuple[int, Any]:
    # Verify as a receiver would: HMAC-SHA256 over "<t>.<body>", compared in constant time.
    header = request.headers.get("sendguard-signature", "")
    fields = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    signed = fields.get("t", "").encode() + b"." + request.body
    expected = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("v1", "")):
        state.bad_signatures += 1
        return 401, {"error": "bad signature"}
    state.webhook_event_ids.append(request.headers.get("sendguard-event-id", ""))
    return 200, {"received": True}


def _postmark_removal(state: FakeState, request: Recorded) -> tuple[int, Any]:
    if request.headers.get("x-postmark-account-token") != POSTMARK_ACCOUNT_TOKEN:
        return 401, {"ErrorCode": 10, "Message": "Bad or missing API token"}
    body = request.json()
    if "@" not in str(body.get("RequestedFor", "")):
        return 422, {"ErrorCode": 300, "Message": "Invalid email request"}
    state.postmark_removals.append(body)
    return 200, {"ID": 1000 + len(state.postmark_removals), "Status": "Pending"}


def _postmark_removal_state(
    state: FakeState, request: Recorded, removal_id: int
) -> tuple[int, Any]:
    if request.headers.get("x-postmark-account-token") != POSTMARK_ACCOUNT_TOKEN:
        return 401, {"ErrorCode": 10, "Message": "Bad or missing API token"}
    if not 1000 < removal_id <= 1000 + len(state.postmark_removals):
        # The error code is this fake's own; the adapter only reports it.
        return 404, {"ErrorCode": 1302, "Message": "Data removal request not found"}
    return 200, {
        "ID": removal_id,
        "Status": "Done" if removal_id in state.postmark_done else "Pending",
    }


def _postmark_suppress(state: FakeState, request: Recorded, stream: str) -> tuple[int, Any]:
    if request.headers.get("x-postmark-server-token") != POSTMARK_SERVER_TOKEN:
        return 401, {"ErrorCode": 10, "Message": "Bad or missing API token"}
    results = []
    for item in request.json().get("Suppressions", []):
        address = str(item.get("EmailAddress", ""))
        state.postmark_suppressions.setdefault(stream, []).append(address)
        results.append({"EmailAddress": address, "Status": "Suppressed", "Message": None})
    return 200, {"Suppressions": results}


def _sendgrid_authorized(request: Recorded) -> bool:
    return request.headers.get("authorization") == f"Bearer {SENDGRID_API_KEY}"


def _sendgrid_search(state: FakeState, request: Recorded) -> tuple[int, Any]:
    if not _sendgrid_authorized(request):
        return 401, {"errors": [{"field": None, "message": "authorization required"}]}
    result: dict[str, Any] = {}
    for address in request.json().get("emails", []):
        contact_id = state.sendgrid_contacts.get(address.lower())
        if contact_id is None:
            result[address] = {"error": "contact not found"}
        else:
            result[address] = {"contact": {"id": contact_id, "email": address.lower()}}
    if not any("contact" in entry for entry in result.values()):
        return 404, {"errors": [{"message": "No contacts found"}]}
    return 200, {"result": result}


def _sendgrid_delete(state: FakeState, request: Recorded) -> tuple[int, Any]:
    if not _sendgrid_authorized(request):
        return 401, {"errors": [{"message": "authorization required"}]}
    ids = set(",".join(request.query.get("ids", [])).split(","))
    for address, contact_id in list(state.sendgrid_contacts.items()):
        if contact_id in ids:
            del state.sendgrid_contacts[address]
    return 202, {"job_id": f"job-{len(state.requests)}"}


def _sendgrid_unsubscribe(state: FakeState, request: Recorded) -> tuple[int, Any]:
    if not _sendgrid_authorized(request):
        return 401, {"errors": [{"message": "authorization required"}]}
    addresses = list(request.json().get("recipient_emails", []))
    state.sendgrid_unsubscribes.extend(addresses)
    return 201, {"recipient_emails": addresses}


def _mailchimp(
    state: FakeState, request: Recorded, list_id: str, member: str, delete: bool
) -> tuple[int, Any]:
    # HTTP basic authentication: any user name, the API key as password.
    presented = request.headers.get("authorization", "")
    user_and_key = base64.b64decode(presented.removeprefix("Basic ")).decode(errors="replace")
    if not presented.startswith("Basic ") or user_and_key.split(":", 1)[-1] != MAILCHIMP_API_KEY:
        return 401, {"title": "API Key Invalid", "status": 401}
    key = (list_id, member)
    if key not in state.mailchimp_members:
        return 404, {"title": "Resource Not Found", "status": 404}
    if delete and request.method == "POST":
        del state.mailchimp_members[key]
        return 204, None
    if request.method == "PATCH":
        state.mailchimp_members[key] = str(request.json().get("status"))
        return 200, {"id": member, "status": state.mailchimp_members[key], "list_id": list_id}
    return 405, {"title": "Method Not Allowed", "status": 405}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = FakeState()
        self.lock = threading.Lock()


class FakeProcessors:
    """Start with ``with FakeProcessors() as fake:``; ``fake.url`` is its base URL."""

    def __init__(self) -> None:
        self._server = _Server()
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def state(self) -> FakeState:
        return self._server.state

    @property
    def requests(self) -> list[Recorded]:
        with self._server.lock:
            return list(self._server.state.requests)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._server.lock:
            self._server.state.queued_statuses.extend([status] * count)

    def __enter__(self) -> FakeProcessors:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# Rows for tests: a sender and a request whose payload contains the subject's address.


def make_sender(engine: Engine, name: str = "Exemple SAS") -> str:
    with Session(engine, expire_on_commit=False) as session:
        sender = create_sender(session, name, postal_address="12 rue de la Paix, 75002 Paris")
        session.commit()
    return sender.id


def make_request(engine: Engine, services: Services, sender_id: str, address: str) -> str:
    """Store an in-progress erasure request for ``address``, as the workflow would."""
    request = DataSubjectRequest(
        sender_id=sender_id,
        type=RequestType.ERASURE,
        status=RequestStatus.IN_PROGRESS,
        subject_index=services.indexer.current(address).digest,
        due_at=utcnow() + timedelta(days=30),
    )
    store_payload(services.keystore, request, RequestPayload(address=address))
    with Session(engine, expire_on_commit=False) as session:
        session.add(request)
        session.commit()
    return request.id
