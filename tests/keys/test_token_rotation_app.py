"""A double opt-in link sent before a token key rotation, confirmed through the app after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from compliance.app import create_app
from compliance.core.settings import Settings
from consent.models import Contact, ContactStatus
from tests.api.conftest import deliver, link_in, make_tenant, signup
from tests.conftest import random_key

ADDRESS = "ines@example.org"


@contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(
        app, base_url="https://sendguard.test", raise_server_exceptions=False
    ) as client:
        yield client


def confirmation_link(settings: Settings) -> str:
    with running(settings) as client:
        tenant = make_tenant(client.app)  # type: ignore[arg-type]
        assert client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS)).status_code < 300
        return link_in(deliver(client)[0], "/c/")


def contact_status(client: TestClient) -> str:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return session.exec(select(Contact)).one().status


def test_link_from_before_rotation_confirms_after_it(settings: Settings) -> None:
    link = confirmation_link(settings)
    assert settings.token_secret is not None
    rotated = settings.model_copy(
        update={
            "token_secret": SecretStr(random_key()),
            "token_previous_secrets": settings.token_secret,
        }
    )

    with running(rotated) as client:
        confirmed = client.post(link)

        assert confirmed.status_code == 200
        assert contact_status(client) == ContactStatus.CONFIRMED


def test_link_from_before_rotation_fails_once_secret_removed(settings: Settings) -> None:
    link = confirmation_link(settings)
    retired = settings.model_copy(update={"token_secret": SecretStr(random_key())})

    with running(retired) as client:
        refused = client.post(link)

        assert refused.status_code >= 400
        assert contact_status(client) == ContactStatus.PENDING
