"""Each processor adapter against a loopback fake that speaks the vendor's documented API."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from compliance.core.settings import Environment, Settings
from dsr.adapters import (
    Action,
    Credentials,
    Notification,
    Outcome,
    ProcessorCall,
    call_processor,
    default_base_url,
    mailchimp_data_center,
    webhook_signature,
)
from dsr.models import ProcessorKind
from dsr.outbound import OutboundClient
from tests.dsr import fake_processors as fakes
from tests.dsr.fake_processors import FakeProcessors

ADDRESS = "Jeanne.Martin@example.org"
LOOPBACK = Settings(
    env=Environment.TEST,
    processor_allow_http=True,
    processor_allow_private_networks=True,
    processor_timeout_seconds=2.0,
)
CLIENT = OutboundClient(LOOPBACK)


@pytest.fixture
def fake() -> Iterator[FakeProcessors]:
    with FakeProcessors() as server:
        yield server


def note(action: Action = Action.ERASURE) -> Notification:
    return Notification(
        task_id="task-0001",
        request_id="request-0001",
        sender_id="sender-0001",
        action=action,
        created_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        sent_at=datetime(2026, 12, 1, 9, 31, tzinfo=UTC),
        address=ADDRESS,
    )


def call(kind: ProcessorKind, base_url: str, secret: str, **config: object) -> ProcessorCall:
    server_token = fakes.POSTMARK_SERVER_TOKEN if kind == ProcessorKind.POSTMARK else None
    return ProcessorCall(kind, base_url, Credentials(secret, server_token), config)


# Webhook ---------------------------------------------------------------------


def test_webhook_signed_and_accepted(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.SUCCEEDED
    assert result.response_status == 200
    assert fake.state.bad_signatures == 0
    assert fake.state.webhook_event_ids == ["task-0001"]


def test_webhook_body_shape(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)

    call_processor(CLIENT, processor, note(Action.OBJECTION))

    sent = fake.requests[0]
    assert sent.json() == {
        "id": "task-0001",
        "type": "dsr.objection",
        "created_at": "2026-12-01T09:30:00.000000Z",
        "request_id": "request-0001",
        "sender_id": "sender-0001",
        "subject": {"email": ADDRESS},
    }
    assert sent.headers["sendguard-event-id"] == "task-0001"
    assert sent.headers["content-type"] == "application/json"


def test_webhook_rectification_body(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)
    rectification = replace(
        note(Action.RECTIFICATION),
        changes={"country": "CA", "name": "Dana Martin"},
        pending_confirmation=("email",),
    )

    result = call_processor(CLIENT, processor, rectification)

    body = fake.requests[0].json()
    assert result.outcome == Outcome.SUCCEEDED
    assert fake.state.bad_signatures == 0
    assert body["type"] == "dsr.rectification"
    assert body["subject"] == {"email": ADDRESS}
    assert body["changes"] == {"country": "CA", "name": "Dana Martin"}
    assert body["pending_confirmation"] == ["email"]


@pytest.mark.parametrize(
    "kind", [ProcessorKind.POSTMARK, ProcessorKind.SENDGRID, ProcessorKind.MAILCHIMP]
)
def test_vendor_rectification_not_sent(fake: FakeProcessors, kind: ProcessorKind) -> None:
    # The vendor adapters handle only erasure and objection. A rectification
    # that reached them must not be taken for an erasure.
    processor = call(kind, fake.url, "key-us21", list_ids=["a1b2c3"])

    result = call_processor(CLIENT, processor, note(Action.RECTIFICATION))

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "action_not_supported"
    assert fake.requests == []


def test_webhook_signature_format(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)

    call_processor(CLIENT, processor, note())

    sent = fake.requests[0]
    timestamp = int(datetime(2026, 12, 1, 9, 31, tzinfo=UTC).timestamp())
    expected = webhook_signature(fakes.WEBHOOK_SECRET, timestamp, sent.body)
    assert sent.headers["sendguard-signature"] == f"t={timestamp},v1={expected}"


def test_webhook_wrong_secret_permanent(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", "another-secret-0123456789")

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "http_401"
    assert fake.state.bad_signatures == 1


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (500, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (429, Outcome.RETRYABLE),
        (408, Outcome.RETRYABLE),
        (400, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (410, Outcome.PERMANENT),
        (301, Outcome.PERMANENT),
    ],
)
def test_webhook_status_classified(fake: FakeProcessors, status: int, outcome: Outcome) -> None:
    fake.fail_next(1, status)
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == outcome
    assert result.response_status == status
    assert result.error == f"http_{status}"


def test_unreachable_processor_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    processor = call(ProcessorKind.WEBHOOK, f"http://127.0.0.1:{port}/hook", "s" * 32)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.RETRYABLE
    assert result.error == "connection_failed"


def test_forbidden_address_permanent(fake: FakeProcessors) -> None:
    strict = OutboundClient(Settings(env=Environment.TEST, processor_allow_http=True))
    processor = call(ProcessorKind.WEBHOOK, f"{fake.url}/hook", fakes.WEBHOOK_SECRET)

    result = call_processor(strict, processor, note())

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "address_not_allowed"
    assert fake.requests == []


# Postmark --------------------------------------------------------------------


def test_postmark_erasure_requests_removal(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.POSTMARK, fake.url, fakes.POSTMARK_ACCOUNT_TOKEN)

    result = call_processor(CLIENT, processor, note())

    # Postmark carries the removal out later: the task waits for "Done".
    assert result.outcome == Outcome.WAITING
    assert result.remote_ref == "1001"
    assert fake.state.postmark_removals == [
        {
            "RequestedBy": "sendguard-dsr-request-0001",
            "RequestedFor": ADDRESS,
            "NotifyWhenCompleted": False,
        }
    ]


def test_postmark_removal_polled_until_done(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.POSTMARK, fake.url, fakes.POSTMARK_ACCOUNT_TOKEN)
    first = call_processor(CLIENT, processor, note())
    polling = replace(note(), remote_ref=first.remote_ref)

    pending = call_processor(CLIENT, processor, polling)
    fake.state.postmark_done.add(1001)
    done = call_processor(CLIENT, processor, polling)

    assert pending.outcome == Outcome.WAITING
    assert done.outcome == Outcome.SUCCEEDED
    assert done.remote_ref == "1001"
    polls = [request for request in fake.requests if request.method == "GET"]
    assert [request.path for request in polls] == ["/data-removals/1001"] * 2
    # A poll requests no second removal.
    assert len(fake.state.postmark_removals) == 1


def test_postmark_unknown_removal_permanent(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.POSTMARK, fake.url, fakes.POSTMARK_ACCOUNT_TOKEN)

    result = call_processor(CLIENT, processor, replace(note(), remote_ref="4242"))

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "http_404:postmark_error_1302"


def test_postmark_requested_by_configured(fake: FakeProcessors) -> None:
    processor = call(
        ProcessorKind.POSTMARK,
        fake.url,
        fakes.POSTMARK_ACCOUNT_TOKEN,
        requested_by="privacy@exemple.fr",
    )

    call_processor(CLIENT, processor, note())

    assert fake.state.postmark_removals[0]["RequestedBy"] == "privacy@exemple.fr"


def test_postmark_bad_token_permanent(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.POSTMARK, fake.url, "wrong-token")

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "http_401:postmark_error_10"


def test_postmark_objection_suppresses(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.POSTMARK, fake.url, fakes.POSTMARK_ACCOUNT_TOKEN)

    result = call_processor(CLIENT, processor, note(Action.OBJECTION))

    assert result.outcome == Outcome.SUCCEEDED
    assert fake.state.postmark_suppressions == {"broadcast": [ADDRESS]}
    assert fake.state.postmark_removals == []


def test_postmark_objection_custom_stream(fake: FakeProcessors) -> None:
    processor = call(
        ProcessorKind.POSTMARK,
        fake.url,
        fakes.POSTMARK_ACCOUNT_TOKEN,
        message_stream="newsletter",
    )

    call_processor(CLIENT, processor, note(Action.OBJECTION))

    assert fake.state.postmark_suppressions == {"newsletter": [ADDRESS]}


def test_postmark_objection_needs_server_token(fake: FakeProcessors) -> None:
    processor = ProcessorCall(
        ProcessorKind.POSTMARK, fake.url, Credentials(fakes.POSTMARK_ACCOUNT_TOKEN), {}
    )

    result = call_processor(CLIENT, processor, note(Action.OBJECTION))

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "postmark_server_token_missing"
    assert fake.requests == []


# SendGrid --------------------------------------------------------------------


def test_sendgrid_erasure_deletes_contact(fake: FakeProcessors) -> None:
    fake.state.sendgrid_contacts[ADDRESS.lower()] = "contact-42"
    processor = call(ProcessorKind.SENDGRID, fake.url, fakes.SENDGRID_API_KEY)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.SUCCEEDED
    assert result.response_status == 202
    assert result.remote_ref is not None and result.remote_ref.startswith("job:")
    assert fake.state.sendgrid_contacts == {}
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/v3/marketing/contacts/search/emails"),
        ("DELETE", "/v3/marketing/contacts"),
    ]
    assert fake.requests[1].query == {"ids": ["contact-42"]}


def test_sendgrid_erasure_without_contact(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.SENDGRID, fake.url, fakes.SENDGRID_API_KEY)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.SUCCEEDED
    assert result.remote_ref == "no_contact"
    assert len(fake.requests) == 1


def test_sendgrid_search_failure_retryable(fake: FakeProcessors) -> None:
    fake.fail_next(1, 503)
    processor = call(ProcessorKind.SENDGRID, fake.url, fakes.SENDGRID_API_KEY)

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.RETRYABLE
    assert result.error == "http_503:search"


def test_sendgrid_bad_key_permanent(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.SENDGRID, fake.url, "SG.wrong")

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "http_401:search"


def test_sendgrid_objection_global_unsubscribe(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.SENDGRID, fake.url, fakes.SENDGRID_API_KEY)

    result = call_processor(CLIENT, processor, note(Action.OBJECTION))

    assert result.outcome == Outcome.SUCCEEDED
    assert result.response_status == 201
    assert fake.state.sendgrid_unsubscribes == [ADDRESS]


# Mailchimp -------------------------------------------------------------------

MEMBER = hashlib.md5(ADDRESS.lower().encode()).hexdigest()


def test_mailchimp_erasure_each_audience(fake: FakeProcessors) -> None:
    fake.state.mailchimp_members[("list1", MEMBER)] = "subscribed"
    processor = call(
        ProcessorKind.MAILCHIMP, fake.url, fakes.MAILCHIMP_API_KEY, list_ids=["list1", "list2"]
    )

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.SUCCEEDED
    assert result.remote_ref == "lists_done=1;lists_absent=1"
    assert fake.state.mailchimp_members == {}
    assert [r.path for r in fake.requests] == [
        f"/3.0/lists/list1/members/{MEMBER}/actions/delete-permanent",
        f"/3.0/lists/list2/members/{MEMBER}/actions/delete-permanent",
    ]


def test_mailchimp_failure_retryable(fake: FakeProcessors) -> None:
    fake.state.mailchimp_members[("list1", MEMBER)] = "subscribed"
    fake.fail_next(1, 500)
    processor = call(
        ProcessorKind.MAILCHIMP, fake.url, fakes.MAILCHIMP_API_KEY, list_ids=["list1", "list2"]
    )

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.RETRYABLE
    assert result.error == "http_500"


def test_mailchimp_bad_key_permanent(fake: FakeProcessors) -> None:
    processor = call(ProcessorKind.MAILCHIMP, fake.url, "wrong-us21", list_ids=["list1"])

    result = call_processor(CLIENT, processor, note())

    assert result.outcome == Outcome.PERMANENT
    assert result.error == "http_401"


def test_mailchimp_objection_unsubscribes(fake: FakeProcessors) -> None:
    fake.state.mailchimp_members[("list1", MEMBER)] = "subscribed"
    processor = call(
        ProcessorKind.MAILCHIMP, fake.url, fakes.MAILCHIMP_API_KEY, list_ids=["list1", "list2"]
    )

    result = call_processor(CLIENT, processor, note(Action.OBJECTION))

    assert result.outcome == Outcome.SUCCEEDED
    assert fake.state.mailchimp_members == {("list1", MEMBER): "unsubscribed"}
    assert fake.requests[0].method == "PATCH"
    assert fake.requests[0].json() == {"status": "unsubscribed"}


@pytest.mark.parametrize(
    ("key", "data_center"),
    [
        ("0123abcd-us21", "us21"),
        ("0123abcd-us6", "us6"),
        ("0123abcd", None),
        ("0123abcd-us21.attacker.example", None),
        ("0123abcd-us21/", None),
    ],
)
def test_mailchimp_data_center_from_key(key: str, data_center: str | None) -> None:
    assert mailchimp_data_center(key) == data_center


def test_default_base_urls() -> None:
    assert default_base_url(ProcessorKind.POSTMARK, "t") == "https://api.postmarkapp.com"
    assert default_base_url(ProcessorKind.SENDGRID, "t") == "https://api.sendgrid.com"
    assert default_base_url(ProcessorKind.MAILCHIMP, "abc-us21") == "https://us21.api.mailchimp.com"
    assert default_base_url(ProcessorKind.WEBHOOK, "t") is None
