"""Master-key rotation: previous keys unwrap, `keys rewrap` moves every data key."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import select as select_model

from compliance.app import Runtime, open_runtime
from compliance.cli.common import migrate_database
from compliance.core.keys import KeyConfigError, load_keyring, master_key_id
from compliance.core.keystore import KeyStore, KeyStoreError, data_keys, decrypt_field
from compliance.core.keystore_rotation import count_wrapped_keys, rewrap_data_keys
from compliance.core.settings import Settings
from compliance.core.signing import StatementSigner
from consent.models import Contact
from consent.service import ensure_contact
from dsr.certificate import CERTIFICATE_FORMAT
from tests.api.conftest import make_tenant
from tests.conftest import random_key
from tests.keys.test_reindex import running
from tests.support.cli import BIN, environment

ADDRESSES = [f"member{number}@example.org" for number in range(5)]
BATCH = 2


@dataclass(frozen=True)
class MasterKeys:
    """Key A, the master key of the ``settings`` fixture, and a new key B."""

    old: Path
    new: Path

    def rotated(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"master_key_file": self.new, "master_key_previous_files": str(self.old)}
        )

    def retired(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"master_key_file": self.new, "master_key_previous_files": ""}
        )


def new_master_keys(settings: Settings) -> MasterKeys:
    assert settings.master_key_file is not None
    new = settings.data_dir / "master-b.key"
    new.write_text(random_key())
    return MasterKeys(settings.master_key_file, new)


@contextmanager
def runtime(settings: Settings) -> Iterator[Runtime]:
    opened = open_runtime(settings)
    try:
        yield opened
    finally:
        opened.dispose()


def populate(settings: Settings) -> dict[str, str]:
    """Create one contact per address under the current master key; return id -> address."""
    with running(settings) as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        state = client.app.state  # type: ignore[attr-defined]
        with Session(state.engine) as session:
            contacts = {
                ensure_contact(session, state.services, tenant.sender_id, address).id: address
                for address in ADDRESSES
            }
            session.commit()
    return contacts


def read_addresses(settings: Settings) -> dict[str, str]:
    """Decrypt every contact's address with the key store of ``settings``."""
    found: dict[str, str] = {}
    with runtime(settings) as opened, Session(opened.engine) as session:
        for contact in session.exec(select_model(Contact)).all():
            key = opened.services.keystore.get_key(contact.id)
            assert key is not None and contact.email_ciphertext is not None
            found[contact.id] = decrypt_field(key, contact.id, "email", contact.email_ciphertext)
    return found


def wrapped_rows(keystore: KeyStore) -> dict[str, bytes]:
    with keystore.engine.connect() as connection:
        rows = connection.execute(select(data_keys.c.contact_id, data_keys.c.wrapped_key))
        return {row.contact_id: bytes(row.wrapped_key) for row in rows}


def test_rotation_rewrap_and_retirement(settings: Settings) -> None:
    contacts = populate(settings)
    keys = new_master_keys(settings)
    rotated = keys.rotated(settings)

    assert read_addresses(rotated) == contacts
    with runtime(rotated) as opened:
        store = opened.services.keystore
        before = count_wrapped_keys(store)
        summary = rewrap_data_keys(store, batch_size=BATCH)
        after = count_wrapped_keys(store)
        rows_after_first = wrapped_rows(store)
        second = rewrap_data_keys(store, batch_size=BATCH)
        rows_after_second = wrapped_rows(store)

    assert before.current == 0
    assert before.previous == (len(contacts),)
    assert before.unreadable == 0
    assert summary.rewrapped == len(contacts)
    assert summary.rewrapped_by_previous == {0: len(contacts)}
    assert summary.batches == 3
    assert summary.skipped_changed == 0
    assert after.current == len(contacts)
    assert after.previous == (0,)
    assert second.rewrapped == 0
    assert second.rows_read == len(contacts)
    assert rows_after_second == rows_after_first
    assert read_addresses(keys.retired(settings)) == contacts


def test_rewrap_leaves_row_erased_meanwhile(settings: Settings) -> None:
    contacts = populate(settings)
    rotated = new_master_keys(settings).rotated(settings)
    erased: list[str] = []

    with runtime(rotated) as opened:
        store = opened.services.keystore

        def erase_first(contact_ids: Sequence[str]) -> None:
            # An erasure commits between the read of the batch and its write.
            if not erased:
                erased.append(contact_ids[0])
                assert store.destroy_key(contact_ids[0])

        summary = rewrap_data_keys(store, batch_size=BATCH, before_write=erase_first)
        rows = wrapped_rows(store)
        erased_key = store.get_key(erased[0])
        after = count_wrapped_keys(store)

    assert summary.skipped_changed == 1
    assert summary.rewrapped == len(contacts) - 1
    assert erased[0] not in rows
    assert erased_key is None
    assert after.current == len(contacts) - 1
    assert after.previous == (0,)


def test_rewrap_keeps_row_replaced_meanwhile(settings: Settings) -> None:
    populate(settings)
    rotated = new_master_keys(settings).rotated(settings)
    replaced: dict[str, bytes] = {}

    with runtime(rotated) as opened:
        store = opened.services.keystore

        def replace_first(contact_ids: Sequence[str]) -> None:
            # The key is destroyed and a new one created under the same id.
            if not replaced:
                store.destroy_key(contact_ids[0])
                replaced[contact_ids[0]] = store.create_key(contact_ids[0])

        summary = rewrap_data_keys(store, batch_size=BATCH, before_write=replace_first)
        [(contact_id, new_key)] = replaced.items()
        key_after = store.get_key(contact_id)

    assert summary.skipped_changed == 1
    assert key_after == new_key


def test_row_under_removed_key_fails_clearly(settings: Settings) -> None:
    contacts = populate(settings)
    retired = new_master_keys(settings).retired(settings)
    contact_id = next(iter(contacts))

    with runtime(retired) as opened:
        store = opened.services.keystore
        counts = count_wrapped_keys(store)
        summary = rewrap_data_keys(store, batch_size=BATCH)
        with pytest.raises(KeyStoreError) as caught:
            store.get_key(contact_id)

    assert counts.current == 0
    assert counts.unreadable == len(contacts)
    assert summary.unreadable == len(contacts)
    assert summary.rewrapped == 0
    assert "does not unwrap" in str(caught.value)
    assert "SENDGUARD_MASTER_KEY_PREVIOUS_FILES" in str(caught.value)


def test_wrong_previous_key_does_not_unwrap(settings: Settings) -> None:
    contacts = populate(settings)
    keys = new_master_keys(settings)
    unrelated = settings.data_dir / "unrelated.key"
    unrelated.write_text(random_key())
    wrong = keys.retired(settings).model_copy(update={"master_key_previous_files": str(unrelated)})

    with runtime(wrong) as opened:
        counts = count_wrapped_keys(opened.services.keystore)
        with pytest.raises(KeyStoreError):
            opened.services.keystore.get_key(next(iter(contacts)))

    assert counts.previous == (0,)
    assert counts.unreadable == len(contacts)


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("not base64 !!", "is not base64 text"),
        ("c2hvcnQ=", "contains 5 bytes"),
        (None, "does not exist"),
    ],
)
def test_invalid_previous_key_file_is_named(
    settings: Settings, content: str | None, fault: str
) -> None:
    path = settings.data_dir / "previous.key"
    if content is not None:
        path.write_text(content)
    broken = settings.model_copy(update={"master_key_previous_files": f"{path}"})

    with pytest.raises(KeyConfigError) as caught:
        load_keyring(broken)

    message = str(caught.value)
    assert "SENDGUARD_MASTER_KEY_PREVIOUS_FILES" in message
    assert str(path) in message
    assert fault in message
    if content is not None:
        assert content not in message


def test_previous_key_equal_to_current_is_rejected(settings: Settings) -> None:
    assert settings.master_key_file is not None
    same = settings.model_copy(
        update={"master_key_previous_files": f" {settings.master_key_file} ,"}
    )

    with pytest.raises(KeyConfigError) as caught:
        load_keyring(same)

    assert "contains the current master key" in str(caught.value)
    assert settings.master_key_file.read_text().strip() not in str(caught.value)


def test_keyring_lists_previous_keys_in_order(settings: Settings) -> None:
    keys = new_master_keys(settings)
    other = settings.data_dir / "master-c.key"
    other.write_text(random_key())
    both = settings.model_copy(
        update={"master_key_file": other, "master_key_previous_files": f"{keys.new},{keys.old}"}
    )

    keyring = load_keyring(both)

    assert len(keyring.previous_master_keys) == 2
    assert keyring.previous_master_keys[0] == load_keyring(keys.retired(settings)).master_key
    assert keyring.previous_master_keys[1] == load_keyring(settings).master_key


def run_sendguard(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(settings)
    env["SENDGUARD_MASTER_KEY_PREVIOUS_FILES"] = settings.master_key_previous_files
    return subprocess.run(
        [str(BIN / "sendguard"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_status_and_rewrap(settings: Settings) -> None:
    contacts = populate(settings)
    keys = new_master_keys(settings)
    rotated = keys.rotated(settings)
    old_id = master_key_id(load_keyring(settings).master_key)
    new_id = master_key_id(load_keyring(rotated).master_key)

    before = run_sendguard(rotated, "keys", "status")
    first = run_sendguard(rotated, "keys", "rewrap", "--batch-size", "2")
    again = run_sendguard(rotated, "keys", "rewrap")
    after = run_sendguard(rotated, "keys", "status")
    retired = run_sendguard(keys.retired(settings), "keys", "status")

    assert before.returncode == 0, before.stderr
    assert f"master key id: {new_id}" in before.stdout
    assert f"data keys under the current master key {new_id}: 0" in before.stdout
    assert f"data keys under the previous master key {old_id}: {len(contacts)}" in before.stdout
    assert "data keys that no live master key unwraps: 0" in before.stdout
    assert first.returncode == 0, first.stderr
    assert "batch 1: 2 data keys read, 2 re-wrapped so far" in first.stdout
    assert f"data keys re-wrapped: {len(contacts)}" in first.stdout
    assert f"from the previous master key {old_id}: {len(contacts)}" in first.stdout
    assert again.returncode == 0, again.stderr
    assert "data keys re-wrapped: 0" in again.stdout
    assert after.returncode == 0, after.stderr
    assert f"data keys under the current master key {new_id}: {len(contacts)}" in after.stdout
    assert f"data keys under the previous master key {old_id}: 0" in after.stdout
    assert retired.returncode == 0, retired.stderr
    assert "data keys that no live master key unwraps: 0" in retired.stdout
    output = before.stdout + first.stdout + after.stdout + retired.stdout
    for secret_file in (keys.old, keys.new):
        assert secret_file.read_text().strip() not in output
    for address in ADDRESSES:
        assert address not in output


def test_cli_rewrap_rejects_zero_batch_size(settings: Settings) -> None:
    result = run_sendguard(settings, "keys", "rewrap", "--batch-size", "0")

    assert result.returncode == 2
    assert "--batch-size" in result.stderr


def test_cli_verifies_certificate_signed_before_rotation(settings: Settings) -> None:
    migrate_database(settings)
    signer = StatementSigner(load_keyring(settings).master_key)
    content: dict[str, object] = {
        "format": CERTIFICATE_FORMAT,
        "request": {"id": "request-1"},
        "public_key": signer.public_key.text,
        "key_id": signer.public_key.key_id,
    }
    certificate = settings.data_dir / "certificate.json"
    certificate.write_text(json.dumps({**content, "signature": signer.sign(content)}))
    keys = new_master_keys(settings)

    rotated = run_sendguard(keys.rotated(settings), "dsr", "verify-certificate", str(certificate))
    retired = run_sendguard(keys.retired(settings), "dsr", "verify-certificate", str(certificate))

    assert rotated.returncode == 0, rotated.stderr
    assert "certificate of request request-1: ok" in rotated.stdout
    assert retired.returncode != 0
    assert "untrusted_key" in retired.stdout
