"""Prometheus counters and histograms that the kernel and the domains increment.

Labels never carry a sender, contact, address or raw URL path: metrics are
read by people outside the tenant, and every distinct label value becomes a
time series, so ids would make the series count grow with the data.

prometheus_client picks its value storage when it is first imported. With
``PROMETHEUS_MULTIPROC_DIR`` set before the process starts, these metrics are
written to files in that folder, so that ``/metrics`` can add up the values
of every uvicorn worker (see docs/operations.md).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Histogram

# Methods outside RFC 9110's list share one label value, so a client that
# sends made-up methods cannot create new series.
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

HTTP_REQUESTS = Counter(
    "sendguard_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "sendguard_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response, in seconds.",
    ["method", "route", "status"],
)

OutboxFailureKind = Literal["temporary", "permanent"]

OUTBOX_SENT = Counter("sendguard_outbox_sent", "Emails the outbox worker handed to the relay.")
OUTBOX_SEND_FAILURES = Counter(
    "sendguard_outbox_send_failures",
    "Outbox sends the relay refused: temporary (4xx or no answer, retried) or permanent (5xx).",
    ["kind"],
)
# Every background loop catches and logs its errors to keep running; this
# counter is how an operator sees that one keeps failing.
JOB_FAILURES = Counter(
    "sendguard_job_failures",
    "Background job runs that raised an unexpected error, by job.",
    ["job"],
)

ScreeningOutcome = Literal["kept", "removed"]

SCREENED_ADDRESSES = Counter(
    "sendguard_screened_addresses",
    "Recipients screened by POST /v1/screen, by outcome (kept or removed).",
    ["outcome"],
)
# Screening takes up to 100,000 recipients per request, so the buckets reach a minute.
SCREENING_DURATION = Histogram(
    "sendguard_screening_duration_seconds",
    "Time to screen one POST /v1/screen request, in seconds.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one HTTP request; ``route`` must be the route template, never the path."""
    method = method.upper() if method.upper() in _KNOWN_METHODS else "OTHER"
    labels = (method, route, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


def record_outbox_failure(kind: OutboxFailureKind) -> None:
    OUTBOX_SEND_FAILURES.labels(kind).inc()


def record_job_failure(job: str) -> None:
    """Count one failed run of a background job; ``job`` is a fixed name, never data."""
    JOB_FAILURES.labels(job).inc()


def observe_screening(kept: int, removed: int, seconds: float) -> None:
    SCREENED_ADDRESSES.labels("kept").inc(kept)
    SCREENED_ADDRESSES.labels("removed").inc(removed)
    SCREENING_DURATION.observe(seconds)
