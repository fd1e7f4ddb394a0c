"""Templates: sender text is shown as text, and the environment is a sandbox.

Sender-supplied text (topic names and consent wording here) reaches the
form snippet, the confirmation email and the preference pages. It must be
escaped where it lands in HTML and never evaluated as a template.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from compliance.core.i18n import make_jinja_environment
from tests.api.conftest import Tenant, deliver, make_tenant, signup


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    # The sender's name is sender text too: emails and pages show it.
    app: FastAPI = client.app  # type: ignore[assignment]
    return make_tenant(app, f"Exemple {SCRIPT} {TEMPLATE_PROBE}")


TEMPLATE_PROBE = "{{ 7 * 191 }}"
SCRIPT = "<script>alert(1)</script>"
ESCAPE_PROBES = (
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
)


def declare_hostile_topic(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/v1/topics",
        json={
            "key": "news",
            "name_en": f"News {SCRIPT} {TEMPLATE_PROBE}",
            "name_fr": f"Actualités {SCRIPT} {TEMPLATE_PROBE}",
            "wording_en": f"I agree {SCRIPT} {TEMPLATE_PROBE}",
            "wording_fr": f"J'accepte {SCRIPT} {TEMPLATE_PROBE}",
        },
        headers=tenant.auth("sender"),
    )
    assert created.status_code == 201, created.text


def test_form_snippet_shows_sender_text_as_text(client: TestClient, tenant: Tenant) -> None:
    declare_hostile_topic(client, tenant)

    snippet = client.get(
        "/v1/forms/snippet",
        params={
            "privacy_policy_url": "https://shop.example/privacy",
            "privacy_policy_version": "3",
        },
        headers=tenant.auth("sender"),
    )

    assert snippet.status_code == 200, snippet.text
    assert SCRIPT not in snippet.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet.text
    # 7 * 191 = 1337: the text was not evaluated as a template.
    assert "1337" not in snippet.text
    assert TEMPLATE_PROBE in snippet.text


def test_confirmation_email_shows_sender_text_as_text(client: TestClient, tenant: Tenant) -> None:
    declare_hostile_topic(client, tenant)

    response = client.post(
        "/v1/subscribe",
        json=signup(
            tenant.form_id,
            "lecteur@example.org",
            topics=["news"],
            consent_text=f"I agree {SCRIPT} {TEMPLATE_PROBE}",
        ),
    )
    assert response.status_code == 202, response.text
    messages = deliver(client)

    assert len(messages) == 1
    html = messages[0].get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "Exemple &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert SCRIPT not in body
    assert "1337" not in body


def test_environment_is_sandboxed(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    environment = app.state.services.jinja

    assert isinstance(environment, SandboxedEnvironment)


@pytest.mark.parametrize("probe", ESCAPE_PROBES)
def test_sandbox_refuses_escapes(probe: str) -> None:
    # A template evaluating sender text must not reach Python internals.
    environment = make_jinja_environment([])

    with pytest.raises(SecurityError):
        environment.from_string(probe).render(cycler=object(), config={"a": 1})


def test_sandbox_refuses_mutation() -> None:
    environment = make_jinja_environment([])

    with pytest.raises(SecurityError):
        environment.from_string("{{ items.append(1) }}").render(items=[])


def test_autoescape_on_for_strings() -> None:
    environment = make_jinja_environment([])

    rendered = environment.from_string("{{ name }}").render(name=SCRIPT)

    assert rendered == "&lt;script&gt;alert(1)&lt;/script&gt;"
