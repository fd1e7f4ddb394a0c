"""An erasure survives SIGKILL of the server, right after its 201 and in its event purge.

The request deletes the contact, its data key and the first
``DSR_INLINE_EVENT_LIMIT`` events. ``serve`` deletes the rest in batches of
``DSR_EVENT_BATCH_SIZE``. Each batch is one transaction, which also adds
its count to the request's outcome. At any kill point the committed state must
add up: the deleted count plus the events left is the subject's history,
and the request is completed only when no event is left. After a restart
the purge resumes and the signed certificate counts every event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dsr.certificate import check_certificate
from tests.crash.restarts import crash_service, query, restart, scalar, wait_until
from tests.support.database import DatabaseUrls
from tests.support.service import ServeProcess

SUBJECT = "effacer@example.org"
# At most 10,000 events per request on /v1/campaigns/{id}/events.
EVENTS = 4_000
INLINE = 100
BATCH = 20
COMPLETION_TIMEOUT_SECONDS = 60.0
ATTESTATION = {
    "verified_by": "DPO office",
    "method": "id_document",
    "verified_at": "2026-01-10T09:00:00Z",
}


@dataclass(frozen=True)
class Subject:
    service: ServeProcess
    urls: DatabaseUrls
    sender: dict[str, str]
    dpo: dict[str, str]
    contact_id: str
    digest: str

    def remaining_events(self) -> int:
        return int(
            scalar(
                self.urls.database,
                "SELECT count(*) FROM delivery_events "
                "WHERE contact_id = :contact OR blind_index = :digest",
                contact=self.contact_id,
                digest=self.digest,
            )
        )


def call(
    service: ServeProcess, method: str, path: str, headers: dict[str, str], body: object = None
) -> Any:
    response = httpx.request(
        method, f"{service.base_url}{path}", json=body, headers=headers, timeout=60
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def subject(tmp_path: Path, database_urls: DatabaseUrls) -> Iterator[Subject]:
    """Start a service and give it a consenting contact with ``EVENTS`` delivery events."""
    service = crash_service(
        tmp_path,
        database_urls,
        {"DSR_INLINE_EVENT_LIMIT": str(INLINE), "DSR_EVENT_BATCH_SIZE": str(BATCH)},
    )
    try:
        account = service.create_sender("Effacement Exemple")
        sender = account.admin_headers
        dpo_key = call(service, "POST", "/v1/keys", sender, {"role": "dpo"})["key"]
        consent = {
            "email": SUBJECT,
            "topics": ["newsletter"],
            "lawful_basis": "consent",
            "consent_text": "J'accepte de recevoir la lettre d'Effacement Exemple.",
            "consent_text_version": "v1",
            "privacy_policy_url": "https://effacement.example.com/confidentialite",
            "privacy_policy_version": "2026-01",
            "double_opt_in": False,
        }
        contact_id = call(service, "POST", "/v1/consents", sender, consent)["contact_id"]
        list_id = call(service, "POST", "/v1/lists", sender, {"name": "Clients"})["id"]
        call(service, "POST", f"/v1/lists/{list_id}/members", sender, {"add": [SUBJECT]})
        campaign = call(
            service, "POST", "/v1/campaigns", sender, {"name": "Lettre", "list_ids": [list_id]}
        )
        kinds = ("delivered", "open", "click")
        events = [{"email": SUBJECT, "type": kinds[number % 3]} for number in range(EVENTS)]
        recorded = call(
            service, "POST", f"/v1/campaigns/{campaign['id']}/events", sender, {"events": events}
        )
        assert recorded["recorded"] == EVENTS
        digest = scalar(
            database_urls.database, "SELECT email_index FROM contacts WHERE id = :id", id=contact_id
        )

        prepared = Subject(
            service,
            database_urls,
            sender,
            {"Authorization": f"Bearer {dpo_key}"},
            contact_id,
            digest,
        )
        assert prepared.remaining_events() == EVENTS
        yield prepared
    finally:
        service.stop()


def file_erasure(subject: Subject) -> dict[str, Any]:
    body = {"type": "erasure", "email": SUBJECT, "attestation": ATTESTATION}
    response = httpx.post(
        f"{subject.service.base_url}/v1/dsr", json=body, headers=subject.dpo, timeout=60
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_consistent_after_kill(subject: Subject, request_id: str) -> None:
    """Check that the state a kill left adds up: deleted and remaining events make the history."""
    rows = query(
        subject.urls.database,
        "SELECT status, outcome, event_purge FROM data_subject_requests WHERE id = :id",
        id=request_id,
    )
    # The service commits before it sends the 201, so the request row exists.
    assert len(rows) == 1
    status, outcome_text, event_purge = rows[0]
    outcome = json.loads(outcome_text)
    remaining = subject.remaining_events()

    assert outcome["delivery_events_deleted"] + remaining == EVENTS
    assert outcome["delivery_events_pending"] is (remaining > 0)
    assert (event_purge is not None) is (remaining > 0)
    if remaining > 0:
        assert status == "in_progress"
    assert_contact_erased(subject)


def assert_contact_erased(subject: Subject) -> None:
    contact = query(
        subject.urls.database,
        "SELECT status, email_ciphertext, email_index, name_ciphertext FROM contacts "
        "WHERE id = :id",
        id=subject.contact_id,
    )
    assert contact == [("erased", None, None, None)]
    keys = scalar(
        subject.urls.keystore,
        "SELECT count(*) FROM data_keys WHERE contact_id = :id",
        id=subject.contact_id,
    )
    assert keys == 0


def assert_completed_after_restart(subject: Subject, request_id: str) -> None:
    """Restart the killed service, wait for the purge to finish, and check the certificate."""
    restart(subject.service)
    service = subject.service

    def status() -> str:
        request_view = call(service, "GET", f"/v1/dsr/{request_id}", subject.dpo)
        return str(request_view["status"])

    wait_until(
        lambda: status() == "completed", "the erasure to complete", COMPLETION_TIMEOUT_SECONDS
    )
    certificate = call(service, "GET", f"/v1/dsr/{request_id}/certificate", subject.dpo)
    public_key = call(service, "GET", "/v1/dsr/certificate-key", {})["public_key"]

    assert check_certificate(certificate, public_key).valid
    assert certificate["actions"]["delivery_events_deleted"] == EVENTS
    assert certificate["actions"]["delivery_events_pending"] is False
    assert subject.remaining_events() == 0
    assert_contact_erased(subject)
    purged = scalar(
        subject.urls.database,
        "SELECT count(*) FROM audit_events WHERE object_id = :id AND action = 'dsr.events_purged'",
        id=request_id,
    )
    assert purged == 1


def test_kill_right_after_erasure_acknowledged(subject: Subject) -> None:
    created = file_erasure(subject)
    subject.service.kill()

    assert created["status"] == "in_progress"
    assert created["outcome"]["delivery_events_deleted"] == INLINE
    assert_consistent_after_kill(subject, created["id"])
    assert_completed_after_restart(subject, created["id"])


def test_kill_during_event_purge(subject: Subject) -> None:
    created = file_erasure(subject)
    # At least one background batch committed: the purge is under way.
    wait_until(
        lambda: subject.remaining_events() <= EVENTS - INLINE - BATCH,
        "a first purge batch",
        COMPLETION_TIMEOUT_SECONDS,
    )
    subject.service.kill()
    remaining = subject.remaining_events()

    assert 0 < remaining < EVENTS - INLINE, "the kill missed the purge: add events"
    assert_consistent_after_kill(subject, created["id"])
    assert_completed_after_restart(subject, created["id"])
