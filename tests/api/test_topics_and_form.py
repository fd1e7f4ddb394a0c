"""Topics, the public form's topic guard, and the embeddable HTML form."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from lxml import html
from sqlmodel import Session, select

from consent.models import ConsentRecord, Contact
from tests.api.conftest import Tenant, deliver, signup

PRIVATE = {
    "key": "clients-vip",
    "name_en": "VIP customers",
    "name_fr": "Clients VIP",
    "wording_en": "Offers for our VIP customers.",
    "wording_fr": "Offres pour nos clients VIP.",
    "public": False,
}
PUBLIC = {
    "key": "agenda",
    "name_en": "Events",
    "name_fr": "Agenda",
    "wording_en": "I agree to receive the events calendar by email.",
    "wording_fr": "J'accepte de recevoir l'agenda des événements par e-mail.",
    "wording_version": "2026-12",
}


def _contacts(client: TestClient) -> list[Contact]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(Contact)).all())


def test_default_topic_until_the_sender_declares_its_own(
    client: TestClient, tenant: Tenant
) -> None:
    listed = client.get("/v1/topics", headers=tenant.auth("sender"))
    assert [topic["key"] for topic in listed.json()] == ["newsletter"]

    assert client.post("/v1/topics", json=PUBLIC, headers=tenant.auth("sender")).status_code == 201
    listed = client.get("/v1/topics", headers=tenant.auth("sender"))
    # The first declared topic also declares the default one, so forms
    # published before keep working.
    assert [topic["key"] for topic in listed.json()] == ["agenda", "newsletter"]
    kept = client.post("/v1/subscribe", json=signup(tenant.form_id, "a@example.org"))
    assert kept.status_code == 202

    # Archived, the default topic is no longer offered.
    assert client.delete("/v1/topics/newsletter", headers=tenant.auth("sender")).status_code == 204
    refused = client.post("/v1/subscribe", json=signup(tenant.form_id, "b@example.org"))
    assert refused.status_code == 422
    assert refused.json()["field"] == "topics"


def test_private_topic_subscribes_nobody(client: TestClient, tenant: Tenant) -> None:
    # Regression seen elsewhere: a private list id posted to the public form.
    assert client.post("/v1/topics", json=PRIVATE, headers=tenant.auth("sender")).status_code == 201

    response = client.post(
        "/v1/subscribe", json=signup(tenant.form_id, "victim@example.org", topics=["clients-vip"])
    )

    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "topics"
    assert "clients-vip" in body["detail"]
    assert "victim" not in response.text
    assert _contacts(client) == []
    assert deliver(client) == []


def test_archived_topic_is_refused_and_duplicate_key_conflicts(
    client: TestClient, tenant: Tenant
) -> None:
    auth = tenant.auth("sender")
    assert client.post("/v1/topics", json=PUBLIC, headers=auth).status_code == 201
    assert client.post("/v1/topics", json=PUBLIC, headers=auth).status_code == 409
    assert client.delete("/v1/topics/agenda", headers=auth).status_code == 204

    response = client.post(
        "/v1/subscribe", json=signup(tenant.form_id, "a@example.org", topics=["agenda"])
    )
    assert response.status_code == 422


def test_new_wording_needs_a_new_version(client: TestClient, tenant: Tenant) -> None:
    auth = tenant.auth("sender")
    client.post("/v1/topics", json=PUBLIC, headers=auth)

    same_version = client.patch(
        "/v1/topics/agenda", json={"wording_en": "Changed text."}, headers=auth
    )
    assert same_version.status_code == 422
    assert same_version.json()["field"] == "wording_version"

    new_version = client.patch(
        "/v1/topics/agenda",
        json={"wording_en": "Changed text.", "wording_version": "2027-01"},
        headers=auth,
    )
    assert new_version.status_code == 200
    assert new_version.json()["wording_version"] == "2027-01"


def test_topics_of_another_sender_are_not_found(client: TestClient, tenant: Tenant) -> None:
    from tests.api.conftest import make_tenant

    other = make_tenant(client.app)  # type: ignore[arg-type]
    client.post("/v1/topics", json=PUBLIC, headers=tenant.auth("sender"))

    assert client.delete("/v1/topics/agenda", headers=other.auth("sender")).status_code == 404
    assert (
        client.patch(
            "/v1/topics/agenda", json={"public": False}, headers=other.auth("sender")
        ).status_code
        == 404
    )


def _snippet(client: TestClient, tenant: Tenant, lang: str) -> html.HtmlElement:
    response = client.get(
        "/v1/forms/snippet",
        params={
            "privacy_policy_url": "https://example.org/privacy",
            "privacy_policy_version": "4",
            "lang": lang,
        },
        headers=tenant.auth("sender"),
    )
    assert response.status_code == 200, response.text
    return html.fragment_fromstring(response.text)


def test_snippet_public_topics_and_honeypot(client: TestClient, tenant: Tenant) -> None:
    auth = tenant.auth("sender")
    client.post("/v1/topics", json=PUBLIC, headers=auth)
    client.post("/v1/topics", json=PRIVATE, headers=auth)

    form = _snippet(client, tenant, "fr")

    assert form.get("action") == f"https://sendguard.test/f/{tenant.form_id}"
    boxes = form.xpath("//input[@type='checkbox']")
    assert [box.get("value") for box in boxes] == ["agenda", "newsletter"]
    label = form.xpath("//label[@for='sendguard-topic-agenda']")[0]
    assert label.text_content() == PUBLIC["wording_fr"]
    honeypot = form.xpath("//input[@name='website']")[0]
    assert honeypot.get("tabindex") == "-1"
    assert honeypot.getparent().get("aria-hidden") == "true"
    # Every visible control has a label.
    for control in form.xpath("//input[not(@type='hidden')]"):
        assert form.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")


def test_form_post_records_stored_wording(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/topics", json=PUBLIC, headers=tenant.auth("sender"))

    response = client.post(
        f"/f/{tenant.form_id}",
        data={
            "email": "lea@example.org",
            "topics": "agenda",
            "lang": "fr",
            "privacy_policy_url": "https://example.org/privacy",
            "privacy_policy_version": "4",
            "website": "",
        },
        headers={"Referer": "https://shop.example.org/newsletter?email=lea@example.org"},
    )

    assert response.status_code == 200
    assert "<h1>Consultez votre boîte de réception</h1>" in response.text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        record = session.exec(select(ConsentRecord)).one()
    expected = hashlib.sha256(PUBLIC["wording_fr"].encode()).hexdigest()
    assert record.wording_sha256 == expected
    assert record.wording_version == "agenda:2026-12"
    # The query string of the form's page may hold personal data: dropped.
    assert record.form_url == "https://shop.example.org/newsletter"
    [message] = deliver(client)
    assert message["To"] == "lea@example.org"


def test_form_honeypot_and_bad_fields(client: TestClient, tenant: Tenant) -> None:
    base = {
        "email": "bot@example.org",
        "topics": "newsletter",
        "lang": "en",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "4",
    }
    bot = client.post(f"/f/{tenant.form_id}", data={**base, "website": "http://spam"})
    assert bot.status_code == 200
    assert "Check your inbox" in bot.text
    assert _contacts(client) == []

    bad_address = client.post(f"/f/{tenant.form_id}", data={**base, "email": "not-an-address"})
    assert bad_address.status_code == 422
    assert "Email address" in bad_address.text
    assert "not-an-address" not in bad_address.text

    no_topic = client.post(f"/f/{tenant.form_id}", data={**base, "topics": ""})
    assert no_topic.status_code == 422
    assert "Tick at least one box" in no_topic.text

    private = client.post(f"/f/{tenant.form_id}", data={**base, "topics": "x@y.z"})
    assert private.status_code == 422
    assert "x@y.z" not in private.text
    assert re.search(r"\(invalid id\)", private.text)
    assert _contacts(client) == []


def test_form_url_keeps_no_address(client: TestClient, tenant: Tenant) -> None:
    url = "https://site.example/signup/pp2@example.org/step?email=pp2@example.org#frag"
    client.post("/v1/subscribe", json=signup(tenant.form_id, "pp2@example.org", form_url=url))

    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        record = session.exec(select(ConsentRecord)).one()
    # The ledger is append-only: an address written there could never be erased.
    assert record.form_url == "https://site.example/signup/-/step"
