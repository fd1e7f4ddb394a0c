"""Injection through the API and the pages: SQL in filters, CR/LF in headers, HTML in exports.

The escaping of hostile subject and body text in the pre-send HTML report is
covered by tests/checks/test_report_html.py (test_html_escapes_message_content)
and tests/reputation/test_dashboard_pages.py (a campaign named with a script tag).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, table
from sqlmodel import Session, select

from compliance.core.models import Sender
from consent.emails import Links, confirmation_email
from consent.models import Contact
from consent.self_service import contact_name
from dsr.emails import Notice, render_notice
from tests.api.conftest import (
    Tenant,
    csrf_field,
    deliver,
    deliver_raw,
    link_in,
    make_tenant,
    signup,
)

ADDRESS = "margot@example.org"
OTHER_ADDRESS = "bruno.autre@example.net"
OTHER_LIST = "Liste-privee-de-B"
ATTESTATION = {
    "verified_by": "DPO office",
    "method": "id_document",
    "verified_at": "2026-01-10T09:00:00Z",
}

SQL_PAYLOADS = ("' OR '1'='1", "1; DROP TABLE contacts;--", "%' --", "a\x00b")
# Addresses that pass or nearly pass the address check and carry SQL or LIKE wildcards.
PAYLOAD_ADDRESSES = (
    "x' OR '1'='1@example.org",
    '"1; DROP TABLE contacts;--"@example.org',
    "%' --@example.org",
    "%@example.net",
    "bruno.autre%@example.net",
    "margot%@example.org",
    "_argot@example.org",
    "margot@example.org' --",
    "margot\x00@example.org",
)
# Rows that an injected statement could delete or a failed one could lose.
WATCHED_TABLES = (
    "senders",
    "api_keys",
    "contacts",
    "subscriptions",
    "mailing_lists",
    "list_memberships",
    "data_subject_requests",
)
# Valid values for required query parameters, so that the payload is the only fault.
BASELINE_QUERY = {
    "privacy_policy_url": "https://example.org/privacy",
    "privacy_policy_version": "3",
    "since": "2026-01-01T00:00:00Z",
    "format": "json",
}

HEADER_PAYLOAD = "Exemple\r\nBcc: x@example.net"
INJECTED_LINE = re.compile(rb"(?im)^bcc:")
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


def engine(client: TestClient) -> Engine:
    app: FastAPI = client.app  # type: ignore[assignment]
    result: Engine = app.state.engine
    return result


def confirmed_subscriber(client: TestClient, tenant: Tenant, address: str) -> str:
    """Subscribe and confirm ``address``; return the preference path of the welcome email."""
    client.post("/v1/subscribe", json=signup(tenant.form_id, address))
    client.post(link_in(deliver(client)[0], "/c/"))
    return link_in(deliver(client)[0], "/p/")


def contact_id(client: TestClient, tenant: Tenant) -> str:
    with Session(engine(client)) as session:
        contact = session.exec(select(Contact).where(Contact.sender_id == tenant.sender_id)).one()
        return contact.id


def access_export(client: TestClient, tenant: Tenant, address: str) -> str:
    """Create and execute an access request for ``address``; return its id."""
    created = client.post(
        "/v1/dsr",
        json={
            "type": "access",
            "email": address,
            "attestation": ATTESTATION,
            "notify_subject": False,
            "send_code": False,
        },
        headers=tenant.auth("dpo"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# --- SQL through filters -----------------------------------------------------


@dataclass(frozen=True)
class Population:
    own: Tenant
    own_request_id: str
    # Strings that appear only in the other sender's data.
    other_secrets: tuple[str, ...]


def populate(client: TestClient, tenant: Tenant) -> Population:
    """Give the tenant and a second sender each a contact, a list and an access request."""
    other = make_tenant(client.app, "Autre Expediteur SARL")  # type: ignore[arg-type]
    secrets = [other.sender_id, other.form_id, OTHER_ADDRESS, OTHER_LIST]
    request_ids = []
    for owner, address, list_name in (
        (tenant, ADDRESS, "Lecteurs"),
        (other, OTHER_ADDRESS, OTHER_LIST),
    ):
        confirmed_subscriber(client, owner, address)
        created = client.post("/v1/lists", json={"name": list_name}, headers=owner.auth("sender"))
        assert created.status_code == 201, created.text
        added = client.post(
            f"/v1/lists/{created.json()['id']}/members",
            json={"add": [address]},
            headers=owner.auth("sender"),
        )
        assert added.status_code == 200, added.text
        request_ids.append(access_export(client, owner, address))
    secrets += [contact_id(client, other), request_ids[1]]
    return Population(tenant, request_ids[0], tuple(secrets))


def row_counts(client: TestClient) -> dict[str, int]:
    with engine(client).connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in WATCHED_TABLES
        }


def table_names(client: TestClient) -> set[str]:
    return set(inspect(engine(client)).get_table_names())


@dataclass(frozen=True)
class FilterRoute:
    path: str
    required: frozenset[str]
    # Query parameters that take text, where a payload could reach SQL.
    text_parameters: tuple[str, ...]


def takes_text(schema: dict[str, Any]) -> bool:
    """Return True unless the parameter's schema is only boolean, integer or number."""
    options = schema.get("anyOf", [schema])
    kinds = {option.get("type") for option in options} - {"null"}
    return not kinds <= {"boolean", "integer", "number"}


def filter_routes(app: FastAPI) -> Iterator[FilterRoute]:
    """Yield every GET route under /v1 that takes query parameters, from the OpenAPI schema."""
    for path, operations in app.openapi()["paths"].items():
        operation = operations.get("get")
        if not path.startswith("/v1") or operation is None:
            continue
        query = [item for item in operation.get("parameters", []) if item["in"] == "query"]
        if not query:
            continue
        yield FilterRoute(
            path,
            frozenset(item["name"] for item in query if item.get("required")),
            tuple(item["name"] for item in query if takes_text(item.get("schema", {}))),
        )


def role_for(client: TestClient, tenant: Tenant, url: str, query: dict[str, str]) -> str:
    """Return the first role whose key gets a success for the route with valid values."""
    for role in ("sender", "dpo", "admin"):
        response = client.get(url, params=query, headers=tenant.auth(role))
        if response.status_code < 400:
            return role
    raise AssertionError(f"no role gets a success from {url} with valid values")


def test_sql_payloads_in_query_filters(client: TestClient, tenant: Tenant) -> None:
    population = populate(client, tenant)
    tables = table_names(client)
    counts = row_counts(client)
    routes = list(filter_routes(client.app))  # type: ignore[arg-type]

    assert routes, "the schema lists no GET route with query parameters"
    for route in routes:
        missing = route.required - set(BASELINE_QUERY)
        assert not missing, f"add a valid value for {sorted(missing)} ({route.path})"
        url = route.path.replace("{request_id}", population.own_request_id)
        assert "{" not in url, f"no value for the path parameter of {route.path}"
        baseline = {name: BASELINE_QUERY[name] for name in route.required}
        role = role_for(client, tenant, url, baseline)

        for name in route.text_parameters:
            for payload in SQL_PAYLOADS:
                response = client.get(
                    url, params={**baseline, name: payload}, headers=tenant.auth(role)
                )

                case = (route.path, name, payload)
                assert response.status_code < 500, (case, response.text)
                for secret in population.other_secrets:
                    assert secret not in response.text, case

    assert table_names(client) == tables
    assert row_counts(client) == counts


@pytest.mark.parametrize("path", ["/v1/contacts/lookup", "/v1/dsr/search"])
def test_sql_payloads_in_address_searches(client: TestClient, tenant: Tenant, path: str) -> None:
    population = populate(client, tenant)
    counts = row_counts(client)
    role = "dpo"
    found = client.post(path, json={"email": ADDRESS}, headers=tenant.auth(role))
    assert found.status_code == 200, found.text

    for address in PAYLOAD_ADDRESSES:
        response = client.post(path, json={"email": address}, headers=tenant.auth(role))

        assert response.status_code in (404, 422) or (
            response.status_code == 200 and ADDRESS not in response.text
        ), (address, response.status_code, response.text)
        for secret in population.other_secrets:
            assert secret not in response.text, address
        if response.status_code == 200:
            # An exact-match search finds nothing for a wildcard.
            assert response.json() != found.json(), address

    assert row_counts(client) == counts


# --- Header injection --------------------------------------------------------


def test_sender_name_with_line_break_rejected(client: TestClient) -> None:
    with pytest.raises(ValueError, match="sender name") as caught:
        make_tenant(client.app, HEADER_PAYLOAD)  # type: ignore[arg-type]

    assert "x@example.net" not in str(caught.value)


def hostile_sender() -> Sender:
    # Built without create_sender, as a row written before validation existed would be.
    return Sender(name=HEADER_PAYLOAD, postal_address="", default_locale="en", form_id="form_x")


def test_consent_email_rejects_header_line_break(client: TestClient) -> None:
    jinja = client.app.state.services.jinja  # type: ignore[attr-defined]
    links = Links("https://a.test/c/x", "https://a.test/u/x", "https://a.test/r/x")

    with pytest.raises(ValueError, match="CR or LF"):
        confirmation_email(
            jinja, hostile_sender(), "news@example.org", ADDRESS, "en", links, ttl_hours=48
        )


def test_dsr_notice_rejects_header_line_break(client: TestClient, tenant: Tenant) -> None:
    jinja = client.app.state.services.jinja  # type: ignore[attr-defined]
    with Session(engine(client)) as session:
        sender = session.get_one(Sender, tenant.sender_id)
    notice = Notice(subject=HEADER_PAYLOAD, paragraphs=["text"])

    with pytest.raises(ValueError, match="linefeed or carriage return"):
        render_notice(jinja, sender, "dpo@example.org", ADDRESS, "en", notice)
    with pytest.raises(ValueError, match="CR or LF"):
        render_notice(
            jinja, hostile_sender(), "dpo@example.org", ADDRESS, "en", Notice("Hi", ["text"])
        )


def test_subscriber_name_line_break_never_reaches_mail(client: TestClient, tenant: Tenant) -> None:
    page = confirmed_subscriber(client, tenant, ADDRESS)
    shown = client.get(page)

    # NOTE: the preference center and a DPO rectification turn line breaks into
    # spaces instead of rejecting the name with a 422 naming the field.
    renamed = client.post(
        f"{page}/name", data={"csrf": csrf_field(shown.text), "name": HEADER_PAYLOAD}
    )
    assert renamed.status_code == 200, renamed.text
    assert stored_name(client) == "Exemple Bcc: x@example.net"
    rectified = client.post(
        "/v1/dsr",
        json={
            "type": "rectification",
            "email": ADDRESS,
            "attestation": ATTESTATION,
            "changes": {"name": "Autre\nBcc: y@example.net"},
        },
        headers=tenant.auth("dpo"),
    )
    assert rectified.status_code == 201, rectified.text
    assert stored_name(client) == "Autre Bcc: y@example.net"

    # Emails sent after the renames: a notice of the request and a download link.
    client.post(f"{page}/download", data={"csrf": csrf_field(client.get(page).text)})
    sent = deliver_raw(client)
    assert sent.raw, "no email was sent"
    for raw in sent.raw:
        assert not INJECTED_LINE.search(raw), raw


def stored_name(client: TestClient) -> str:
    services = client.app.state.services  # type: ignore[attr-defined]
    with Session(engine(client)) as session:
        return contact_name(services, session.exec(select(Contact)).one())


# --- HTML in exports ---------------------------------------------------------


def assert_inert(response: Any, media_type: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment")


def csv_values(text: str) -> list[str]:
    return [row[-1] for row in csv.reader(io.StringIO(text)) if row]


def test_self_service_download_keeps_html_as_data(client: TestClient, tenant: Tenant) -> None:
    page = confirmed_subscriber(client, tenant, ADDRESS)
    client.post(
        f"{page}/name", data={"csrf": csrf_field(client.get(page).text), "name": HOSTILE_NAME}
    )
    client.post(f"{page}/download", data={"csrf": csrf_field(client.get(page).text)})
    unlock = link_in(deliver(client)[0], "/s/")
    field = csrf_field(client.get(unlock).text)

    as_json = client.post(unlock, data={"csrf": field, "format": "json"})
    as_csv = client.post(unlock, data={"csrf": field, "format": "csv"})

    assert_inert(as_json, "application/json")
    assert as_json.json()["contact"]["name"] == HOSTILE_NAME
    assert_inert(as_csv, "text/csv")
    assert HOSTILE_NAME in csv_values(as_csv.text)


def test_dsr_access_export_keeps_html_as_data(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    renamed = client.post(
        "/v1/dsr",
        json={
            "type": "rectification",
            "email": ADDRESS,
            "attestation": ATTESTATION,
            "changes": {"name": HOSTILE_NAME},
        },
        headers=tenant.auth("dpo"),
    )
    assert renamed.status_code == 201, renamed.text
    request_id = access_export(client, tenant, ADDRESS)

    export = f"/v1/dsr/{request_id}/export"
    as_json = client.get(export, headers=tenant.auth("dpo"))
    as_csv = client.get(export, params={"format": "csv"}, headers=tenant.auth("dpo"))

    assert_inert(as_json, "application/json")
    assert as_json.json()["contact"]["name"] == HOSTILE_NAME
    assert_inert(as_csv, "text/csv")
    assert HOSTILE_NAME in csv_values(as_csv.text)
