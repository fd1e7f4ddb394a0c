"""CSRF checks on every page form that changes state, and the attributes of the pages' cookies.

The pages use a double-submit cookie (compliance/core/csrf.py): a GET sets
``sg_csrf`` and a hidden field derived from it, and a POST must carry both.
These tests go through the real app, so a route added without its check, or
a check removed from a handler, fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.csrf import COOKIE as CSRF_COOKIE
from compliance.reputation.dashboard import COOKIE as SESSION_COOKIE
from consent.models import Contact
from consent.self_service import current_address
from consent.service import subscriptions_of
from tests.api.conftest import Tenant, csrf_field, deliver, link_in, make_tenant, signup

ADDRESS = "margot@example.org"
NEW_ADDRESS = "margot.new@example.org"
BASE_URL = "https://sendguard.test"

# Page routes (outside /v1) that accept POST and check the CSRF field.
CSRF_CHECKED = frozenset(
    {
        "/p/{token}/{action}",
        # The page's own button is checked. The RFC 8058 one-click POST on the
        # same route is not (see EXEMPT), and the handler recognises it by its body.
        "/u/{token}",
        "/m/{form_id}",
        "/a/{token}",
        "/s/{token}",
        "/dashboard/login",
        "/dashboard/logout",
        "/dashboard/sessions/end",
    }
)

# Page routes that accept POST without a CSRF field, each with its reason.
EXEMPT = {
    "/f/{form_id}": "the sign-up form is embedded on the sender's site and posted cross-site "
    "by design; a forged sign-up only sends a double opt-in email, which records nothing",
    "/c/{token}": "the signed single-purpose token in the URL authorises the confirmation; "
    "no ambient cookie is involved, so a forged request needs the emailed token",
}
# The RFC 8058 one-click POST on /u/{token} (body List-Unsubscribe=One-Click)
# is the other exemption: mailbox providers send it without cookies, and the
# signed token in the URL authorises it.


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client.app)  # type: ignore[arg-type]


def page_post_routes(app: FastAPI) -> set[str]:
    """Return the path of every route outside /v1 that accepts POST."""
    paths = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if "POST" in (route.methods or set()) and not path.startswith("/v1"):
            paths.add(path)
    return paths


def test_every_page_post_route_is_classified(app: FastAPI) -> None:
    routes = page_post_routes(app)

    unclassified = routes - CSRF_CHECKED - set(EXEMPT)
    assert not unclassified, f"add these routes to CSRF_CHECKED or EXEMPT: {sorted(unclassified)}"
    assert CSRF_CHECKED.isdisjoint(EXEMPT)
    stale = (CSRF_CHECKED | set(EXEMPT)) - routes
    assert not stale, f"these listed routes no longer exist: {sorted(stale)}"


# --- The forged POSTs ---------------------------------------------------------


def engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def contact_state(client: TestClient) -> tuple[str, str, list[tuple[str, str]]]:
    """Return the contact's status, address and (topic, status) pairs."""
    services = client.app.state.services  # type: ignore[attr-defined]
    with Session(engine(client)) as session:
        contact = session.exec(select(Contact)).one()
        topics = [(row.topic, row.status) for row in subscriptions_of(session, contact)]
        return contact.status, current_address(services, contact), topics


def subscribe_and_confirm(client: TestClient, tenant: Tenant) -> str:
    """Return the preference path of the welcome email."""
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    client.post(link_in(deliver(client)[0], "/c/"))
    return link_in(deliver(client)[0], "/p/")


def post_form(client: TestClient, page: str, target: str, **fields: str) -> Any:
    """Post a genuine form: the field of the page just shown, with its cookie."""
    shown = client.get(page)
    return client.post(
        target, data={"csrf": csrf_field(shown.text), **fields}, follow_redirects=False
    )


@dataclass(frozen=True)
class Forgery:
    # The page that shows the form, so the client has a genuine CSRF cookie.
    page: str
    # Where the form posts, and the fields other than csrf.
    target: str
    fields: dict[str, str]
    # Returns what the POST must not change.
    state: Callable[[], object]


def preference_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    page = subscribe_and_confirm(client, tenant)
    state = lambda: (contact_state(client), len(deliver(client)))  # noqa: E731
    yield Forgery(page, f"{page}/topics", {"topics": ""}, state)
    yield Forgery(page, f"{page}/unsubscribe", {}, state)
    yield Forgery(page, f"{page}/address", {"email": NEW_ADDRESS}, state)
    yield Forgery(page, f"{page}/erase", {}, state)


def unsubscribe_path(client: TestClient, tenant: Tenant) -> str:
    """Return the path of the contact's List-Unsubscribe link."""
    contact_id = contact_id_of(client)
    headers = client.post(
        f"/v1/contacts/{contact_id}/unsubscribe-headers",
        json={"scope": "all"},
        headers=tenant.auth("sender"),
    ).json()["headers"]
    return str(headers["List-Unsubscribe"].split(f"<{BASE_URL}", 1)[1].split(">", 1)[0])


def unsubscribe_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    subscribe_and_confirm(client, tenant)
    path = unsubscribe_path(client, tenant)
    yield Forgery(path, path, {"reason": "too_frequent"}, lambda: contact_state(client))


def magic_link_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    subscribe_and_confirm(client, tenant)
    form = f"/m/{tenant.form_id}"
    yield Forgery(form, form, {"email": ADDRESS}, lambda: len(deliver(client)))


def address_change_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    page = subscribe_and_confirm(client, tenant)
    post_form(client, page, f"{page}/address", email=NEW_ADDRESS)
    confirm = link_in(deliver(client)[0], "/a/")
    yield Forgery(confirm, confirm, {}, lambda: contact_state(client))


def self_service_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    page = subscribe_and_confirm(client, tenant)
    post_form(client, page, f"{page}/erase")
    unlock = link_in(deliver(client)[0], "/s/")
    yield Forgery(unlock, unlock, {}, lambda: contact_state(client))


def dashboard_status(client: TestClient) -> int:
    """Return 200 when the client is signed in to the dashboard, 303 (to sign-in) otherwise."""
    return client.get("/dashboard", follow_redirects=False).status_code


def login_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    yield Forgery(
        "/dashboard/login",
        "/dashboard/login",
        {"api_key": tenant.sender_key},
        lambda: dashboard_status(client),
    )


def logout_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    signed_in = post_form(client, "/dashboard/login", "/dashboard/login", api_key=tenant.sender_key)
    assert dashboard_status(client) == 200, signed_in.text
    yield Forgery("/dashboard", "/dashboard/logout", {}, lambda: dashboard_status(client))


def end_sessions_forgeries(client: TestClient, tenant: Tenant) -> Iterator[Forgery]:
    # A second browser signed in with the same key: "end my other sessions" would end it.
    other = TestClient(client.app, base_url=BASE_URL, raise_server_exceptions=False)
    for browser in (other, client):
        post_form(browser, "/dashboard/login", "/dashboard/login", api_key=tenant.sender_key)
        assert dashboard_status(browser) == 200
    yield Forgery(
        "/dashboard",
        "/dashboard/sessions/end",
        {"session": "others", "api_key": tenant.sender_key},
        lambda: (dashboard_status(client), dashboard_status(other)),
    )


FORGERIES: dict[str, Callable[[TestClient, Tenant], Iterator[Forgery]]] = {
    "/p/{token}/{action}": preference_forgeries,
    "/u/{token}": unsubscribe_forgeries,
    "/m/{form_id}": magic_link_forgeries,
    "/a/{token}": address_change_forgeries,
    "/s/{token}": self_service_forgeries,
    "/dashboard/login": login_forgeries,
    "/dashboard/logout": logout_forgeries,
    "/dashboard/sessions/end": end_sessions_forgeries,
}


def contact_id_of(client: TestClient) -> str:
    with Session(engine(client)) as session:
        return session.exec(select(Contact)).one().id


def foreign_field(app: FastAPI, page: str) -> str:
    """Return a valid CSRF field for another browser's cookie, as an attacker can get one."""
    attacker = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
    return csrf_field(attacker.get(page).text)


def test_forgeries_cover_every_checked_route() -> None:
    assert set(FORGERIES) == CSRF_CHECKED


@pytest.mark.parametrize("route", sorted(CSRF_CHECKED))
def test_post_without_valid_csrf_rejected(client: TestClient, tenant: Tenant, route: str) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    forgeries = list(FORGERIES[route](client, tenant))

    assert forgeries, route
    for forgery in forgeries:
        shown = client.get(forgery.page)
        assert shown.status_code == 200, (forgery.page, shown.text)
        assert client.cookies.get(CSRF_COOKIE), "the page set no CSRF cookie"
        before = forgery.state()
        wrong_fields = {
            "missing": None,
            "wrong": "0" * 64,
            "empty": "",
            "another browser's": foreign_field(app, forgery.page),
        }
        for case, value in wrong_fields.items():
            fields = dict(forgery.fields)
            if value is not None:
                fields["csrf"] = value
            response = client.post(forgery.target, data=fields, follow_redirects=False)

            assert response.status_code == 403, (forgery.target, case, response.text)
            assert SESSION_COOKIE not in response.headers.get("set-cookie", ""), case
            assert forgery.state() == before, (forgery.target, case)


def test_genuine_post_accepted(client: TestClient, tenant: Tenant) -> None:
    # The forged POSTs above fail for the missing field, not for some other reason.
    page = subscribe_and_confirm(client, tenant)

    done = post_form(client, page, f"{page}/unsubscribe")

    assert done.status_code == 303, done.text
    assert contact_state(client)[0] == "unsubscribed"


# --- Cookie attributes --------------------------------------------------------


def cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    """Split one Set-Cookie header into the cookie name and its lowercased attributes."""
    pair, *attributes = [part.strip() for part in header.split(";")]
    name = pair.split("=", 1)[0]
    parsed = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value.lower()
    return name, parsed


def page_responses(client: TestClient, tenant: Tenant) -> Iterator[tuple[str, Any]]:
    """Yield (label, response) for every page response that may set a cookie."""
    page = subscribe_and_confirm(client, tenant)
    yield "preference page", client.get(page)
    yield "magic link page", client.get(f"/m/{tenant.form_id}")
    yield "unsubscribe page", client.get(unsubscribe_path(client, tenant))
    post_form(client, page, f"{page}/address", email=NEW_ADDRESS)
    yield "address change page", client.get(link_in(deliver(client)[0], "/a/"))
    post_form(client, page, f"{page}/download")
    yield "self-service page", client.get(link_in(deliver(client)[0], "/s/"))

    yield "dashboard sign-in page", client.get("/dashboard/login")
    signed_in = post_form(client, "/dashboard/login", "/dashboard/login", api_key=tenant.sender_key)
    yield "dashboard sign-in", signed_in
    yield "dashboard page", client.get("/dashboard", follow_redirects=False)
    shown = client.get("/dashboard")
    yield (
        "dashboard sign-out",
        client.post(
            "/dashboard/logout", data={"csrf": csrf_field(shown.text)}, follow_redirects=False
        ),
    )


def test_page_cookies_have_safe_attributes(client: TestClient, tenant: Tenant) -> None:
    seen = set()
    for label, response in page_responses(client, tenant):
        for header in response.headers.get_list("set-cookie"):
            name, attributes = cookie_attributes(header)
            seen.add(name)

            assert "httponly" in attributes, (label, header)
            # Strict: the browser sends the cookie on no cross-site request, not
            # even a top-level navigation, so a form posted from another site
            # arrives without it and fails the check. Lax would already be enough,
            # because it withholds the cookie from cross-site POSTs. Strict costs
            # only a fresh CSRF cookie when a page is opened from an email.
            assert attributes.get("samesite") == "strict", (label, header)
            # The test client's public URL is https.
            assert "secure" in attributes, (label, header)
            assert attributes.get("path", "").startswith("/"), (label, header)

    assert seen == {CSRF_COOKIE, SESSION_COOKIE}
