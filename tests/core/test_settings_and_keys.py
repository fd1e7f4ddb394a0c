"""Settings validation and key loading: placeholders rejected outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from compliance.core.db import make_engine
from compliance.core.keys import KeyConfigError, load_keyring, parse_blind_index_keys
from compliance.core.keystore import KeyStore, KeyStoreError
from compliance.core.settings import Environment, Settings
from compliance.core.tenants import validate_sender_fields

GOOD = "A" * 43


def production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Environment.PRODUCTION,
        "data_dir": tmp_path,
        "public_url": "https://mail.example.org",
        "token_secret": GOOD,
        "blind_index_keys": f"1:{GOOD}",
        "master_key_file": tmp_path / "master.key",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "", "short-secret"])
def test_production_rejects_placeholder_secret(tmp_path: Path, placeholder: str) -> None:
    with pytest.raises(ValidationError) as caught:
        production(tmp_path, token_secret=placeholder)
    assert "SENDGUARD_TOKEN_SECRET" in str(caught.value)


def test_production_requires_https(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        production(tmp_path, public_url="http://mail.example.org")
    assert "https" in str(caught.value)


def test_production_needs_existing_master_key(tmp_path: Path) -> None:
    settings = production(tmp_path)

    with pytest.raises(KeyConfigError) as caught:
        load_keyring(settings)
    assert "does not exist" in str(caught.value)
    assert not (tmp_path / "master.key").exists()


def test_development_generates_keys_once(tmp_path: Path) -> None:
    settings = Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path)

    first = load_keyring(settings)
    second = load_keyring(settings)

    assert first.master_key == second.master_key
    assert first.token_secret == second.token_secret
    assert first.blind_index_keys == second.blind_index_keys
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600


def test_blind_index_key_versions_parse() -> None:
    keys = parse_blind_index_keys(f"1:{GOOD}, 3:{'B' * 43}")

    assert sorted(keys) == [1, 3]
    with pytest.raises(KeyConfigError):
        parse_blind_index_keys(f"x:{GOOD}")
    with pytest.raises(ValueError):
        parse_blind_index_keys("1:changeme")


def test_default_locale_must_be_supported(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, default_locale="de")
    assert "SENDGUARD_DEFAULT_LOCALE" in str(caught.value)


def test_keystore_wrong_master_key_fails_clearly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = KeyStore(engine, b"1" * 32)
    store.create_schema()
    store.create_key("contact-1")

    with pytest.raises(KeyStoreError) as caught:
        KeyStore(engine, b"2" * 32).get_key("contact-1")
    engine.dispose()
    assert "master key" in str(caught.value)


def test_keystore_destroy_is_final(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = KeyStore(engine, b"1" * 32)
    store.create_schema()
    key = store.create_key("contact-1")

    assert store.get_key("contact-1") == key
    assert store.destroy_key("contact-1") is True
    assert store.get_key("contact-1") is None
    assert store.destroy_key("contact-1") is False
    engine.dispose()


def test_destroyed_key_leaves_no_bytes_on_disk(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = KeyStore(engine, b"1" * 32)
    store.create_schema()
    store.create_key("contact-1")
    with engine.connect() as connection:
        wrapped = connection.exec_driver_sql("SELECT wrapped_key FROM data_keys").scalar_one()

    # Another open connection, as in a running server, keeps the log alive.
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM data_keys").scalar_one()
        reader.commit()
        store.destroy_key("contact-1")

        files = sorted(tmp_path.glob("keys.db*"))
        assert files
        for path in files:
            assert wrapped not in path.read_bytes(), path.name
    engine.dispose()


@pytest.mark.parametrize(
    ("name", "address", "fault"),
    [
        ("", "", "empty"),
        ("Evil\r\nBcc: victim@example.org", "", "control character"),
        ("x" * 201, "", "maximum"),
        ("Bon nom", "rue\r\n", "control character"),
    ],
)
def test_sender_fields_rejected(name: str, address: str, fault: str) -> None:
    with pytest.raises(ValueError) as caught:
        validate_sender_fields(name, address)
    assert fault in str(caught.value)
    assert "victim" not in str(caught.value)


def test_sender_fields_accept_multiline_address() -> None:
    validate_sender_fields("Librairie Exemple", "12 rue des Lilas\n69003 Lyon")


@pytest.mark.parametrize("name", ["mailgun_webhook_signing_key", "postmark_webhook_password"])
@pytest.mark.parametrize("placeholder", ["changeme", "password", "short-secret"])
def test_production_rejects_placeholder_webhook_secret(
    tmp_path: Path, name: str, placeholder: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        production(tmp_path, **{name: placeholder})
    assert f"SENDGUARD_{name.upper()}" in str(caught.value)


@pytest.mark.parametrize("name", ["mailgun_webhook_signing_key", "postmark_webhook_password"])
def test_production_allows_webhook_disabled_or_strong(tmp_path: Path, name: str) -> None:
    # Empty disables the endpoint; a long random value is accepted.
    assert production(tmp_path, **{name: ""}).env.value == "production"
    assert production(tmp_path, **{name: GOOD}).env.value == "production"
