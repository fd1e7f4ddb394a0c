"""Two senders with one resource of each kind, and the table of routes the isolation suite calls.

Sender B owns the resources. Sender A calls every route that takes an id,
with its own key and B's ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from tests.api.conftest import Tenant, csrf_field, make_tenant

if TYPE_CHECKING:
    # The response type of Starlette's TestClient, whichever httpx package it uses.
    from httpx2 import Response

# Addresses of B's contacts. Any of them in a response to A is a leak.
SUBSCRIBER = "bettina.subscriber@example.org"
LEAVER = "bruno.leaver@example.org"
SUPPRESSED = "berenice.suppressed@example.org"
LIST_SUPPRESSED = "basile.listonly@example.org"
ERASED = "bernard.erased@example.org"

ATTESTATION = {
    "verified_by": "DPO office",
    "method": "id_document",
    "verified_at": "2026-01-10T09:00:00Z",
}


@dataclass(frozen=True)
class OtherSender:
    """Sender B and the ids of what it owns."""

    tenant: Tenant
    name: str
    topic_key: str
    topic_name: str
    contact_id: str
    leaver_contact_id: str
    list_id: str
    list_name: str
    campaign_id: str
    campaign_name: str
    key_id: str
    key_secret: str
    open_request_id: str
    closed_request_id: str
    erasure_request_id: str
    processor_id: str
    processor_name: str
    task_id: str
    event_id: str
    checkpoint: dict[str, Any] = field(repr=False)

    def ids(self) -> dict[str, str]:
        return {
            "sender_id": self.tenant.sender_id,
            "form_id": self.tenant.form_id,
            "topic_key": self.topic_key,
            "contact_id": self.contact_id,
            "leaver_contact_id": self.leaver_contact_id,
            "list_id": self.list_id,
            "campaign_id": self.campaign_id,
            "key_id": self.key_id,
            "open_request_id": self.open_request_id,
            "closed_request_id": self.closed_request_id,
            "erasure_request_id": self.erasure_request_id,
            "processor_id": self.processor_id,
            "task_id": self.task_id,
            "event_id": self.event_id,
        }

    def private_values(self) -> dict[str, str]:
        """Return every value of B that no response to A may contain, by a name for messages."""
        values = self.ids()
        values.update(
            key_secret=self.key_secret,
            sender_name=self.name,
            topic_name=self.topic_name,
            list_name=self.list_name,
            campaign_name=self.campaign_name,
            processor_name=self.processor_name,
            subscriber=SUBSCRIBER,
            leaver=LEAVER,
            suppressed=SUPPRESSED,
            list_suppressed=LIST_SUPPRESSED,
            erased=ERASED,
        )
        return values


def expect(response: Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def build_other_sender(client: TestClient) -> OtherSender:
    """Create sender B through the API, with one resource of each kind that a route names by id."""
    name = "Brasserie Bleue SARL"
    tenant = make_tenant(client.app, name)  # type: ignore[arg-type]
    sender, dpo, admin = tenant.auth("sender"), tenant.auth("dpo"), tenant.auth("admin")

    topic = {
        "key": "bleue-offers",
        "name_en": "Bleue tasting offers",
        "name_fr": "Offres de dégustation Bleue",
        "wording_en": "Send me the Bleue tasting offers.",
        "wording_fr": "Envoyez-moi les offres de dégustation Bleue.",
    }
    expect(client.post("/v1/topics", json=topic, headers=sender), 201)

    contact_id = record_consent(client, tenant, SUBSCRIBER)
    leaver_contact_id = record_consent(client, tenant, LEAVER)
    event_id = unsubscribe_by_one_click(client, tenant, leaver_contact_id)

    list_name = "Bleue regulars"
    list_id = expect(client.post("/v1/lists", json={"name": list_name}, headers=sender), 201)["id"]
    members = {"add": [SUBSCRIBER]}
    expect(client.post(f"/v1/lists/{list_id}/members", json=members, headers=sender), 200)
    campaign_name = "Bleue spring tasting"
    campaign = {"name": campaign_name, "list_ids": [list_id]}
    campaign_id = expect(client.post("/v1/campaigns", json=campaign, headers=sender), 201)["id"]
    check = {
        "from_domain": "bleue.example.org",
        "text": "Spring tasting.",
        "headers": {"Subject": "Spring tasting"},
        "skip_dns": True,
        "campaign_id": campaign_id,
    }
    expect(client.post("/v1/checks", json=check, headers=sender), 200)

    suppressions = [
        {"email": SUPPRESSED, "reason": "complaint"},
        {"email": LIST_SUPPRESSED, "reason": "unsubscribe", "scope": "list", "scope_ref": list_id},
    ]
    for entry in suppressions:
        expect(client.post("/v1/suppressions", json=entry, headers=sender), 201)

    key = expect(client.post("/v1/keys", json={"role": "sender"}, headers=admin), 201)

    processor_name = "Bleue CRM"
    processor = {
        "name": processor_name,
        "kind": "webhook",
        # Nothing listens on the discard port, and no test here runs the worker.
        "url": "http://127.0.0.1:9/hook",
        "secret": "webhook-signing-secret-0123456789abcdef",
    }
    processor_id = expect(client.post("/v1/processors", json=processor, headers=dpo), 201)["id"]

    open_request = {"type": "access", "email": SUBSCRIBER, "send_code": False, "execute": False}
    open_request_id = expect(client.post("/v1/dsr", json=open_request, headers=dpo), 201)["id"]
    closed_request = {"type": "access", "email": SUBSCRIBER, "attestation": ATTESTATION}
    closed_request_id = expect(client.post("/v1/dsr", json=closed_request, headers=dpo), 201)["id"]
    erasure = {"type": "erasure", "email": ERASED, "attestation": ATTESTATION}
    erasure_request_id = expect(client.post("/v1/dsr", json=erasure, headers=dpo), 201)["id"]
    tasks = expect(client.get(f"/v1/dsr/{erasure_request_id}/processors", headers=dpo), 200)
    assert len(tasks) == 1, tasks

    checkpoint = expect(client.post("/v1/consent/checkpoints", headers=admin), 201)

    return OtherSender(
        tenant=tenant,
        name=name,
        topic_key=topic["key"],
        topic_name=topic["name_en"],
        contact_id=contact_id,
        leaver_contact_id=leaver_contact_id,
        list_id=list_id,
        list_name=list_name,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
        key_id=key["id"],
        key_secret=key["key"],
        open_request_id=open_request_id,
        closed_request_id=closed_request_id,
        erasure_request_id=erasure_request_id,
        processor_id=processor_id,
        processor_name=processor_name,
        task_id=tasks[0]["task_id"],
        event_id=event_id,
        checkpoint=checkpoint,
    )


def record_consent(client: TestClient, tenant: Tenant, address: str) -> str:
    body = {
        "email": address,
        "topics": ["newsletter", "bleue-offers"],
        "consent_text": "Offers by email; unsubscribe at any time.",
        "consent_text_version": "bleue-1",
        "privacy_policy_url": "https://bleue.example.org/privacy",
        "privacy_policy_version": "1",
        "lawful_basis": "consent",
        "double_opt_in": False,
    }
    recorded = expect(client.post("/v1/consents", json=body, headers=tenant.auth("sender")), 201)
    contact_id: str = recorded["contact_id"]
    return contact_id


def unsubscribe_by_one_click(client: TestClient, tenant: Tenant, contact_id: str) -> str:
    """Unsubscribe the contact by its one-click link and return the preference event id."""
    headers_response = client.post(
        f"/v1/contacts/{contact_id}/unsubscribe-headers",
        json={"scope": "all"},
        headers=tenant.auth("sender"),
    )
    header = expect(headers_response, 200)["headers"]["List-Unsubscribe"]
    path = header.split("<https://sendguard.test", 1)[1].split(">", 1)[0]
    clicked = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status_code == 200, clicked.text
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    listed = client.get(
        "/v1/preference-events", params={"since": since}, headers=tenant.auth("sender")
    )
    [event] = expect(listed, 200)["events"]
    event_id: str = event["id"]
    return event_id


def login_dashboard(client: TestClient, key: str) -> None:
    page = client.get("/dashboard/login?lang=en")
    assert page.status_code == 200, page.text
    response = client.post(
        "/dashboard/login?lang=en",
        data={"csrf": csrf_field(page.text), "api_key": key},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def rows_of_sender(client: TestClient, sender_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table with a ``sender_id`` column that belongs to the sender.

    The suite compares it before and after a call by another sender, so a
    write across tenants shows up whatever table it changed.
    """
    engine = client.app.state.engine  # type: ignore[attr-defined]
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    with Session(engine) as session:
        for name, table in sorted(SQLModel.metadata.tables.items()):
            if "sender_id" not in table.columns:
                continue
            query = select(table).where(table.columns["sender_id"] == sender_id)
            snapshot[name] = sorted((tuple(row) for row in session.execute(query)), key=repr)
    return snapshot


@dataclass(frozen=True)
class Case:
    """One route called by sender A with one of B's ids in its path.

    ``ids`` maps each path parameter to the name of B's id in
    ``OtherSender.ids()``. A write case sends a body that would be valid for
    the owner, so that only the tenant check can stop it.
    """

    method: str
    path: str
    role: str
    ids: Mapping[str, str]
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str] | None = None
    # True when B's own call returns 200, which proves that the id is live.
    owner_reads: bool = False
    # Called with a dashboard session cookie instead of an API key.
    dashboard: bool = False

    @property
    def route(self) -> tuple[str, str]:
        return (self.method, self.path)

    def url(self, values: Mapping[str, str]) -> str:
        return self.path.format(**values)


CASES: list[Case] = [
    Case("DELETE", "/v1/keys/{key_id}", "admin", {"key_id": "key_id"}),
    Case(
        "PATCH",
        "/v1/topics/{key}",
        "sender",
        {"key": "topic_key"},
        body={"name_en": "Renamed by another sender"},
    ),
    Case("DELETE", "/v1/topics/{key}", "sender", {"key": "topic_key"}),
    Case(
        "GET",
        "/v1/contacts/{contact_id}/consent",
        "dpo",
        {"contact_id": "contact_id"},
        owner_reads=True,
    ),
    Case(
        "GET",
        "/v1/contacts/{contact_id}/consent/receipt",
        "sender",
        {"contact_id": "contact_id"},
        owner_reads=True,
    ),
    Case(
        "POST",
        "/v1/contacts/{contact_id}/unsubscribe-headers",
        "sender",
        {"contact_id": "contact_id"},
        body={"scope": "all"},
    ),
    Case("POST", "/v1/contacts/{contact_id}/links/revoke", "sender", {"contact_id": "contact_id"}),
    Case("GET", "/v1/lists/{list_id}", "sender", {"list_id": "list_id"}, owner_reads=True),
    Case("DELETE", "/v1/lists/{list_id}", "sender", {"list_id": "list_id"}),
    Case(
        "POST",
        "/v1/lists/{list_id}/members",
        "sender",
        {"list_id": "list_id"},
        body={"add": ["intruder@example.net"], "remove": [SUBSCRIBER]},
    ),
    Case(
        "GET",
        "/v1/campaigns/{campaign_id}",
        "sender",
        {"campaign_id": "campaign_id"},
        owner_reads=True,
    ),
    Case(
        "POST",
        "/v1/campaigns/{campaign_id}/sent",
        "sender",
        {"campaign_id": "campaign_id"},
        body={},
    ),
    Case(
        "POST",
        "/v1/campaigns/{campaign_id}/events",
        "sender",
        {"campaign_id": "campaign_id"},
        body={"events": [{"email": SUBSCRIBER, "type": "open"}]},
    ),
    Case(
        "GET",
        "/v1/campaigns/{campaign_id}/report",
        "sender",
        {"campaign_id": "campaign_id"},
        owner_reads=True,
    ),
    Case(
        "GET",
        "/dashboard/campaigns/{campaign_id}/report",
        "sender",
        {"campaign_id": "campaign_id"},
        owner_reads=True,
        dashboard=True,
    ),
    Case(
        "GET", "/v1/dsr/{request_id}", "dpo", {"request_id": "closed_request_id"}, owner_reads=True
    ),
    Case(
        "POST",
        "/v1/dsr/{request_id}/attest",
        "dpo",
        {"request_id": "open_request_id"},
        body=ATTESTATION,
        query={"execute": "false"},
    ),
    Case("POST", "/v1/dsr/{request_id}/send-code", "dpo", {"request_id": "open_request_id"}),
    Case("POST", "/v1/dsr/{request_id}/execute", "dpo", {"request_id": "open_request_id"}, body={}),
    Case(
        "POST",
        "/v1/dsr/{request_id}/extend",
        "dpo",
        {"request_id": "open_request_id"},
        body={"months": 1, "reason": "The archive is held by a contractor."},
    ),
    Case(
        "POST",
        "/v1/dsr/{request_id}/reject",
        "dpo",
        {"request_id": "open_request_id"},
        body={"ground": "manifestly_unfounded"},
    ),
    Case("POST", "/v1/dsr/{request_id}/lift-restriction", "dpo", {"request_id": "open_request_id"}),
    Case(
        "GET",
        "/v1/dsr/{request_id}/certificate",
        "dpo",
        {"request_id": "closed_request_id"},
        owner_reads=True,
    ),
    Case(
        "GET",
        "/v1/dsr/{request_id}/export",
        "dpo",
        {"request_id": "closed_request_id"},
        owner_reads=True,
    ),
    Case(
        "GET",
        "/v1/dsr/{request_id}/processors",
        "dpo",
        {"request_id": "erasure_request_id"},
        owner_reads=True,
    ),
    Case("DELETE", "/v1/processors/{processor_id}", "dpo", {"processor_id": "processor_id"}),
    Case("POST", "/v1/processor-tasks/{task_id}/retry", "dpo", {"task_id": "task_id"}),
]

# Routes whose path parameter is not a tenant-owned id looked up with an API key.
NOT_TENANT_IDS: dict[tuple[str, str], str] = {
    ("POST", "/f/{form_id}"): "public form id, printed in the sender's signup form",
    ("GET", "/m/{form_id}"): "public form id of the magic-link page, printed in the form",
    ("POST", "/m/{form_id}"): "public form id of the magic-link page, printed in the form",
    ("GET", "/c/{token}"): "signed confirmation token, mailed to the subscriber",
    ("POST", "/c/{token}"): "signed confirmation token, mailed to the subscriber",
    ("GET", "/r/{token}"): "signed receipt token, mailed to the subscriber",
    ("GET", "/p/{token}"): "signed preference-page token, mailed to the subscriber",
    ("POST", "/p/{token}/{action}"): "signed preference-page token and a fixed action name",
    ("GET", "/u/{token}"): "signed unsubscribe token, in the List-Unsubscribe header",
    ("POST", "/u/{token}"): "signed unsubscribe token, in the List-Unsubscribe header",
    ("GET", "/a/{token}"): "signed address-change token, mailed to the subscriber",
    ("POST", "/a/{token}"): "signed address-change token, mailed to the subscriber",
    ("GET", "/s/{token}"): "signed self-service token, mailed to the subscriber",
    ("POST", "/s/{token}"): "signed self-service token, mailed to the subscriber",
    ("GET", "/x/{token}"): "signed data-export download token, mailed to the subscriber",
    ("POST", "/v1/dsr/intake/{request_id}/verify"): "no API key: the subscriber's id and code",
    ("POST", "/v1/events/ses/{sender_id}"): "ESP webhook, authenticated by the SNS signature",
    ("POST", "/v1/events/sendgrid/{sender_id}"): "ESP webhook, authenticated by its signature",
    ("POST", "/v1/events/mailgun/{sender_id}"): "ESP webhook, authenticated by its signature",
    ("POST", "/v1/events/postmark/{sender_id}"): "ESP webhook, authenticated by its credentials",
    ("POST", "/v1/domains/{domain}/check"): "a public DNS name checked live, nothing stored",
}
