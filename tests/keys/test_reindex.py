"""Blind-index re-index: known addresses move, hashed-only rows stay, nothing is lifted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, col, select

from compliance.app import create_app
from compliance.core.blind_index import BlindIndex
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from compliance.reindex import ReindexSummary, count_rows_by_version, reindex_blind_indexes
from consent.models import Contact
from consent.reindex import read_contact_batch, reindex_contacts
from consent.service import ensure_contact
from dsr.models import DataSubjectRequest
from suppression.changes import read_counter
from suppression.digest_index import NO_ENTRY, DigestIndexCache
from suppression.models import BounceEvent, SuppressionEntry, SuppressionReason, SuppressionScope
from suppression.service import suppress
from tests.api.conftest import Tenant, make_tenant
from tests.conftest import random_key

KNOWN = [f"person{number}@example.org" for number in range(5)]
# Suppressed by hash only: no contact has this address.
HASHED_ONLY = "gone@example.net"
BATCH = 2


@dataclass(frozen=True)
class Keys:
    old: str
    new: str

    def before(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"blind_index_keys": SecretStr(f"1:{self.old}")})

    def rotated(self, settings: Settings) -> Settings:
        both = SecretStr(f"1:{self.old},2:{self.new}")
        return settings.model_copy(update={"blind_index_keys": both})

    def retired(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"blind_index_keys": SecretStr(f"2:{self.new}")})


@contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as client:
        yield client


def state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def run(client: TestClient, **options: Any) -> ReindexSummary:
    services = state(client).services
    return reindex_blind_indexes(
        state(client).engine, services.keystore, services.indexer, batch_size=BATCH, **options
    )


def populate(settings: Settings, keys: Keys) -> Tenant:
    """Create contacts and entries under version 1, the only version before the rotation."""
    with running(keys.before(settings)) as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        services = state(client).services
        with Session(state(client).engine) as session:
            for address in KNOWN:
                ensure_contact(session, services, tenant.sender_id, address)
            for address in KNOWN[:3]:
                suppress(
                    session,
                    tenant.sender_id,
                    services.indexer.current(address),
                    reason=SuppressionReason.UNSUBSCRIBE,
                    source="test",
                    actor="test",
                )
            suppress(
                session,
                tenant.sender_id,
                services.indexer.current(KNOWN[3]),
                reason=SuppressionReason.COMPLAINT,
                source="fbl",
                actor="test",
                scope=SuppressionScope.LIST,
                scope_ref="list-1",
                event_ref="campaign:c1",
            )
            suppress(
                session,
                tenant.sender_id,
                services.indexer.current(HASHED_ONLY),
                reason=SuppressionReason.HARD_BOUNCE,
                source="import",
                actor="test",
            )
            # A lifted entry stays lifted.
            lifted = suppress(
                session,
                tenant.sender_id,
                services.indexer.current(KNOWN[4]),
                reason=SuppressionReason.OBJECTION,
                source="test",
                actor="test",
            )
            lifted.lifted_at = utcnow()
            lifted.lifted_by = "test"
            session.add(lifted)
            index = services.indexer.current(KNOWN[0])
            session.add(bounce(tenant.sender_id, index, "f1"))
            session.add(request(tenant.sender_id, index))
            session.commit()
    return tenant


def bounce(sender_id: str, index: BlindIndex, fingerprint: str) -> BounceEvent:
    return BounceEvent(
        sender_id=sender_id,
        blind_index=index.digest,
        key_version=index.version,
        bounce_class="hard",
        reason="userunknown",
        source="mail",
        fingerprint=fingerprint,
    )


def request(sender_id: str, index: BlindIndex) -> DataSubjectRequest:
    return DataSubjectRequest(
        sender_id=sender_id,
        type="access",
        subject_index=index.digest,
        subject_index_version=index.version,
        due_at=utcnow() + timedelta(days=30),
    )


def entries(client: TestClient) -> dict[str, SuppressionEntry]:
    with Session(state(client).engine) as session:
        return {entry.id: entry for entry in session.exec(select(SuppressionEntry))}


def screen(client: TestClient, tenant: Tenant, recipients: list[str]) -> dict[str, Any]:
    # list-1 applies, so that the list-scoped entry counts too.
    body = {"recipients": recipients, "list_ids": ["list-1"]}
    response = client.post("/v1/screen", json=body, headers=tenant.auth("sender"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def removed(recipients: list[str], result: dict[str, Any]) -> set[str]:
    # Removals name positions, never addresses: the removed ones are the rest.
    return set(recipients) - set(result["kept"])


def keys() -> Keys:
    return Keys(random_key(), random_key())


def test_reindex_moves_known_contacts_and_entries(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        before = entries(client)
        summary = run(client)
        after = entries(client)
        indexer = state(client).services.indexer
        with Session(state(client).engine) as session:
            contacts = list(session.exec(select(Contact)))
            bounces = list(session.exec(select(BounceEvent)))
            requests = list(session.exec(select(DataSubjectRequest)))

    assert summary.finished
    assert summary.contacts_read == len(KNOWN)
    assert summary.moved["contacts"] == {1: len(KNOWN)}
    assert summary.moved["suppression_entries"] == {1: 5}
    assert summary.moved["bounce_events"] == {1: 1}
    assert summary.moved["data_subject_requests"] == {1: 1}
    current = {indexer.current(address).digest for address in KNOWN}
    assert {contact.email_index for contact in contacts} == current
    assert {contact.email_index_version for contact in contacts} == {2}
    assert bounces[0].key_version == 2
    assert bounces[0].blind_index in current
    assert requests[0].subject_index_version == 2
    assert requests[0].subject_index in current

    hashed_only = indexer.all_versions(HASHED_ONLY)[-1].digest
    for entry_id, old in before.items():
        new = after[entry_id]
        if old.blind_index == hashed_only:
            assert (new.key_version, new.blind_index) == (1, hashed_only)
            continue
        assert new.key_version == 2
        assert new.blind_index in current
        # Everything but the index is kept: a re-index never lifts or weakens.
        kept = ("reason", "scope", "scope_ref", "source", "event_ref", "created_at")
        for name in (*kept, "lifted_at", "lifted_by"):
            assert getattr(new, name) == getattr(old, name), name
    assert all(entry.sender_id == tenant.sender_id for entry in after.values())


def test_screening_suppresses_every_entry_after_reindex(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        run(client)
        result = screen(client, tenant, [*KNOWN, HASHED_ONLY])

    # KNOWN[4]'s only entry is lifted; every other address stays suppressed.
    assert removed([*KNOWN, HASHED_ONLY], result) == {*KNOWN[:4], HASHED_ONLY}
    assert result["kept_count"] == 1


def test_retired_version_keeps_reindexed_entries_working(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)
    with running(pair.rotated(settings)) as client:
        run(client)

    with running(pair.retired(settings)) as client:
        result = screen(client, tenant, [*KNOWN, HASHED_ONLY])

    assert removed([*KNOWN, HASHED_ONLY], result) == set(KNOWN[:4])
    # The documented limit: an entry known only by its version-1 hash stops
    # matching once version 1 is removed, which is why `keys status` counts them.
    assert HASHED_ONLY in result["kept"]


def test_without_reindex_retiring_loses_entries(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.retired(settings)) as client:
        result = screen(client, tenant, KNOWN[:3])

    assert removed(KNOWN[:3], result) == set()


def test_second_run_changes_nothing(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        run(client)
        with Session(state(client).engine) as session:
            counter = read_counter(session, tenant.sender_id)
        first = {entry_id: entry.model_dump() for entry_id, entry in entries(client).items()}

        again = run(client)

        with Session(state(client).engine) as session:
            assert read_counter(session, tenant.sender_id) == counter
        second = {entry_id: entry.model_dump() for entry_id, entry in entries(client).items()}
    assert again.finished
    assert sum(sum(counts.values()) for counts in again.moved.values()) == 0
    assert second == first


def test_interrupted_run_resumes(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        first = run(client, max_batches=1)
        partway = count_rows_by_version(state(client).engine)["contacts"]
        rest = run(client, after=first.last_contact_id)
        done = count_rows_by_version(state(client).engine)["contacts"]

    assert not first.finished
    assert first.batches == 1
    assert partway == {1: len(KNOWN) - BATCH, 2: BATCH}
    assert rest.finished
    assert rest.moved["contacts"] == {1: len(KNOWN) - BATCH}
    assert done == {2: len(KNOWN)}


def test_interrupted_run_resumes_from_start(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        run(client, max_batches=1)
        rest = run(client)
        counts = count_rows_by_version(state(client).engine)

    assert rest.moved["contacts"] == {1: len(KNOWN) - BATCH}
    assert counts["contacts"] == {2: len(KNOWN)}
    # Only the hash-only entry remains under version 1.
    assert counts["suppression_entries"] == {1: 1, 2: 5}


def test_warm_screening_index_finds_reindexed_entry(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        engine = state(client).engine
        indexer = state(client).services.indexer
        new_digest = bytes.fromhex(indexer.current(KNOWN[0]).digest)
        cache = DigestIndexCache()
        with Session(engine) as session:
            warm = cache.get(session, tenant.sender_id, build=True)
        assert warm is not None
        assert warm.lookup([new_digest])[0] == NO_ENTRY

        run(client)

        with Session(engine) as session:
            refreshed = cache.get(session, tenant.sender_id, build=False)
    assert refreshed is not None
    assert refreshed.version > warm.version
    assert refreshed.lookup([new_digest])[0] != NO_ENTRY


def test_entry_already_under_new_version_keeps_both(settings: Settings) -> None:
    pair = keys()
    tenant = populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        services = state(client).services
        with Session(state(client).engine) as session:
            # The same person complains after the rotation: a version-2 entry.
            suppress(
                session,
                tenant.sender_id,
                services.indexer.current(KNOWN[0]),
                reason=SuppressionReason.COMPLAINT,
                source="fbl",
                actor="test",
            )
            session.commit()

        run(client)

        digest = services.indexer.current(KNOWN[0]).digest
        with Session(state(client).engine) as session:
            active = list(
                session.exec(
                    select(SuppressionEntry).where(
                        SuppressionEntry.blind_index == digest,
                        col(SuppressionEntry.lifted_at).is_(None),
                    )
                )
            )
        result = screen(client, tenant, [KNOWN[0]])

    assert sorted(entry.reason for entry in active) == ["complaint", "unsubscribe"]
    assert {entry.key_version for entry in active} == {2}
    assert result["removed"][0]["reason"] == "complaint"


def test_single_live_version_does_nothing(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)

    with running(pair.before(settings)) as client:
        summary = run(client)
        counts = count_rows_by_version(state(client).engine)

    assert summary.finished
    assert summary.batches == 0
    assert counts["contacts"] == {1: len(KNOWN)}


def test_contact_changed_after_read_is_left_alone(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)

    with running(pair.rotated(settings)) as client:
        engine = state(client).engine
        services = state(client).services
        with Session(engine) as session:
            batch = read_contact_batch(
                session, services.keystore, services.indexer, after=None, limit=1
            )
        # An address change is confirmed after the batch was read.
        changed = services.indexer.current("new-address@example.org")
        with Session(engine) as session:
            contact = session.get(Contact, batch.contact_ids[0])
            assert contact is not None
            contact.email_index = changed.digest
            contact.email_index_version = changed.version
            session.add(contact)
            session.commit()

        with Session(engine) as session:
            rewrite = reindex_contacts(session, batch.addresses)
            session.commit()
        with Session(engine) as session:
            after = session.get(Contact, batch.contact_ids[0])

    assert rewrite.moved == {}
    assert after is not None
    assert after.email_index == changed.digest
