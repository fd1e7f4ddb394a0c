"""Retention rules: prospects, expired sign-ups, delivery and bounce events, closed requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from compliance.app import Runtime, open_runtime
from compliance.core.models import AuditEvent, Sender, utcnow
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender
from consent import ledger
from consent.models import ConsentRecord, Contact, ContactStatus, PreferenceMethod
from consent.preferences import record_preference_event
from consent.service import ClientInfo, ensure_contact, erase_contact
from consent.signup import SignupProof, record_consent, subscribe
from dsr.models import (
    DataSubjectRequest,
    Processor,
    ProcessorTask,
    RequestStatus,
    RequestType,
    request_key_id,
)
from dsr.payload import RequestPayload, store_payload
from dsr.retention import RetentionResult, apply_retention, retention_report
from suppression.campaigns import EngagementEvent, create_campaign, record_engagement
from suppression.models import BounceEvent, DeliveryEvent, EventKind, SuppressionEntry
from tests.support.cli import run_cli

DAY = timedelta(days=1)
# Collection date of the test contacts; every `now` is counted from it.
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
PROSPECT_DAYS = 1095
CLIENT = ClientInfo(ip="192.0.2.10", user_agent="pytest")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    opened = open_runtime(settings)
    yield opened
    opened.dispose()


@pytest.fixture
def sender_id(runtime: Runtime) -> str:
    with Session(runtime.engine, expire_on_commit=False) as session:
        sender = create_sender(session, "Exemple SAS", "12 rue de la Paix, 75002 Paris")
        session.commit()
    return sender.id


def proof(source: str = "form", relationship_at: datetime | None = None) -> SignupProof:
    return SignupProof(
        topics=["newsletter"],
        lawful_basis="consent" if relationship_at is None else "soft_opt_in",
        regime="gdpr",
        source=source,
        form_url="https://example.org/signup",
        wording_text="Yes, send me the monthly newsletter.",
        wording_version="2026-01",
        privacy_policy_url="https://example.org/privacy",
        privacy_policy_version="3",
        language="en",
        country="FR",
        audience="b2c",
        relationship_at=relationship_at,
        opt_out_offered=True if relationship_at else None,
    )


def imported_contact(runtime: Runtime, sender_id: str, address: str, created_at: datetime) -> str:
    """Add an address as a sender import would, collected at ``created_at``."""
    with Session(runtime.engine) as session:
        contact = ensure_contact(session, runtime.services, sender_id, address)
        contact.created_at = created_at
        session.add(contact)
        session.commit()
        return contact.id


def consented_contact(
    runtime: Runtime,
    sender_id: str,
    address: str,
    at: datetime,
    *,
    source: str = "form",
    relationship_at: datetime | None = None,
) -> str:
    """Record a consent (no double opt-in) for a known contact, dated ``at`` in the ledger."""
    with Session(runtime.engine) as session:
        sender = session.get(Sender, sender_id)
        assert sender is not None
        contact, record = record_consent(
            session,
            runtime.services,
            sender,
            address,
            proof(source, relationship_at),
            CLIENT,
            double_opt_in=False,
            actor="test",
        )
        # Rows are dated directly: the ledger hash covers created_at, so
        # this test data does not verify as a chain (tests that check the
        # chain create their records at the real time instead).
        session.connection().execute(
            update(ConsentRecord).where(col(ConsentRecord.id) == record.id).values(created_at=at)
        )
        session.commit()
        return contact.id


def engagement(
    runtime: Runtime,
    sender_id: str,
    contact_id: str | None,
    kind: EventKind,
    at: datetime,
    *,
    by_index_only: bool = False,
) -> None:
    with Session(runtime.engine) as session:
        digest = "0" * 64
        if contact_id is not None:
            contact = session.get(Contact, contact_id)
            assert contact is not None and contact.email_index is not None
            digest = contact.email_index
        campaign = create_campaign(session, sender_id, "Spring", [], actor="test")
        event_contact = None if by_index_only else contact_id
        record_engagement(
            session, sender_id, campaign.id, [EngagementEvent(digest, event_contact, kind, at)]
        )
        session.commit()


def status_of(runtime: Runtime, contact_id: str) -> str:
    with Session(runtime.engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        return contact.status


def apply(runtime: Runtime, now: datetime) -> RetentionResult:
    return apply_retention(runtime.engine, runtime.services, now)


def due_now(runtime: Runtime, now: datetime, sender_id: str | None = None) -> dict[str, int]:
    with Session(runtime.engine) as session:
        report = retention_report(session, runtime.services.settings, now, sender_id)
    return {rule.name: rule.due_now for rule in report.rules}


# Prospects.


def test_prospect_with_only_opens_purged(runtime: Runtime, sender_id: str) -> None:
    contact_id = imported_contact(runtime, sender_id, "opens@example.org", T0)
    for days in (100, 500, 900, 1090):
        engagement(runtime, sender_id, contact_id, EventKind.OPEN, T0 + days * DAY)

    result = apply(runtime, T0 + (PROSPECT_DAYS + 1) * DAY)

    assert result.prospects_purged == 1
    assert status_of(runtime, contact_id) == ContactStatus.ERASED
    assert runtime.services.keystore.get_key(contact_id) is None
    with Session(runtime.engine) as session:
        events = session.exec(
            select(func.count())
            .select_from(DeliveryEvent)
            .where(DeliveryEvent.contact_id == contact_id)
        ).one()
    assert events == 0


@pytest.mark.parametrize("by_index_only", [False, True])
def test_prospect_with_recent_click_kept(
    runtime: Runtime, sender_id: str, by_index_only: bool
) -> None:
    now = T0 + (PROSPECT_DAYS + 1) * DAY
    contact_id = imported_contact(runtime, sender_id, "clicks@example.org", T0)
    engagement(
        runtime,
        sender_id,
        contact_id,
        EventKind.CLICK,
        now - 730 * DAY,
        by_index_only=by_index_only,
    )

    result = apply(runtime, now)

    assert result.prospects_purged == 0
    assert status_of(runtime, contact_id) == ContactStatus.IMPORTED


def test_prospect_boundary_day(runtime: Runtime, sender_id: str) -> None:
    contact_id = imported_contact(runtime, sender_id, "edge@example.org", T0)
    exactly = T0 + PROSPECT_DAYS * DAY

    assert due_now(runtime, exactly)["prospects"] == 0
    assert apply(runtime, exactly).prospects_purged == 0
    assert status_of(runtime, contact_id) == ContactStatus.IMPORTED

    assert due_now(runtime, exactly + timedelta(seconds=1))["prospects"] == 1
    assert apply(runtime, exactly + DAY).prospects_purged == 1
    assert status_of(runtime, contact_id) == ContactStatus.ERASED


@pytest.mark.parametrize(
    ("source", "relationship_days", "kept"),
    [
        # A consent given by the person on a form two years ago is a contact.
        ("form", None, True),
        # A consent the sender imported is not the person's act.
        ("import", None, False),
        # A purchase two years ago: an active customer.
        ("import", 365, True),
    ],
)
def test_consent_records_as_contact(
    runtime: Runtime, sender_id: str, source: str, relationship_days: int | None, kept: bool
) -> None:
    imported = imported_contact(runtime, sender_id, "record@example.org", T0)
    relationship_at = T0 + relationship_days * DAY if relationship_days else None
    contact_id = consented_contact(
        runtime,
        sender_id,
        "record@example.org",
        T0 + 365 * DAY,
        source=source,
        relationship_at=relationship_at,
    )
    assert contact_id == imported

    result = apply(runtime, T0 + (PROSPECT_DAYS + 1) * DAY)

    assert result.prospects_purged == (0 if kept else 1)


def test_unsubscribe_event_is_not_contact(runtime: Runtime, sender_id: str) -> None:
    contact_id = imported_contact(runtime, sender_id, "leaving@example.org", T0)
    kept_id = imported_contact(runtime, sender_id, "staying@example.org", T0)
    now = T0 + (PROSPECT_DAYS + 1) * DAY
    with Session(runtime.engine) as session:
        for target, kind in ((contact_id, "unsubscribe"), (kept_id, "frequency")):
            contact = session.get(Contact, target)
            assert contact is not None
            event = record_preference_event(
                session, runtime.services, contact, kind, PreferenceMethod.PAGE, CLIENT
            )
            event.created_at = now - 10 * DAY
            session.add(event)
        session.commit()

    result = apply(runtime, now)

    assert result.prospects_purged == 1
    assert status_of(runtime, contact_id) == ContactStatus.ERASED
    assert status_of(runtime, kept_id) == ContactStatus.IMPORTED


def test_erased_contacts_skipped(runtime: Runtime, sender_id: str) -> None:
    contact_id = imported_contact(runtime, sender_id, "gone@example.org", T0)
    with Session(runtime.engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        erase_contact(session, runtime.services, contact, actor="test")
        session.commit()

    now = T0 + 2000 * DAY
    assert due_now(runtime, now)["prospects"] == 0
    assert apply(runtime, now).prospects_purged == 0
    with Session(runtime.engine) as session:
        purges = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "retention.purged")
        ).one()
    assert purges == 0


def test_open_request_holds_prospect(runtime: Runtime, sender_id: str) -> None:
    contact_id = imported_contact(runtime, sender_id, "asking@example.org", T0)
    with Session(runtime.engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None and contact.email_index is not None
        session.add(
            DataSubjectRequest(
                sender_id=sender_id,
                type=RequestType.ACCESS,
                status=RequestStatus.IN_PROGRESS,
                subject_index=contact.email_index,
                due_at=T0 + 30 * DAY,
            )
        )
        session.commit()

    now = T0 + 2000 * DAY
    assert due_now(runtime, now)["prospects"] == 0
    assert apply(runtime, now).prospects_purged == 0
    assert status_of(runtime, contact_id) == ContactStatus.IMPORTED


def test_purge_adds_no_suppression_and_signup_works(runtime: Runtime, sender_id: str) -> None:
    address = "again@example.org"
    with Session(runtime.engine) as session:
        sender = session.get(Sender, sender_id)
        assert sender is not None
        contact, _ = record_consent(
            session, runtime.services, sender, address, proof(), CLIENT,
            double_opt_in=False, actor="test",
        )  # fmt: skip
        session.commit()
        old_id = contact.id
    # Records carry the real time (the chain must verify): travel from there.
    now = utcnow() + (PROSPECT_DAYS + 1) * DAY

    assert apply(runtime, now).prospects_purged == 1

    with Session(runtime.engine) as session:
        entries = session.exec(
            select(func.count())
            .select_from(SuppressionEntry)
            .where(SuppressionEntry.sender_id == sender_id)
        ).one()
        assert entries == 0
        chain = ledger.verify_chain(session, sender_id)
        assert chain.intact
        assert chain.records == 1
        purged = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "retention.purged", AuditEvent.object_id == old_id
            )
        ).one()
        assert purged.actor == "retention:prospects"

        sender = session.get(Sender, sender_id)
        assert sender is not None
        subscribe(session, runtime.services, sender, address, proof(), CLIENT)
        session.commit()
        fresh = session.exec(
            select(Contact).where(
                Contact.sender_id == sender_id, Contact.status == ContactStatus.PENDING
            )
        ).one()
        assert fresh.id != old_id
        assert ledger.verify_chain(session, sender_id).intact


# Expired sign-ups.


def test_expired_signup_purged(runtime: Runtime, sender_id: str) -> None:
    with Session(runtime.engine) as session:
        sender = session.get(Sender, sender_id)
        assert sender is not None
        subscribe(session, runtime.services, sender, "pending@example.org", proof(), CLIENT)
        session.commit()
    ttl = timedelta(hours=runtime.services.settings.confirmation_ttl_hours)
    now = utcnow() + ttl + timedelta(hours=1)

    assert due_now(runtime, utcnow())["pending_signups"] == 0
    assert due_now(runtime, now)["pending_signups"] == 1
    result = apply(runtime, now)

    assert result.signups_purged == 1
    with Session(runtime.engine) as session:
        statuses = session.exec(select(Contact.status)).all()
    assert statuses == [ContactStatus.EXPIRED]


# Delivery and bounce events.


def bounce(sender_id: str, at: datetime, number: int) -> BounceEvent:
    return BounceEvent(
        sender_id=sender_id,
        blind_index="1" * 64,
        key_version=1,
        bounce_class="hard",
        reason="userunknown",
        source="mail",
        fingerprint=f"{number:064d}",
        occurred_at=at,
    )


def test_old_events_deleted_new_kept(runtime: Runtime, sender_id: str) -> None:
    now = T0 + 1000 * DAY
    days = runtime.services.settings.retention_delivery_event_days
    old, new = now - (days + 1) * DAY, now - (days - 1) * DAY
    engagement(runtime, sender_id, None, EventKind.DELIVERED, old)
    engagement(runtime, sender_id, None, EventKind.OPEN, old)
    engagement(runtime, sender_id, None, EventKind.CLICK, new)
    with Session(runtime.engine) as session:
        session.add(bounce(sender_id, old, 1))
        session.add(bounce(sender_id, new, 2))
        session.commit()

    result = apply(runtime, now)

    assert result.delivery_events_deleted == 2
    assert result.bounce_events_deleted == 1
    with Session(runtime.engine) as session:
        kinds = session.exec(select(DeliveryEvent.kind)).all()
        bounces = session.exec(select(BounceEvent.occurred_at)).all()
    assert kinds == [EventKind.CLICK]
    assert bounces == [new]


def test_event_purge_spans_batches(runtime: Runtime, sender_id: str) -> None:
    now = T0 + 1000 * DAY
    old = now - 800 * DAY
    with Session(runtime.engine) as session:
        campaign = create_campaign(session, sender_id, "Big", [], actor="test")
        events = [EngagementEvent("2" * 64, None, EventKind.OPEN, old) for _ in range(1203)]
        record_engagement(session, sender_id, campaign.id, events)
        session.commit()

    assert apply(runtime, now).delivery_events_deleted == 1203
    assert apply(runtime, now).delivery_events_deleted == 0


# Data-subject requests.


def closed_request(
    runtime: Runtime, sender_id: str, status: RequestStatus, closed_at: datetime | None
) -> str:
    with Session(runtime.engine) as session:
        request = DataSubjectRequest(
            sender_id=sender_id,
            type=RequestType.ERASURE,
            status=status,
            subject_index="3" * 64,
            received_at=T0,
            due_at=T0 + 30 * DAY,
            completed_at=closed_at,
            updated_at=closed_at or T0,
        )
        store_payload(runtime.services.keystore, request, RequestPayload("dsr@example.org"))
        processor = Processor(
            sender_id=sender_id,
            name="ESP",
            kind="webhook",
            url="https://esp.example/hook",
            secret_ciphertext=b"\x00",
        )
        session.add(request)
        session.add(processor)
        session.flush()
        session.add(
            ProcessorTask(
                sender_id=sender_id,
                request_id=request.id,
                processor_id=processor.id,
                action="erasure",
            )
        )
        session.commit()
        return request.id


def test_closed_requests_deleted_open_kept(runtime: Runtime, sender_id: str) -> None:
    days = runtime.services.settings.retention_dsr_days
    now = T0 + (days + 10) * DAY
    old = closed_request(runtime, sender_id, RequestStatus.COMPLETED, T0)
    recent = closed_request(runtime, sender_id, RequestStatus.REJECTED, now - 10 * DAY)
    still_open = closed_request(runtime, sender_id, RequestStatus.IN_PROGRESS, None)

    result = apply(runtime, now)

    assert result.dsr_records_deleted == 1
    assert result.processor_tasks_deleted == 1
    keystore = runtime.services.keystore
    assert keystore.get_key(request_key_id(old)) is None
    assert keystore.get_key(request_key_id(recent)) is not None
    assert keystore.get_key(request_key_id(still_open)) is not None
    with Session(runtime.engine) as session:
        remaining = set(session.exec(select(DataSubjectRequest.id)).all())
        task_requests = set(session.exec(select(ProcessorTask.request_id)).all())
    assert remaining == {recent, still_open}
    assert task_requests == {recent, still_open}


# The report against the job.


def mixed_data(runtime: Runtime, sender_id: str, now: datetime) -> None:
    settings = runtime.services.settings
    imported_contact(runtime, sender_id, "stale1@example.org", T0)
    imported_contact(runtime, sender_id, "stale2@example.org", T0 + 5 * DAY)
    # Becomes due 10 days after `now`.
    imported_contact(runtime, sender_id, "soon@example.org", now - (PROSPECT_DAYS - 10) * DAY)
    engagement(
        runtime,
        sender_id,
        None,
        EventKind.OPEN,
        now - (settings.retention_delivery_event_days + 3) * DAY,
    )
    engagement(
        runtime,
        sender_id,
        None,
        EventKind.OPEN,
        now - (settings.retention_delivery_event_days - 20) * DAY,
    )
    closed_request(
        runtime, sender_id, RequestStatus.COMPLETED, now - (settings.retention_dsr_days + 1) * DAY
    )


def test_report_matches_apply_and_rerun_is_noop(runtime: Runtime, sender_id: str) -> None:
    now = T0 + (PROSPECT_DAYS + 20) * DAY
    mixed_data(runtime, sender_id, now)

    with Session(runtime.engine) as session:
        report = retention_report(session, runtime.services.settings, now, sender_id)
    rules = {rule.name: rule for rule in report.rules}
    assert rules["prospects"].due_now == 2
    assert rules["prospects"].due_in_window == 1
    assert rules["prospects"].next_removal_at == now
    assert rules["delivery_events"].due_now == 1
    assert rules["delivery_events"].due_in_window == 1
    assert rules["dsr_records"].due_now == 1

    result = apply(runtime, now)

    assert result.prospects_purged == rules["prospects"].due_now
    assert result.delivery_events_deleted == rules["delivery_events"].due_now
    assert result.dsr_records_deleted == rules["dsr_records"].due_now
    assert result.bounce_events_deleted == rules["bounce_events"].due_now == 0
    assert result.signups_purged == rules["pending_signups"].due_now == 0

    with Session(runtime.engine) as session:
        after = retention_report(session, runtime.services.settings, now, sender_id)
    soon = {rule.name: rule for rule in after.rules}["prospects"]
    assert soon.due_now == 0
    assert soon.next_removal_at is not None
    assert soon.next_removal_at.date() == (now + 10 * DAY).date()
    assert apply(runtime, now) == RetentionResult()


def test_report_next_date_beyond_window(runtime: Runtime, sender_id: str) -> None:
    imported_contact(runtime, sender_id, "young@example.org", T0)

    with Session(runtime.engine) as session:
        report = retention_report(session, runtime.services.settings, T0 + DAY, sender_id)
    prospects = {rule.name: rule for rule in report.rules}["prospects"]

    assert prospects.due_now == 0
    assert prospects.due_in_window == 0
    assert prospects.next_removal_at == T0 + PROSPECT_DAYS * DAY


def test_concurrent_runs_purge_once(runtime: Runtime, sender_id: str) -> None:
    for number in range(12):
        imported_contact(runtime, sender_id, f"stale{number}@example.org", T0)
    now = T0 + 2000 * DAY
    results: list[RetentionResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(apply(runtime, now))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(result.prospects_purged for result in results) == 12
    with Session(runtime.engine) as session:
        purges = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "retention.purged")
        ).one()
        erased = session.exec(
            select(func.count()).select_from(Contact).where(Contact.status == ContactStatus.ERASED)
        ).one()
    assert purges == 12
    assert erased == 12


# The command line.


def test_cli_report_table_and_json(settings: Settings, runtime: Runtime, sender_id: str) -> None:
    engagement(runtime, sender_id, None, EventKind.OPEN, utcnow() - 800 * DAY)

    table = run_cli(settings, "retention", "report")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("Retention report for all senders")
    assert lines[2].split()[:2] == ["rule", "data"]
    events_line = next(line for line in lines if line.startswith("delivery_events"))
    assert "730 days" in events_line
    assert "next run" in events_line

    as_json = run_cli(settings, "retention", "report", "--json", "--sender", sender_id)
    assert as_json.returncode == 0, as_json.stderr
    content = json.loads(as_json.stdout)
    rules = {rule["name"]: rule for rule in content["rules"]}
    assert content["sender_id"] == sender_id
    assert set(rules) == {
        "prospects",
        "pending_signups",
        "delivery_events",
        "bounce_events",
        "dsr_records",
        "outbox_messages",
    }
    assert rules["delivery_events"]["due_now"] == 1
    assert rules["delivery_events"]["setting"] == "SENDGUARD_RETENTION_DELIVERY_EVENT_DAYS"
    assert rules["pending_signups"]["period_days"] == 7
    assert rules["prospects"]["next_removal_at"] is None


def test_cli_apply_and_dry_run(settings: Settings, runtime: Runtime, sender_id: str) -> None:
    engagement(runtime, sender_id, None, EventKind.OPEN, utcnow() - 800 * DAY)

    dry = run_cli(settings, "retention", "apply", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "delivery_events: 1" in dry.stdout

    applied = run_cli(settings, "retention", "apply")
    assert applied.returncode == 0, applied.stderr
    assert "delivery events deleted: 1" in applied.stdout
    assert "prospects purged: 0" in applied.stdout


def test_cli_unknown_sender(settings: Settings) -> None:
    result = run_cli(settings, "retention", "report", "--sender", "no-such-sender")

    assert result.returncode == 2
    assert "sender no-such-sender not found" in result.stderr
