"""The in-process app fixtures of tests/api, for the security tests that call the API."""

from tests.api.conftest import app, client

__all__ = ["app", "client"]
