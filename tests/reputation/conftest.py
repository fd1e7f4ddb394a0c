"""The in-process app fixtures of tests/api, for the reputation tests that call the API."""

from tests.api.conftest import app, client, tenant

__all__ = ["app", "client", "tenant"]
