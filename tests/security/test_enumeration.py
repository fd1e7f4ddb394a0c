"""Public entry points that take an address return the same response whether or not it is known.

Three public entry points take an address from anyone: the sign-up
(``POST /v1/subscribe``), the magic link request (``POST /m/{form_id}``) and
the data-subject request intake (``POST /v1/dsr/intake``). For each, five
addresses in different states must get the same status, headers and body,
the same error responses, and response times of the same order of magnitude:

- ``unknown``: never seen by the sender;
- ``pending``: signed up, confirmation email sent longer ago than the resend cooldown;
- ``confirmed``: signed up and confirmed;
- ``complaint``: signed up, then suppressed after a spam complaint;
- ``cooldown``: signed up a moment ago, so within the resend cooldown (for the
  magic link: a link was sent a moment ago).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from compliance.core.models import utcnow
from compliance.core.padding import ResponseTimePadding
from compliance.core.ratelimit import MemoryRateLimiter
from consent.models import Contact, SelfServiceRequest
from tests.api.conftest import (
    Tenant,
    app,
    client,
    csrf_field,
    deliver,
    link_in,
    make_tenant,
    signup,
)

__all__ = ["app", "client"]

CASES = ("unknown", "pending", "confirmed", "complaint", "cooldown")
ADDRESSES = {case: f"{case}.subject@example.org" for case in CASES}

# Headers that differ between any two requests, whatever the address.
PER_REQUEST_HEADERS = frozenset({"date", "x-request-id", "set-cookie"})

# The requirement is the same order of magnitude: the slowest case's median
# less than ten times the fastest case's. Without padding, this test on a
# shared 2-core machine measured ratios of 6 to 8 (sign-up) and about 3
# (magic link), which pass that bar. So the check uses 2. With padding the
# ratios were at most 1.4 on SQLite and PostgreSQL, as for the DSR intake,
# whose cases do the same work.
MAX_MEDIAN_RATIO = 2.0
# An estimate well above any real sign-up on the test machine.
INFLATED_SECONDS = 0.3
TIMED_ROUNDS = 30
WARMUP_ROUNDS = 5


@dataclasses.dataclass
class Subjects:
    """A tenant whose addresses are in the states of ``CASES``."""

    client: TestClient
    tenant: Tenant

    @property
    def engine(self) -> Any:
        return self.client.app.state.engine  # type: ignore[attr-defined]

    def contact_of(self, address: str) -> Contact | None:
        digest = self.client.app.state.services.indexer.current(address).digest  # type: ignore[attr-defined]
        with Session(self.engine) as session:
            return session.exec(select(Contact).where(Contact.email_index == digest)).first()

    def clear_resend_cooldown(self, address: str) -> None:
        digest = self.client.app.state.services.indexer.current(address).digest  # type: ignore[attr-defined]
        with Session(self.engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(Contact)
                .where(col(Contact.email_index) == digest)
                .values(confirmation_sent_at=None)
            )
            session.commit()

    def clear_magic_link_cooldown(self, address: str) -> None:
        contact = self.contact_of(address)
        assert contact is not None
        with Session(self.engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(SelfServiceRequest)
                .where(col(SelfServiceRequest.contact_id) == contact.id)
                .values(created_at=utcnow() - timedelta(hours=1))
            )
            session.commit()


def build_subjects(client: TestClient, tenant: Tenant) -> Subjects:
    subjects = Subjects(client, tenant)
    for case in ("pending", "confirmed", "complaint"):
        assert sign_up(client, tenant, ADDRESSES[case]).status_code == 202

    messages = deliver(client)
    [confirmation] = [message for message in messages if message["To"] == ADDRESSES["confirmed"]]
    assert client.post(link_in(confirmation, "/c/")).status_code == 200

    complaint = client.post(
        "/v1/suppressions",
        json={"email": ADDRESSES["complaint"], "reason": "complaint"},
        headers=tenant.auth("sender"),
    )
    assert complaint.status_code == 201
    subjects.clear_resend_cooldown(ADDRESSES["pending"])
    subjects.clear_resend_cooldown(ADDRESSES["complaint"])
    assert sign_up(client, tenant, ADDRESSES["cooldown"]).status_code == 202
    deliver(client)

    for case in ("pending", "confirmed", "complaint", "cooldown"):
        contact = subjects.contact_of(ADDRESSES[case])
        assert contact is not None, case
    assert subjects.contact_of(ADDRESSES["unknown"]) is None
    return subjects


@pytest.fixture
def subjects(app: FastAPI, client: TestClient) -> Subjects:
    # The DSR intake mails at most three codes an hour to one address, and
    # the timing loop sends 35 intakes per address, so this limit is lifted
    # here. test_dsr_intake_errors_same_for_all puts the real one back.
    services = app.state.services
    app.state.real_dsr_subject_limiter = services.dsr_subject_limiter
    app.state.services = dataclasses.replace(
        services, dsr_subject_limiter=MemoryRateLimiter(1_000_000, 3600)
    )
    return build_subjects(client, make_tenant(app))


def sign_up(client: TestClient, tenant: Tenant, address: str) -> httpx.Response:
    return client.post("/v1/subscribe", json=signup(tenant.form_id, address))


def magic_link_form(client: TestClient, tenant: Tenant) -> Callable[[str], httpx.Response]:
    """Return a function that posts the magic link form for an address, without following."""
    form = f"/m/{tenant.form_id}"
    csrf = csrf_field(client.get(form).text)

    def post(address: str) -> httpx.Response:
        return client.post(form, data={"csrf": csrf, "email": address}, follow_redirects=False)

    return post


def dsr_intake(client: TestClient, tenant: Tenant, address: str) -> httpx.Response:
    return client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "access", "email": address, "locale": "en"},
    )


_RANDOM_ID = re.compile(r'"request_id":"[^"]+"')


def comparable(response: httpx.Response) -> tuple[int, dict[str, str], str]:
    """Return what a client can compare between responses: status, stable headers, body."""
    headers = {
        name: value for name, value in response.headers.items() if name not in PER_REQUEST_HEADERS
    }
    # Every intake creates a request with a new random id, known address or not.
    body = _RANDOM_ID.sub('"request_id":"(id)"', response.text)
    return response.status_code, headers, body


def assert_same_responses(responses: dict[str, httpx.Response]) -> None:
    expected = comparable(responses["unknown"])
    for case, response in responses.items():
        status, headers, body = comparable(response)
        assert status == expected[0], case
        assert headers == expected[1], case
        assert body == expected[2], case
        assert ADDRESSES[case] not in response.text, case


def median_times(
    requests: dict[str, Callable[[], object]], prepare: dict[str, Callable[[], None]]
) -> dict[str, float]:
    """Return each case's median response time in seconds, over interleaved rounds.

    The cases take turns within each round, in a rotating order, so drift of
    the machine's load affects all cases alike. ``prepare`` runs before a
    request, outside the measured time, to put the address back in its state.
    """
    samples: dict[str, list[float]] = {case: [] for case in requests}
    order = list(requests)
    for round_number in range(WARMUP_ROUNDS + TIMED_ROUNDS):
        shift = round_number % len(order)
        for case in order[shift:] + order[:shift]:
            if case in prepare:
                prepare[case]()
            started = time.perf_counter()
            requests[case]()
            elapsed = time.perf_counter() - started
            if round_number >= WARMUP_ROUNDS:
                samples[case].append(elapsed)
    return {case: statistics.median(values) for case, values in samples.items()}


def assert_same_order_of_magnitude(medians: dict[str, float]) -> None:
    summary = ", ".join(f"{case}={seconds * 1000:.1f} ms" for case, seconds in medians.items())
    print(f"median response times: {summary}")
    ratio = max(medians.values()) / min(medians.values())
    assert ratio < MAX_MEDIAN_RATIO, f"median ratio {ratio:.1f}: {summary}"


LogLines = Callable[[], list[str]]


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[LogLines]:
    """Return a function that lists the test's log lines, from structlog and standard logging."""
    with structlog.testing.capture_logs() as events:

        def lines() -> list[str]:
            return [repr(event) for event in events] + [
                record.getMessage() for record in caplog.records
            ]

        yield lines


def assert_no_address_in(lines: list[str]) -> None:
    assert lines, "no log line was captured"
    for case, address in ADDRESSES.items():
        for line in lines:
            assert address.lower() not in line.lower(), case


# --- sign-up ---


def test_signup_same_response_for_all(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant

    responses = {case: sign_up(client, tenant, address) for case, address in ADDRESSES.items()}

    assert_same_responses(responses)
    assert responses["unknown"].status_code == 202


def test_signup_invalid_input_same_for_all(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant

    responses = {
        case: client.post(
            "/v1/subscribe", json=signup(tenant.form_id, address, privacy_policy_url="no url")
        )
        for case, address in ADDRESSES.items()
    }

    assert_same_responses(responses)
    assert responses["unknown"].status_code == 422


def test_signup_invalid_address_echoes_nothing(subjects: Subjects) -> None:
    bad = "known.subject@@example.org"

    response = sign_up(subjects.client, subjects.tenant, bad)

    assert response.status_code == 422
    assert bad not in response.text
    assert response.json()["errors"][0]["field"] == "email"


def test_signup_rate_limit_same_for_all(subjects: Subjects) -> None:
    app: Any = subjects.client.app
    app.state.services = dataclasses.replace(
        app.state.services, subscribe_limiter=MemoryRateLimiter(0, 60)
    )

    responses = {
        case: sign_up(subjects.client, subjects.tenant, address)
        for case, address in ADDRESSES.items()
    }

    assert_same_responses(responses)
    assert responses["unknown"].status_code == 429


def test_signup_logs_no_address(subjects: Subjects, captured_logs: LogLines) -> None:
    for address in ADDRESSES.values():
        sign_up(subjects.client, subjects.tenant, address)
    deliver(subjects.client)

    assert_no_address_in(captured_logs())


def test_signup_timing_same_order(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant
    fresh = (f"new.{number}@example.org" for number in itertools.count())
    requests: dict[str, Callable[[], object]] = {
        case: (lambda address=address: sign_up(client, tenant, address))
        for case, address in ADDRESSES.items()
    }
    # A new address each time, so every request is a first sign-up.
    requests["unknown"] = lambda: sign_up(client, tenant, next(fresh))
    # Outside the cooldown again, so every request resends the confirmation.
    prepare = {"pending": lambda: subjects.clear_resend_cooldown(ADDRESSES["pending"])}

    medians = median_times(requests, prepare)

    assert_same_order_of_magnitude(medians)


def test_signup_timing_after_inflated_estimate(app: FastAPI, subjects: Subjects) -> None:
    # A burst of slow new sign-ups raises the running estimate. If only the
    # fast paths waited for it, a known address would then respond slower
    # than a new one. Every path waits, so the two still match.
    services = app.state.services
    app.state.services = dataclasses.replace(
        # weight=0 keeps the estimate where the burst left it for the whole test.
        services,
        signup_padding=ResponseTimePadding(initial_seconds=INFLATED_SECONDS, weight=0.0),
    )
    client, tenant = subjects.client, subjects.tenant
    fresh = (f"burst.{number}@example.org" for number in itertools.count())
    requests: dict[str, Callable[[], object]] = {
        "unknown": lambda: sign_up(client, tenant, next(fresh)),
        "confirmed": lambda: sign_up(client, tenant, ADDRESSES["confirmed"]),
    }

    medians = median_times(requests, {})

    assert min(medians.values()) > INFLATED_SECONDS / 2, medians
    assert_same_order_of_magnitude(medians)


# --- magic link ---


def magic_link_subjects(subjects: Subjects) -> Callable[[str], httpx.Response]:
    post = magic_link_form(subjects.client, subjects.tenant)
    assert post(ADDRESSES["cooldown"]).status_code == 303
    return post


def test_magic_link_same_response_for_all(subjects: Subjects) -> None:
    post = magic_link_subjects(subjects)

    responses = {case: post(address) for case, address in ADDRESSES.items()}

    assert_same_responses(responses)
    assert responses["unknown"].status_code == 303
    sent = [message["To"] for message in deliver(subjects.client)]
    assert sorted(sent) == sorted(
        ADDRESSES[case] for case in ("pending", "confirmed", "complaint", "cooldown")
    )


def test_magic_link_invalid_and_limited_same(subjects: Subjects) -> None:
    post = magic_link_subjects(subjects)
    form = f"/m/{subjects.tenant.form_id}"
    csrf = csrf_field(subjects.client.get(form).text)

    invalid = {
        case: subjects.client.post(
            form, data={"csrf": csrf, "email": address + "@"}, follow_redirects=False
        )
        for case, address in ADDRESSES.items()
    }
    app: Any = subjects.client.app
    app.state.services = dataclasses.replace(
        app.state.services, subscribe_limiter=MemoryRateLimiter(0, 60)
    )
    limited = {case: post(address) for case, address in ADDRESSES.items()}

    assert_same_responses(invalid)
    assert invalid["unknown"].status_code == 422
    assert_same_responses(limited)
    assert limited["unknown"].status_code == 429


def test_magic_link_logs_no_address(subjects: Subjects, captured_logs: LogLines) -> None:
    post = magic_link_subjects(subjects)
    for address in ADDRESSES.values():
        post(address)
    deliver(subjects.client)

    assert_no_address_in(captured_logs())


def test_magic_link_timing_same_order(subjects: Subjects) -> None:
    post = magic_link_subjects(subjects)
    requests: dict[str, Callable[[], object]] = {
        case: (lambda address=address: post(address)) for case, address in ADDRESSES.items()
    }
    # Outside the magic link cooldown again, so each of these gets a new link.
    prepare: dict[str, Callable[[], None]] = {
        case: (lambda address=ADDRESSES[case]: subjects.clear_magic_link_cooldown(address))
        for case in ("pending", "confirmed", "complaint")
    }

    medians = median_times(requests, prepare)

    assert_same_order_of_magnitude(medians)


# --- data-subject request intake ---


def test_dsr_intake_same_response_for_all(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant

    responses = {case: dsr_intake(client, tenant, address) for case, address in ADDRESSES.items()}

    assert_same_responses(responses)
    assert responses["unknown"].status_code == 202
    sent = [message["To"] for message in deliver(client)]
    assert sorted(sent) == sorted(ADDRESSES.values())


def test_dsr_intake_errors_same_for_all(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant
    app: Any = client.app
    app.state.services = dataclasses.replace(
        app.state.services, dsr_subject_limiter=app.state.real_dsr_subject_limiter
    )

    invalid = {
        case: client.post(
            "/v1/dsr/intake",
            json={"form_id": tenant.form_id, "type": "rectification", "email": address},
        )
        for case, address in ADDRESSES.items()
    }
    for address in ADDRESSES.values():
        for _ in range(3):
            assert dsr_intake(client, tenant, address).status_code == 202
    per_address = {case: dsr_intake(client, tenant, address) for case, address in ADDRESSES.items()}
    app.state.services = dataclasses.replace(
        app.state.services, subscribe_limiter=MemoryRateLimiter(0, 60)
    )
    per_client = {case: dsr_intake(client, tenant, address) for case, address in ADDRESSES.items()}

    assert_same_responses(invalid)
    assert invalid["unknown"].status_code == 422
    assert_same_responses(per_address)
    assert per_address["unknown"].status_code == 429
    assert_same_responses(per_client)
    assert per_client["unknown"].status_code == 429


def test_dsr_intake_logs_no_address(subjects: Subjects, captured_logs: LogLines) -> None:
    for address in ADDRESSES.values():
        dsr_intake(subjects.client, subjects.tenant, address)
    deliver(subjects.client)

    assert_no_address_in(captured_logs())


def test_dsr_intake_timing_same_order(subjects: Subjects) -> None:
    client, tenant = subjects.client, subjects.tenant
    requests: dict[str, Callable[[], object]] = {
        case: (lambda address=address: dsr_intake(client, tenant, address))
        for case, address in ADDRESSES.items()
    }

    medians = median_times(requests, {})

    assert_same_order_of_magnitude(medians)
