"""Token key rotation: previous secrets verify by key id until removed, and nothing else does."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from jose import jwt
from pydantic import ValidationError

from compliance.core.keys import load_keyring
from compliance.core.settings import Environment, Settings
from compliance.core.tokens import TokenError, TokenPurpose, TokenSigner, key_id_of

OLD = b"o" * 48
NEW = b"n" * 48
OLDER = b"p" * 48
SUBJECT = "3f1c1a7e-0000-4000-8000-000000000001"
SENDER = "3f1c1a7e-0000-4000-8000-000000000002"
GOOD = "A" * 43


def segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def old_token(purpose: TokenPurpose = TokenPurpose.CONFIRM) -> str:
    return TokenSigner(OLD).issue(purpose, SUBJECT, SENDER, timedelta(hours=1))


def test_previous_secret_verifies_while_listed() -> None:
    rotated = TokenSigner(NEW, [OLD])

    claims = rotated.verify(old_token(), TokenPurpose.CONFIRM)

    assert claims.subject_id == SUBJECT
    assert claims.sender_id == SENDER


def test_previous_secret_fails_once_removed() -> None:
    token = old_token()

    with pytest.raises(TokenError) as caught:
        TokenSigner(NEW).verify(token, TokenPurpose.CONFIRM)
    assert caught.value.reason == "invalid"


def test_rotated_signer_signs_with_current_secret() -> None:
    rotated = TokenSigner(NEW, [OLD, OLDER])
    token = rotated.issue(TokenPurpose.PREFERENCES, SUBJECT, SENDER, timedelta(days=1))

    assert jwt.get_unverified_header(token)["kid"] == key_id_of(NEW)
    assert rotated.live_key_ids == {key_id_of(NEW), key_id_of(OLD), key_id_of(OLDER)}
    # The new secret alone verifies it: nothing signed after rotation needs an old key.
    assert TokenSigner(NEW).verify(token, TokenPurpose.PREFERENCES).subject_id == SUBJECT


def test_unknown_kid_rejected_after_rotation() -> None:
    rotated = TokenSigner(NEW, [OLD])
    claims = jwt.get_unverified_claims(old_token())
    stranger = jwt.encode(claims, OLDER.decode(), algorithm="HS256", headers={"kid": "0" * 16})

    with pytest.raises(TokenError):
        rotated.verify(stranger, TokenPurpose.CONFIRM)


@pytest.mark.parametrize("kid", [None, 12, "", key_id_of(OLD) + "x", "é" * 16])
def test_malformed_kid_rejected(kid: object) -> None:
    claims = jwt.get_unverified_claims(old_token())
    headers = {} if kid is None else {"kid": kid}
    token = jwt.encode(claims, OLD.decode(), algorithm="HS256", headers=headers)

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(token, TokenPurpose.CONFIRM)


def test_mismatched_kid_rejected() -> None:
    claims = jwt.get_unverified_claims(old_token())
    # Signed with the old secret, but naming the current key.
    forged = jwt.encode(claims, OLD.decode(), algorithm="HS256", headers={"kid": key_id_of(NEW)})

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(forged, TokenPurpose.CONFIRM)


def test_alg_none_rejected_after_rotation() -> None:
    payload = old_token().split(".")[1]
    unsigned = f"{segment({'alg': 'none', 'kid': key_id_of(OLD)})}.{payload}."

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(unsigned, TokenPurpose.CONFIRM)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_switched_algorithm_rejected_after_rotation(algorithm: str) -> None:
    claims = jwt.get_unverified_claims(old_token())
    forged = jwt.encode(claims, OLD.decode(), algorithm=algorithm, headers={"kid": key_id_of(OLD)})

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(forged, TokenPurpose.CONFIRM)


def test_wrong_audience_rejected_after_rotation() -> None:
    token = old_token(TokenPurpose.PREFERENCES)

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(token, TokenPurpose.UNSUBSCRIBE)


def test_wrong_issuer_rejected_after_rotation() -> None:
    claims = jwt.get_unverified_claims(old_token())
    claims["iss"] = "someone-else"
    forged = jwt.encode(claims, OLD.decode(), algorithm="HS256", headers={"kid": key_id_of(OLD)})

    with pytest.raises(TokenError):
        TokenSigner(NEW, [OLD]).verify(forged, TokenPurpose.CONFIRM)


def test_expired_previous_token_reports_expired() -> None:
    token = TokenSigner(OLD).issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(seconds=-1))

    with pytest.raises(TokenError) as caught:
        TokenSigner(NEW, [OLD]).verify(token, TokenPurpose.CONFIRM)
    assert caught.value.reason == "expired"


def test_keyring_reads_previous_secrets_setting(tmp_path: Path) -> None:
    settings = Settings(
        env=Environment.TEST,
        data_dir=tmp_path,
        token_secret=NEW.decode(),  # type: ignore[arg-type]
        token_previous_secrets=f"{OLD.decode()}, {OLDER.decode()},",  # type: ignore[arg-type]
        blind_index_keys=f"1:{GOOD}",  # type: ignore[arg-type]
    )

    keyring = load_keyring(settings)

    assert keyring.token_secret == NEW
    assert keyring.previous_token_secrets == (OLD, OLDER)


def test_development_key_file_lines_after_first_are_previous(tmp_path: Path) -> None:
    (tmp_path / "token.key").write_text(f"{NEW.decode()}\n{OLD.decode()}\n\n")

    keyring = load_keyring(Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path))

    assert keyring.token_secret == NEW
    assert keyring.previous_token_secrets == (OLD,)


@pytest.mark.parametrize("placeholder", ["changeme", "short-secret"])
def test_production_rejects_placeholder_previous_secret(tmp_path: Path, placeholder: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(
            env=Environment.PRODUCTION,
            data_dir=tmp_path,
            public_url="https://mail.example.org",
            token_secret=GOOD,  # type: ignore[arg-type]
            token_previous_secrets=f"{'B' * 43},{placeholder}",  # type: ignore[arg-type]
            blind_index_keys=f"1:{GOOD}",  # type: ignore[arg-type]
            master_key_file=tmp_path / "master.key",
        )
    assert "SENDGUARD_TOKEN_PREVIOUS_SECRETS" in str(caught.value)


def test_production_accepts_strong_previous_secrets(tmp_path: Path) -> None:
    settings = Settings(
        env=Environment.PRODUCTION,
        data_dir=tmp_path,
        public_url="https://mail.example.org",
        token_secret=GOOD,  # type: ignore[arg-type]
        token_previous_secrets=f"{'B' * 43},{'C' * 43}",  # type: ignore[arg-type]
        blind_index_keys=f"1:{GOOD}",  # type: ignore[arg-type]
        master_key_file=tmp_path / "master.key",
    )

    assert settings.token_previous_secrets is not None
