"""Test erasure end to end through the app: large histories, repeats, import races, backups.

Assertions check the effects in the databases and the screening API, and
only the status code of ``POST /v1/dsr``: its response body is not fixed.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from compliance.app import create_app
from compliance.core.keystore import KeyStore, decrypt_bytes, decrypt_field
from compliance.core.models import OutboxMessage
from compliance.core.settings import Settings
from consent import ledger
from consent.models import ConsentRecord, Contact, PreferenceEvent, Subscription
from dsr.event_purge import purge_erased_events
from suppression.models import DeliveryEvent, ListMembership, SuppressionEntry
from tests.api.conftest import Tenant, csrf_field, make_tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber, screen
from tests.support.database import postgres_admin_url

SUBJECT = "dana@example.org"
OTHER = "eve@example.org"
SUBJECT_EVENTS = 3_000


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, run_worker=False, configure_logs=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def keystore_of(client: TestClient) -> KeyStore:
    keystore: KeyStore = client.app.state.services.keystore  # type: ignore[attr-defined]
    return keystore


def digest_of(client: TestClient, address: str) -> str:
    digest: str = client.app.state.services.indexer.current(address).digest  # type: ignore[attr-defined]
    return digest


def post_erasure(client: TestClient, tenant: Tenant, address: str = SUBJECT) -> Any:
    return client.post(
        "/v1/dsr",
        json={
            "type": "erasure",
            "email": address,
            "attestation": {
                "verified_by": "DPO office",
                "method": "id_document",
                "verified_at": "2026-01-10T09:00:00Z",
            },
        },
        headers=tenant.auth("dpo"),
    )


def erase(client: TestClient, tenant: Tenant, address: str = SUBJECT) -> int:
    status: int = post_erasure(client, tenant, address).status_code
    return status


def erase_request(client: TestClient, tenant: Tenant, address: str = SUBJECT) -> Any:
    response = post_erasure(client, tenant, address)
    assert response.status_code == 201, response.text
    return response.json()


def settings_of(client: TestClient) -> Settings:
    settings: Settings = client.app.state.services.settings  # type: ignore[attr-defined]
    return settings


def contact_id_of(client: TestClient, address: str) -> str:
    with Session(engine_of(client)) as session:
        contact = session.exec(
            select(Contact).where(Contact.email_index == digest_of(client, address))
        ).one()
        return contact.id


def create_list(client: TestClient, tenant: Tenant, name: str) -> str:
    response = client.post("/v1/lists", json={"name": name}, headers=tenant.auth("sender"))
    assert response.status_code == 201, response.text
    list_id: str = response.json()["id"]
    return list_id


def add_members(client: TestClient, tenant: Tenant, list_id: str, addresses: list[str]) -> Any:
    response = client.post(
        f"/v1/lists/{list_id}/members", json={"add": addresses}, headers=tenant.auth("sender")
    )
    assert response.status_code == 200, response.text
    return response.json()


def record_events(
    client: TestClient, tenant: Tenant, list_id: str, address: str, count: int
) -> None:
    campaign = client.post(
        "/v1/campaigns",
        json={"name": "November", "list_ids": [list_id]},
        headers=tenant.auth("sender"),
    )
    assert campaign.status_code == 201, campaign.text
    kinds = ("delivered", "open", "click")
    events = [{"email": address, "type": kinds[number % 3]} for number in range(count)]
    response = client.post(
        f"/v1/campaigns/{campaign.json()['id']}/events",
        json={"events": events},
        headers=tenant.auth("sender"),
    )
    assert response.status_code == 200, response.text


def change_frequency(client: TestClient, preferences_link: str) -> None:
    page = client.get(preferences_link)
    response = client.post(
        f"{preferences_link}/frequency",
        data={"csrf": csrf_field(page.text), "frequency": "weekly"},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def count_rows(session: Session, model: Any, *conditions: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*conditions)).one())


def subject_with_history(client: TestClient, tenant: Tenant, events: int) -> str:
    """Create the subject with every kind of row erasure removes; return its contact id."""
    links = confirmed_subscriber(client, tenant, SUBJECT)
    change_frequency(client, links["preferences"])
    list_id = create_list(client, tenant, "Customers")
    add_members(client, tenant, list_id, [SUBJECT])
    record_events(client, tenant, list_id, SUBJECT, events)
    return contact_id_of(client, SUBJECT)


def active_erased_entries(client: TestClient, session: Session, address: str) -> int:
    return count_rows(
        session,
        SuppressionEntry,
        SuppressionEntry.blind_index == digest_of(client, address),
        SuppressionEntry.reason == "erased",
        col(SuppressionEntry.lifted_at).is_(None),
    )


def assert_subject_erased(client: TestClient, tenant: Tenant, contact_id: str) -> None:
    """Check every store for leftovers of the subject, then screening."""
    digest = digest_of(client, SUBJECT)
    with Session(engine_of(client)) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        assert contact.status == "erased"
        assert contact.email_ciphertext is None
        assert contact.email_index is None
        assert count_rows(session, DeliveryEvent, DeliveryEvent.contact_id == contact_id) == 0
        assert count_rows(session, DeliveryEvent, DeliveryEvent.blind_index == digest) == 0
        assert count_rows(session, ListMembership, ListMembership.contact_id == contact_id) == 0
        assert count_rows(session, Subscription, Subscription.contact_id == contact_id) == 0
        assert count_rows(session, OutboxMessage, OutboxMessage.contact_id == contact_id) == 0
        assert count_rows(session, PreferenceEvent, PreferenceEvent.contact_id == contact_id) == 0
        assert count_rows(session, Contact, Contact.email_index == digest) == 0
        assert active_erased_entries(client, session, SUBJECT) == 1
        assert ledger.first_broken_link(session, tenant.sender_id) is None
    assert keystore_of(client).get_key(contact_id) is None
    assert screen(client, tenant, [SUBJECT])["kept"] == []


def test_erasure_with_thousands_of_events(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, SUBJECT_EVENTS)
    confirmed_subscriber(client, tenant, OTHER)
    other_list = create_list(client, tenant, "Other")
    add_members(client, tenant, other_list, [OTHER])
    record_events(client, tenant, other_list, OTHER, 10)
    other_id = contact_id_of(client, OTHER)
    with Session(engine_of(client)) as session:
        assert (
            count_rows(session, DeliveryEvent, DeliveryEvent.contact_id == contact_id)
            == SUBJECT_EVENTS
        )
        assert count_rows(session, PreferenceEvent, PreferenceEvent.contact_id == contact_id) >= 1
        assert count_rows(session, OutboxMessage, OutboxMessage.contact_id == contact_id) >= 2

    created = erase_request(client, tenant)
    limit = settings_of(client).dsr_inline_event_limit
    with Session(engine_of(client)) as session:
        left = count_rows(session, DeliveryEvent, DeliveryEvent.contact_id == contact_id)
    purged = purge_erased_events(engine_of(client), client.app.state.services)  # type: ignore[attr-defined]
    done = client.get(f"/v1/dsr/{created['id']}", headers=tenant.auth("dpo")).json()

    # The request deletes the first events; the rest go in background batches.
    assert created["status"] == "in_progress"
    assert created["outcome"]["delivery_events_pending"] is True
    assert left == SUBJECT_EVENTS - limit
    assert purged == left
    assert done["status"] == "completed"
    assert done["outcome"]["delivery_events_pending"] is False
    assert done["outcome"]["delivery_events_deleted"] == SUBJECT_EVENTS
    assert_subject_erased(client, tenant, contact_id)
    verified = client.get("/v1/consent/verify", headers=tenant.auth("dpo"))
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True
    with Session(engine_of(client)) as session:
        assert count_rows(session, DeliveryEvent, DeliveryEvent.contact_id == other_id) == 10
        assert count_rows(session, ListMembership, ListMembership.contact_id == other_id) == 1
    assert keystore_of(client).get_key(other_id) is not None
    assert screen(client, tenant, [OTHER])["kept"] == [OTHER]


def test_second_erasure_changes_nothing(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, 20)
    assert erase(client, tenant) == 201
    with Session(engine_of(client)) as session:
        entries_before = count_rows(session, SuppressionEntry)
        records_before = count_rows(session, ConsentRecord)

    assert erase(client, tenant) == 201

    assert_subject_erased(client, tenant, contact_id)
    with Session(engine_of(client)) as session:
        assert count_rows(session, SuppressionEntry) == entries_before
        assert count_rows(session, ConsentRecord) == records_before
        assert count_rows(session, Contact, Contact.status == "erased") == 1


def pause_first_key_creation(
    keystore: KeyStore, started: threading.Event, resume: threading.Event
) -> Callable[[], None]:
    """Make the first ``create_key`` call wait (up to 5 s) for ``resume``; return the undo.

    The import creates a key for each new address after the subject, which
    already exists: pausing there lets the erasure commit after the import
    has read the subject's contact and before the import commits.
    """
    original = keystore.create_key

    def create_key(contact_id: str) -> bytes:
        if not started.is_set():
            started.set()
            # On SQLite the import holds the write lock, so the erasure cannot
            # finish: the wait times out and the erasure runs after the import.
            resume.wait(timeout=5)
        return original(contact_id)

    keystore.create_key = create_key  # type: ignore[method-assign]

    def undo() -> None:
        keystore.create_key = original  # type: ignore[method-assign]

    return undo


def test_erasure_during_list_import(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, 50)
    list_id = create_list(client, tenant, "Imported")
    addresses = [SUBJECT] + [f"reader{number}@example.net" for number in range(300)]
    started, erased = threading.Event(), threading.Event()
    undo = pause_first_key_creation(keystore_of(client), started, erased)
    outcome: dict[str, int] = {}

    def run_import() -> None:
        response = client.post(
            f"/v1/lists/{list_id}/members", json={"add": addresses}, headers=tenant.auth("sender")
        )
        outcome["import"] = response.status_code

    def run_erasure() -> None:
        assert started.wait(timeout=10), "the import never reached its first new address"
        outcome["erasure"] = erase(client, tenant)
        erased.set()

    threads = [threading.Thread(target=run_import), threading.Thread(target=run_erasure)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    undo()

    assert outcome == {"import": 200, "erasure": 201}
    assert_subject_erased(client, tenant, contact_id)
    with Session(engine_of(client)) as session:
        assert count_rows(session, ListMembership, ListMembership.list_id == list_id) == 300


def test_erasure_during_suppression_import(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, 50)
    lines = ["email,reason", f"{SUBJECT},unsubscribe"]
    lines += [f"reader{number}@example.net,unsubscribe" for number in range(5_000)]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    outcome: dict[str, int] = {}

    def run_import() -> None:
        response = client.post(
            "/v1/suppressions/import?format=generic_csv",
            content=body,
            headers={**tenant.auth("sender"), "Content-Type": "text/csv"},
        )
        outcome["import"] = response.status_code

    def run_erasure() -> None:
        outcome["erasure"] = erase(client, tenant)

    threads = [threading.Thread(target=run_import), threading.Thread(target=run_erasure)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcome == {"import": 200, "erasure": 201}
    assert_subject_erased(client, tenant, contact_id)
    assert screen(client, tenant, ["reader7@example.net"])["kept"] == []


def assert_no_stored_address(client: TestClient, contact_id: str) -> None:
    """Check that no contact except a pending one (awaiting confirmation) contains the address."""
    digest = digest_of(client, SUBJECT)
    with Session(engine_of(client)) as session:
        statuses = session.exec(select(Contact.status).where(Contact.email_index == digest)).all()
        assert [status for status in statuses if status != "pending"] == []
        assert count_rows(session, ListMembership, ListMembership.contact_id == contact_id) == 0
        assert active_erased_entries(client, session, SUBJECT) == 1
    assert keystore_of(client).get_key(contact_id) is None


def test_list_reimport_stays_erased(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, 20)
    assert erase(client, tenant) == 201
    list_id = create_list(client, tenant, "Trade fair")

    add_members(client, tenant, list_id, [SUBJECT, OTHER])

    assert screen(client, tenant, [SUBJECT])["kept"] == []
    assert_no_stored_address(client, contact_id)
    with Session(engine_of(client)) as session:
        assert count_rows(session, ListMembership, ListMembership.list_id == list_id) == 1


def test_contact_reimport_stays_erased(client: TestClient, tenant: Tenant) -> None:
    contact_id = subject_with_history(client, tenant, 20)
    assert erase(client, tenant) == 201

    recorded = client.post(
        "/v1/consents",
        json={
            "email": SUBJECT,
            "topics": ["newsletter"],
            "lawful_basis": "consent",
            "source": "import",
            "consent_text": "Yes, send me the monthly newsletter.",
            "consent_text_version": "2026-11",
            "privacy_policy_url": "https://example.org/privacy",
            "privacy_policy_version": "3",
            "double_opt_in": False,
        },
        headers=tenant.auth("sender"),
    )

    # Rejecting the record or accepting it without storing the address are both correct.
    assert recorded.status_code in (201, 409, 422), recorded.text
    assert screen(client, tenant, [SUBJECT])["kept"] == []
    assert_no_stored_address(client, contact_id)


def copy_sqlite(source_url: str, target: Path) -> str:
    """Back up a live SQLite database with the online backup API (WAL content included)."""
    source = sqlite3.connect(str(make_url(source_url).database))
    copy = sqlite3.connect(str(target))
    source.backup(copy)
    copy.close()
    source.close()
    return f"sqlite:///{target}"


def copy_postgresql(app: FastAPI, source_url: str) -> tuple[str, Callable[[], None]]:
    """Copy a PostgreSQL database as a template; return its URL and how to drop it."""
    admin_url = postgres_admin_url()
    assert admin_url is not None
    source = make_url(source_url).database
    name = f"{source}_backup"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    # CREATE DATABASE ... TEMPLATE needs the source database without connections.
    app.state.engine.dispose()
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": source},
        )
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def test_restored_backup_stays_unreadable(
    client: TestClient, tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    subject_id = subject_with_history(client, tenant, 20)
    confirmed_subscriber(client, tenant, OTHER)
    other_id = contact_id_of(client, OTHER)
    app: FastAPI = client.app  # type: ignore[assignment]
    if engine_of(client).dialect.name == "sqlite":
        backup_url, drop = copy_sqlite(settings.database_url, tmp_path / "backup.db"), None
    else:
        backup_url, drop = copy_postgresql(app, settings.database_url)

    assert erase(client, tenant) == 201

    # Restore the main database from before the erasure, with today's key store.
    if backup_url.startswith("sqlite"):
        restored = tmp_path / "restored.db"
        shutil.copyfile(tmp_path / "backup.db", restored)
        backup_url = f"sqlite:///{restored}"
    restored_engine = create_engine(backup_url)
    keystore = keystore_of(client)
    try:
        with Session(restored_engine) as session:
            rows = {row.id: row for row in session.exec(select(Contact))}
            records = session.exec(select(ConsentRecord)).all()
            outbox = session.exec(select(OutboxMessage)).all()
    finally:
        restored_engine.dispose()
        if drop is not None:
            drop()

    subject, other = rows[subject_id], rows[other_id]
    assert subject.email_ciphertext is not None, "the backup predates the erasure"
    assert keystore.get_key(subject_id) is None
    subject_records = [
        row for row in records if row.contact_id == subject_id and row.personal_ciphertext
    ]
    assert subject_records, "the backup holds the subject's consent records"
    assert [row for row in outbox if row.contact_id == subject_id], "the backup holds its emails"
    other_key = keystore.get_key(other_id)
    assert other_key is not None
    assert other.email_ciphertext is not None
    assert decrypt_field(other_key, other_id, "email", other.email_ciphertext) == OTHER
    for record in [
        row for row in records if row.contact_id == other_id and row.personal_ciphertext
    ]:
        assert record.personal_ciphertext is not None
        assert decrypt_field(other_key, other_id, "consent", record.personal_ciphertext)
    other_messages = [row for row in outbox if row.contact_id == other_id]
    assert other_messages
    for message in other_messages:
        plain = decrypt_bytes(other_key, other_id, f"outbox:{message.id}", message.payload)
        assert OTHER.encode() in plain
