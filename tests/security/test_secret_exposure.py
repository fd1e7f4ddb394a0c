"""Secrets never appear in the schema, the probes, the metrics or error responses."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from compliance.app import create_app
from compliance.core.settings import Settings
from compliance.core.tenants import KEY_PREFIX
from tests.api.conftest import make_tenant

TOKEN_SECRET = "tok-" + "A1b2C3d4" * 6
PREVIOUS_SECRET = "old-" + "Z9y8X7w6" * 6
BLIND_KEY = "blind-" + "Q5r6S7t8" * 6
METRICS_TOKEN = "met-" + "M1n2O3p4" * 6
MAILGUN_KEY = "mg-" + "K4l5M6n7" * 6
POSTMARK_PASSWORD = "pm-" + "H8i9J0k1" * 6
# An issued API key: sg_<12 hex digits>_<43 url-safe characters>.
ISSUED_KEY = re.compile(rf"{KEY_PREFIX}_[0-9a-f]{{12}}_[A-Za-z0-9_-]{{43}}")


@pytest.fixture
def exposed(settings: Settings) -> Iterator[tuple[TestClient, list[str]]]:
    base = {
        name: getattr(settings, name)
        for name in (
            "env",
            "data_dir",
            "database_url",
            "keystore_url",
            "master_key_file",
            "public_url",
            "outbox_dir",
            "subscribe_rate_per_minute",
            "outbox_poll_seconds",
        )
    }
    configured = Settings(
        **base,
        token_secret=TOKEN_SECRET,
        token_previous_secrets=PREVIOUS_SECRET,
        blind_index_keys=f"1:{BLIND_KEY}",
        metrics_token=METRICS_TOKEN,
        mailgun_webhook_signing_key=MAILGUN_KEY,
        postmark_webhook_password=POSTMARK_PASSWORD,
    )
    master_file = configured.master_key_file
    assert isinstance(master_file, Path)
    master_text = master_file.read_text().strip()
    secrets = [
        TOKEN_SECRET,
        PREVIOUS_SECRET,
        BLIND_KEY,
        METRICS_TOKEN,
        MAILGUN_KEY,
        POSTMARK_PASSWORD,
        master_text,
    ]
    # The master key in its other usual spellings.
    try:
        raw = base64.urlsafe_b64decode(master_text + "=" * (-len(master_text) % 4))
        secrets += [raw.hex(), base64.b64encode(raw).decode()]
    except ValueError:
        pass

    app = create_app(configured, run_worker=False, configure_logs=False)
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as client:
        yield client, secrets


def bodies(client: TestClient) -> dict[str, str]:
    tenant = make_tenant(client.app)  # type: ignore[arg-type]
    metrics = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    calls = {
        "openapi": client.get("/openapi.json"),
        "docs": client.get("/docs"),
        "healthz": client.get("/healthz"),
        "readyz": client.get("/readyz"),
        "metrics": client.get("/metrics", headers=metrics),
        "metrics without token": client.get("/metrics"),
        "unknown route": client.get("/v1/nothing-here"),
        "unknown page": client.get("/nothing-here"),
        "bad body": client.post("/v1/topics", json={"key": "x"}, headers=tenant.auth("sender")),
        "bad key": client.get("/v1/topics", headers={"Authorization": "Bearer sg_0_x"}),
        "bad token page": client.get("/p/not-a-token"),
        "new key": client.post("/v1/keys", json={"role": "dpo"}, headers=tenant.auth("admin")),
        "mailgun wrong signature": client.post(
            f"/v1/webhooks/mailgun/{tenant.sender_id}",
            json={"signature": {"timestamp": "1", "token": "t", "signature": "00"}},
        ),
    }
    for name, response in calls.items():
        assert response.status_code < 500, (name, response.status_code)
    return {
        name: response.text + json.dumps(dict(response.headers)) for name, response in calls.items()
    }


def test_no_configured_secret_in_any_response(exposed: tuple[TestClient, list[str]]) -> None:
    client, secrets = exposed

    for name, text in bodies(client).items():
        for secret in secrets:
            assert secret not in text, f"a configured secret appears in the {name} response"


def test_no_configured_secret_in_logs(
    exposed: tuple[TestClient, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, secrets = exposed

    with capture_logs() as events:
        bodies(client)

    logged = repr(events) + caplog.text
    assert events, "no log line was captured"
    for secret in secrets:
        assert secret not in logged


def test_schema_has_no_key_or_secret_example(exposed: tuple[TestClient, list[str]]) -> None:
    client, _ = exposed

    schema = client.get("/openapi.json").text

    assert not ISSUED_KEY.search(schema)
    for word in ("password", "secret"):
        # A field may be named so, but never with a default or example value.
        for match in re.finditer(rf'"[^"]*{word}[^"]*":\s*\{{[^{{}}]*\}}', schema, re.I):
            assert '"default"' not in match.group(0), match.group(0)
            assert '"example"' not in match.group(0), match.group(0)


def test_settings_repr_hides_secrets(exposed: tuple[TestClient, list[str]]) -> None:
    client, secrets = exposed
    app_settings = client.app.state.services.settings  # type: ignore[attr-defined]

    shown = repr(app_settings) + str(app_settings)

    for secret in secrets[:6]:
        assert secret not in shown
