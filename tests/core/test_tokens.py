"""Link tokens: pinned algorithm, purpose, expiry, and no personal data in claims."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from jose import jwt

from compliance.core.tokens import TokenError, TokenPurpose, TokenSigner

SECRET = b"s" * 48
SUBJECT = "3f1c1a7e-0000-4000-8000-000000000001"
SENDER = "3f1c1a7e-0000-4000-8000-000000000002"


def segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_round_trip_returns_claims() -> None:
    signer = TokenSigner(SECRET)
    token = signer.issue(TokenPurpose.UNSUBSCRIBE, SUBJECT, SENDER, timedelta(days=60))

    claims = signer.verify(token, TokenPurpose.UNSUBSCRIBE)

    assert claims.subject_id == SUBJECT
    assert claims.sender_id == SENDER
    assert len(claims.token_id) >= 16


def test_claims_hold_ids_only() -> None:
    token = TokenSigner(SECRET).issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(hours=1))

    claims = jwt.get_unverified_claims(token)

    assert set(claims) == {"iss", "aud", "sub", "sid", "jti", "iat", "exp"}
    assert "@" not in token


def test_wrong_purpose_rejected() -> None:
    signer = TokenSigner(SECRET)
    token = signer.issue(TokenPurpose.PREFERENCES, SUBJECT, SENDER, timedelta(days=1))

    with pytest.raises(TokenError) as caught:
        signer.verify(token, TokenPurpose.UNSUBSCRIBE)
    assert caught.value.reason == "invalid"


def test_expired_token_rejected() -> None:
    signer = TokenSigner(SECRET)
    token = signer.issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(seconds=-1))

    with pytest.raises(TokenError) as caught:
        signer.verify(token, TokenPurpose.CONFIRM)
    assert caught.value.reason == "expired"


def test_other_secret_rejected() -> None:
    token = TokenSigner(b"x" * 48).issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(hours=1))

    with pytest.raises(TokenError):
        TokenSigner(SECRET).verify(token, TokenPurpose.CONFIRM)


def test_alg_none_rejected() -> None:
    signer = TokenSigner(SECRET)
    genuine = signer.issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(hours=1))
    payload = genuine.split(".")[1]
    unsigned = f"{segment({'alg': 'none', 'kid': signer.key_id})}.{payload}."

    with pytest.raises(TokenError):
        signer.verify(unsigned, TokenPurpose.CONFIRM)


def test_switched_algorithm_rejected() -> None:
    signer = TokenSigner(SECRET)
    claims = jwt.get_unverified_claims(
        signer.issue(TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(hours=1))
    )
    forged = jwt.encode(claims, SECRET.decode(), algorithm="HS512", headers={"kid": signer.key_id})

    with pytest.raises(TokenError):
        signer.verify(forged, TokenPurpose.CONFIRM)


def test_tampered_payload_rejected() -> None:
    signer = TokenSigner(SECRET)
    header, _, signature = signer.issue(
        TokenPurpose.CONFIRM, SUBJECT, SENDER, timedelta(hours=1)
    ).split(".")
    claims = {
        "iss": "sendguard",
        "aud": "sendguard:confirm",
        "sub": "other",
        "sid": SENDER,
        "jti": "x" * 22,
        "exp": 4102444800,
    }

    with pytest.raises(TokenError):
        signer.verify(f"{header}.{segment(claims)}.{signature}", TokenPurpose.CONFIRM)


@pytest.mark.parametrize("garbage", ["", "a.b", "not-a-token", "x" * 5000])
def test_garbage_rejected(garbage: str) -> None:
    with pytest.raises(TokenError):
        TokenSigner(SECRET).verify(garbage, TokenPurpose.CONFIRM)
