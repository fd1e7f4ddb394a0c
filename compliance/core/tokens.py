"""Signed link tokens for confirmation, preference and unsubscribe pages.

JWS compact tokens (HS256 through python-jose) with the algorithm pinned,
a key id, an audience per purpose, an expiry and a random ``jti``. Claims
carry ids and random values only: a reader of the token learns nothing
about the subscriber.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

ALGORITHM = "HS256"
ISSUER = "sendguard"


class TokenPurpose(enum.StrEnum):
    CONFIRM = "confirm"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    # Opens the subscriber's consent receipt; grants nothing else.
    RECEIPT = "receipt"
    # Confirms a new address given on the preference page.
    ADDRESS_CHANGE = "address_change"
    # The emailed link that unlocks a data download or an erasure.
    SELF_SERVICE = "self_service"
    # The emailed link to the export of an access or portability request.
    DSR_EXPORT = "dsr_export"
    # The sender's dashboard session cookie; its subject is the API key's id.
    DASHBOARD_SESSION = "dashboard_session"


class TokenError(Exception):
    """A token is malformed, forged, expired or meant for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        # One of: invalid, expired.
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    purpose: TokenPurpose
    subject_id: str
    sender_id: str
    token_id: str
    expires_at: datetime
    issued_at: datetime
    # What the link acts on: "all", "topic:<key>" or "list:<id>".
    scope: str = "all"
    # When the person signed in (OpenID Connect's ``auth_time``), for session
    # tokens that are renewed: it bounds the session whatever the renewals.
    auth_time: datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    # The random ``jti``: store it to make the token single-use.
    token_id: str


def key_id_of(secret: bytes) -> str:
    """Return the key id of a signing secret: 16 hex digits of its SHA-256, never the secret."""
    return hashlib.sha256(secret).hexdigest()[:16]


class TokenSigner:
    """Sign with the current secret, and verify with the live secret that ``kid`` names.

    Previous secrets keep the links already sent working during a rotation.
    A token whose ``kid`` names no live secret is rejected.
    """

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self._secret = secret.decode("utf-8")
        self.key_id = key_id_of(secret)
        live = {key_id_of(old): old.decode("utf-8") for old in previous}
        live[self.key_id] = self._secret
        self._verifying_secrets = tuple(live.items())

    @property
    def live_key_ids(self) -> frozenset[str]:
        """The key ids that verify: the current one and every previous one."""
        return frozenset(key_id for key_id, _ in self._verifying_secrets)

    def issue(
        self,
        purpose: TokenPurpose,
        subject_id: str,
        sender_id: str,
        lifetime: timedelta,
        *,
        scope: str | None = None,
    ) -> str:
        return self.issue_token(purpose, subject_id, sender_id, lifetime, scope=scope).token

    def issue_token(
        self,
        purpose: TokenPurpose,
        subject_id: str,
        sender_id: str,
        lifetime: timedelta,
        *,
        token_id: str | None = None,
        scope: str | None = None,
        auth_time: datetime | None = None,
    ) -> IssuedToken:
        """Sign a token; ``token_id`` reuses a ``jti`` so that two links share one single use."""
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": f"{ISSUER}:{purpose.value}",
            "sub": subject_id,
            "sid": sender_id,
            "jti": token_id or secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
        }
        if scope is not None:
            claims["scp"] = scope
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        encoded = jwt.encode(
            claims, self._secret, algorithm=ALGORITHM, headers={"kid": self.key_id}
        )
        return IssuedToken(str(encoded), str(claims["jti"]))

    def verify(self, token: str, purpose: TokenPurpose) -> TokenClaims:
        """Return the claims of a valid token for ``purpose``.

        :raises TokenError: with reason ``expired`` or ``invalid``.
        """
        if len(token) > 2048:
            raise TokenError("invalid")
        try:
            header = jwt.get_unverified_header(token)
        except JWTError:
            raise TokenError("invalid") from None
        # Pin the algorithm before verifying, so neither "none" nor a switched
        # algorithm is ever considered.
        if header.get("alg") != ALGORITHM:
            raise TokenError("invalid")
        secret = self._secret_for(header.get("kid"))
        if secret is None:
            raise TokenError("invalid")

        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=f"{ISSUER}:{purpose.value}",
                issuer=ISSUER,
                options={"require_exp": True, "require_sub": True, "require_jti": True},
            )
        except ExpiredSignatureError:
            raise TokenError("expired") from None
        except (JWTClaimsError, JWTError):
            raise TokenError("invalid") from None

        sender_id = claims.get("sid")
        scope = claims.get("scp", "all")
        issued_at = claims.get("iat")
        if not isinstance(sender_id, str) or not isinstance(scope, str):
            raise TokenError("invalid")
        if not isinstance(issued_at, int):
            raise TokenError("invalid")
        auth_time = claims.get("auth_time")
        if auth_time is not None and not isinstance(auth_time, int):
            raise TokenError("invalid")
        return TokenClaims(
            purpose=purpose,
            subject_id=str(claims["sub"]),
            sender_id=sender_id,
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            issued_at=datetime.fromtimestamp(issued_at, UTC),
            scope=scope,
            auth_time=None if auth_time is None else datetime.fromtimestamp(auth_time, UTC),
        )

    def _secret_for(self, key_id: object) -> str | None:
        """Return the live secret named by ``key_id``, or None for an unknown or malformed id."""
        if not isinstance(key_id, str) or not key_id.isascii():
            return None
        # Key ids are public (every token carries one), but comparing each
        # live id in constant time, without stopping at a match, keeps the
        # verification time the same whichever secret matched.
        found: str | None = None
        for live_id, secret in self._verifying_secrets:
            if hmac.compare_digest(live_id, key_id):
                found = secret
        return found
