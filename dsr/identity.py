"""The one-time code that proves a subscriber controls the address of a request.

GDPR Art. 12(6) lets the controller ask for the information needed to
confirm identity; for a mailing list, the address is the identity, so a code
mailed to it is proportionate. Eight digits, valid for a few minutes, with a
few tries: guessing succeeds with odds of about 5 in 100 million.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_DIGITS = 8


@dataclass(frozen=True)
class IssuedCode:
    code: str
    code_hash: str
    expires_at: datetime


def hash_code(request_id: str, code: str) -> str:
    # The request id salts the digest, so one table of digests fits one request only.
    return hashlib.sha256(f"{request_id}:{code}".encode()).hexdigest()


def issue_code(request_id: str, now: datetime, ttl_minutes: int) -> IssuedCode:
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    return IssuedCode(code, hash_code(request_id, code), now + timedelta(minutes=ttl_minutes))


def code_matches(request_id: str, expected_hash: str, given: str) -> bool:
    """Compare in constant time; a code of the wrong shape never matches."""
    candidate = given.strip().replace(" ", "")
    if len(candidate) != CODE_DIGITS or not candidate.isdigit():
        return False
    return hmac.compare_digest(hash_code(request_id, candidate), expected_hash)
