"""Bearer API-key authentication and role checks for ``/v1`` routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import Request

from compliance.core.db import DbSession
from compliance.core.errors import Forbidden, Unauthorized
from compliance.core.i18n import N_
from compliance.core.models import Role
from compliance.core.tenants import find_active_key

# An admin key may do what sender and dpo keys do, within its own sender.
_GRANTS: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.SENDER, Role.DPO}),
    Role.SENDER: frozenset({Role.SENDER}),
    Role.DPO: frozenset({Role.DPO}),
}


@dataclass(frozen=True)
class Principal:
    sender_id: str
    key_id: str
    role: Role

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"


def require_roles(*allowed: Role) -> Callable[..., Principal]:
    """Build a dependency that authenticates the caller and checks its role."""

    def dependency(request: Request, session: DbSession) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise Unauthorized(
                N_(
                    "The Authorization header uses another scheme than Bearer; send "
                    "'Authorization: Bearer <key>'."
                )
            )
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized(
                N_("Missing API key; send the header 'Authorization: Bearer <key>'.")
            )

        row = find_active_key(session, presented.strip())
        if row is None:
            raise Unauthorized(
                N_("Unknown or revoked API key; create a new one with `sendguard key create`.")
            )

        role = Role(row.role)
        if not (_GRANTS[role] & set(allowed)):
            raise Forbidden(
                N_("This route needs a key with role %(roles)s; this key has role %(role)s."),
                roles=" or ".join(r.value for r in allowed),
                role=role.value,
            )

        structlog.contextvars.bind_contextvars(sender_id=row.sender_id, key_id=row.id)
        return Principal(row.sender_id, row.id, role)

    return dependency
