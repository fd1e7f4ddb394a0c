"""Tenant isolation: sender A, with its own keys, reaches nothing of sender B through any route.

Every route that takes an id in its path must return 404 to A for B's
id, exactly as for an id that does not exist. The body must contain none of
B's data, and none of B's rows may change. Routes that take a signed token or a
public id instead are listed, with the reason, in ``NOT_TENANT_IDS``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from compliance.core.settings import Settings
from tests.api.conftest import Tenant, make_tenant
from tests.security.tenant_cases import (
    ATTESTATION,
    CASES,
    LIST_SUPPRESSED,
    NOT_TENANT_IDS,
    SUBSCRIBER,
    SUPPRESSED,
    Case,
    OtherSender,
    build_other_sender,
    expect,
    login_dashboard,
    rows_of_sender,
)

if TYPE_CHECKING:
    # The response type of Starlette's TestClient, whichever httpx package it uses.
    from httpx2 import Response

_PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
# Stands for an id in bodies compared between a real and a made-up id.
_PLACEHOLDER = "<id>"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Sender B registers a webhook processor on a loopback address that
    # nothing listens on. No test here runs the processor worker, so the
    # address is never called.
    return settings.model_copy(
        update={"processor_allow_http": True, "processor_allow_private_networks": True}
    )


@pytest.fixture
def other(client: TestClient) -> OtherSender:
    return build_other_sender(client)


@pytest.fixture
def caller(client: TestClient, other: OtherSender) -> Tenant:
    return make_tenant(client.app, "Atelier Azur SAS")  # type: ignore[arg-type]


def id_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Return (method, path) of every route whose path has a parameter, HEAD left out."""
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or not _PATH_PARAMETER.search(path):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, path))
    return routes


def call(client: TestClient, case: Case, tenant: Tenant, url: str) -> Response:
    client.cookies.clear()
    if case.dashboard:
        login_dashboard(client, tenant.sender_key)
        return client.request(case.method, url)
    return client.request(
        case.method,
        url,
        headers=tenant.auth(case.role),
        json=case.body,
        params=case.query,
    )


def masked(response: Response, values: list[str]) -> str:
    text = response.text
    for value in values:
        text = text.replace(value, _PLACEHOLDER)
    return text


def assert_no_private_value(response: Response, other: OtherSender, allowed: set[str]) -> None:
    for name, value in other.private_values().items():
        if value in allowed:
            continue
        assert value not in response.text, f"the response contains B's {name}"


def test_every_id_route_has_a_case(app: FastAPI) -> None:
    routes = id_routes(app)
    covered = {case.route for case in CASES}

    missing = sorted(routes - covered - set(NOT_TENANT_IDS))
    assert missing == [], "add a Case in tenant_cases.CASES (or a reason in NOT_TENANT_IDS)"
    stale = sorted((covered | set(NOT_TENANT_IDS)) - routes)
    assert stale == [], "these listed routes no longer exist"
    both = sorted(covered & set(NOT_TENANT_IDS))
    assert both == [], "a route is both tested and exempted"


@pytest.mark.parametrize("case", CASES, ids=[f"{case.method} {case.path}" for case in CASES])
def test_case_names_every_path_parameter(case: Case) -> None:
    assert set(_PATH_PARAMETER.findall(case.path)) == set(case.ids)


@pytest.mark.parametrize("case", CASES, ids=[f"{case.method} {case.path}" for case in CASES])
def test_other_senders_id_not_found(
    client: TestClient, other: OtherSender, caller: Tenant, case: Case
) -> None:
    values = other.ids()
    requested = {parameter: values[name] for parameter, name in case.ids.items()}
    url = case.url(requested)
    if case.owner_reads:
        owned = call(client, case, other.tenant, url)
        assert owned.status_code == 200, f"B cannot read its own resource: {owned.text}"
    before = rows_of_sender(client, other.tenant.sender_id)

    response = call(client, case, caller, url)

    assert response.status_code == 404, response.text
    assert_no_private_value(response, other, set(requested.values()))
    assert rows_of_sender(client, other.tenant.sender_id) == before, "B's rows changed"

    # A response that differs from the one for a made-up id would confirm that B's id exists.
    made_up = {parameter: f"{value[:-4]}0000" for parameter, value in requested.items()}
    unknown = call(client, case, caller, case.url(made_up))
    assert unknown.status_code == response.status_code
    assert masked(unknown, list(made_up.values())) == masked(response, list(requested.values()))


def test_campaign_with_other_senders_list(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    before = rows_of_sender(client, other.tenant.sender_id)
    body = {"name": "Azur launch", "list_ids": [other.list_id]}

    response = client.post("/v1/campaigns", json=body, headers=caller.auth("sender"))

    assert response.status_code == 404, response.text
    assert_no_private_value(response, other, {other.list_id})
    assert rows_of_sender(client, other.tenant.sender_id) == before


def test_suppression_scoped_to_other_senders_list(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    body = {"email": "azur@example.net", "scope": "list", "scope_ref": other.list_id}

    response = client.post("/v1/suppressions", json=body, headers=caller.auth("sender"))

    assert response.status_code == 404, response.text
    assert_no_private_value(response, other, {other.list_id})


def test_override_of_other_senders_suppression(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    before = rows_of_sender(client, other.tenant.sender_id)
    body = {
        "email": SUPPRESSED,
        "reason": "complaint",
        "justification": "The complaint was filed by mistake.",
    }

    response = client.post("/v1/suppressions/override", json=body, headers=caller.auth("admin"))

    assert response.status_code == 404, response.text
    assert rows_of_sender(client, other.tenant.sender_id) == before


@pytest.mark.parametrize("route", ["/v1/screen", "/v1/screen/recheck"])
def test_screening_ignores_other_senders_entries(
    client: TestClient, other: OtherSender, caller: Tenant, route: str
) -> None:
    recipients = [SUPPRESSED, LIST_SUPPRESSED]
    body = {"recipients": recipients, "list_ids": [other.list_id]}
    owned = expect(client.post(route, json=body, headers=other.tenant.auth("sender")), 200)
    assert owned["kept"] == [], "B's own screening must remove both addresses"

    response = client.post(route, json=body, headers=caller.auth("sender"))

    screened = expect(response, 200)
    assert screened["kept"] == recipients
    assert screened["removed"] == []


def test_check_with_other_senders_campaign(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    message: dict[str, Any] = {
        "from_domain": "azur.example.net",
        "text": "Launch day.",
        "headers": {"Subject": "Launch day"},
        "skip_dns": True,
    }
    bodies = [
        message | {"campaign_id": other.campaign_id},
        message | {"campaign_id": other.campaign_id, "mark_sent": True},
        message | {"list_ids": [other.list_id]},
    ]
    before = rows_of_sender(client, other.tenant.sender_id)

    responses = [
        client.post("/v1/checks", json=body, headers=caller.auth("sender")) for body in bodies
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    for response in responses:
        assert_no_private_value(response, other, {other.campaign_id, other.list_id})
    assert rows_of_sender(client, other.tenant.sender_id) == before


def test_reversal_of_other_senders_event(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    before = rows_of_sender(client, other.tenant.sender_id)
    made_up = f"{other.event_id[:-4]}0000"
    justification = "Link scanner burst from one client."

    response = client.post(
        "/v1/preference-events/reverse",
        json={"event_ids": [other.event_id], "justification": justification},
        headers=caller.auth("admin"),
    )
    unknown = client.post(
        "/v1/preference-events/reverse",
        json={"event_ids": [made_up], "justification": justification},
        headers=caller.auth("admin"),
    )

    assert expect(response, 200) == {
        "reversed_event_ids": [],
        "skipped_event_ids": [other.event_id],
    }
    assert expect(unknown, 200) == {"reversed_event_ids": [], "skipped_event_ids": [made_up]}
    assert rows_of_sender(client, other.tenant.sender_id) == before


def test_lookups_by_other_senders_address(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    lookup = client.post(
        "/v1/contacts/lookup", json={"email": SUBSCRIBER}, headers=caller.auth("dpo")
    )
    search = client.post("/v1/dsr/search", json={"email": SUBSCRIBER}, headers=caller.auth("dpo"))

    assert lookup.status_code == 404, lookup.text
    assert_no_private_value(lookup, other, set())
    assert expect(search, 200) == []


def test_checkpoint_of_other_sender(client: TestClient, other: OtherSender, caller: Tenant) -> None:
    response = client.post(
        "/v1/consent/checkpoints/verify", json=other.checkpoint, headers=caller.auth("admin")
    )

    checked = expect(response, 200)
    assert checked["ok"] is False
    assert checked["status"] == "wrong_sender"
    assert_no_private_value(response, other, {other.tenant.sender_id})


def test_collections_show_only_own_items(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    reads = {
        "topics": client.get("/v1/topics", headers=caller.auth("sender")),
        "preference events": client.get(
            "/v1/preference-events", params={"since": since}, headers=caller.auth("sender")
        ),
        "leave reasons": client.get("/v1/leave-reasons", headers=caller.auth("sender")),
        "requests": client.get("/v1/dsr", headers=caller.auth("dpo")),
        "processors": client.get("/v1/processors", headers=caller.auth("dpo")),
        "suppression export": client.get(
            "/v1/suppressions/export",
            params={"format": "generic_csv", "include_scoped": "true"},
            headers=caller.auth("sender"),
        ),
        "ledger": client.get("/v1/consent/verify", headers=caller.auth("admin")),
        "reputation": client.get("/v1/reputation", headers=caller.auth("sender")),
    }

    for name, response in reads.items():
        assert response.status_code == 200, f"{name}: {response.text}"
        assert_no_private_value(response, other, set())
    assert reads["preference events"].json()["events"] == []
    assert reads["requests"].json() == []
    assert reads["processors"].json() == []
    assert reads["suppression export"].headers["X-Sendguard-Rows-Written"] == "0"


def test_writes_naming_other_senders_addresses(
    client: TestClient, other: OtherSender, caller: Tenant
) -> None:
    sender, dpo = caller.auth("sender"), caller.auth("dpo")
    list_id = expect(client.post("/v1/lists", json={"name": "Azur"}, headers=sender), 201)["id"]
    campaign = {"name": "Azur launch", "list_ids": [list_id]}
    campaign_id = expect(client.post("/v1/campaigns", json=campaign, headers=sender), 201)["id"]
    consent = {
        "email": SUBSCRIBER,
        "topics": ["newsletter"],
        "lawful_basis": "consent",
        "consent_text": "Azur news by email; unsubscribe at any time.",
        "consent_text_version": "azur-1",
        "privacy_policy_url": "https://azur.example.net/privacy",
        "privacy_policy_version": "1",
        "double_opt_in": False,
    }
    erasure = {"type": "erasure", "email": SUBSCRIBER, "attestation": ATTESTATION}
    events = {"events": [{"email": SUBSCRIBER, "type": "click"}]}
    before = rows_of_sender(client, other.tenant.sender_id)

    recorded = expect(client.post("/v1/consents", json=consent, headers=sender), 201)
    members = client.post(
        f"/v1/lists/{list_id}/members", json={"add": [SUBSCRIBER]}, headers=sender
    )
    engaged = client.post(f"/v1/campaigns/{campaign_id}/events", json=events, headers=sender)
    suppressed = client.post("/v1/suppressions", json={"email": SUBSCRIBER}, headers=sender)
    erased = client.post("/v1/dsr", json=erasure, headers=dpo)

    assert recorded["contact_id"] != other.contact_id
    assert expect(members, 200)["already_members"] == 0
    assert expect(engaged, 200) == {"recorded": 1}
    expect(suppressed, 201)
    assert expect(erased, 201)["status"] == "completed"
    assert rows_of_sender(client, other.tenant.sender_id) == before, "B's rows changed"
