"""The in-process app fixtures of tests/api, reused for list and suppression tests."""

from tests.api.conftest import app, client, tenant

__all__ = ["app", "client", "tenant"]
