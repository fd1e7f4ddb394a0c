"""Periodic DSR upkeep: destroy the keys of closed requests once nothing needs them."""

from __future__ import annotations

from sqlalchemy import Engine

from compliance.core.context import Services
from compliance.core.db import transaction
from dsr.closing import release_closed_requests


def run_dsr_maintenance(engine: Engine, services: Services) -> int:
    """Release what closed requests no longer need; return the keys destroyed."""
    with transaction(engine) as session:
        released: int = release_closed_requests(session, services)
    return released
