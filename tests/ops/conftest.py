"""Fixtures for the operations endpoints: the in-process app, a client and a metrics reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from compliance.app import create_app
from compliance.core.settings import Settings
from tests.api.conftest import Tenant, make_tenant


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, run_worker=False, configure_logs=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    """Fetch /metrics, parse it with prometheus_client and index the samples by name and labels."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value, 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)
