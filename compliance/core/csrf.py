"""CSRF protection for the subscriber pages' forms: a double-submit cookie.

A page that shows a form sets a random ``sg_csrf`` cookie (HttpOnly,
SameSite=Strict) and puts an HMAC of it in a hidden field; a POST is
accepted only when the field matches the cookie it arrives with. A page on
another site can make the browser send the cookie only when SameSite allows
it, and it cannot read the cookie to compute the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "sg_csrf"
FIELD = "csrf"
_HKDF_INFO = b"sendguard csrf v1"


class CsrfGuard:
    def __init__(self, master_key: bytes, *, secure_cookie: bool) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )
        self._secure = secure_cookie

    def _mac(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode("ascii", "replace"), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str]:
        """Return (cookie value, form field value), reusing the request's cookie when present."""
        cookie = request.cookies.get(COOKIE, "")
        if not (16 <= len(cookie) <= 64 and cookie.isascii()):
            cookie = secrets.token_urlsafe(24)
        return cookie, self._mac(cookie)

    def set_cookie(self, response: Response, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=self._secure,
            path="/",
            max_age=2 * 3600,
        )

    def check(self, request: Request, field_value: object) -> bool:
        cookie = request.cookies.get(COOKIE)
        if not cookie or not isinstance(field_value, str):
            return False
        return hmac.compare_digest(self._mac(cookie), field_value)
