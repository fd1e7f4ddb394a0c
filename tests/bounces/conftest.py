"""In-process app fixtures, shared with the API tests."""

from tests.api.conftest import app, client, tenant

__all__ = ["app", "client", "tenant"]
