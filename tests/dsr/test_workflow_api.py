"""The DPO's request workflow through the real app: states, deadlines, identity, execution."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from compliance.core.models import AuditEvent
from consent.models import ConsentRecord, Contact
from dsr.certificate import check_certificate
from dsr.models import DataSubjectRequest
from suppression.models import SuppressionEntry
from tests.api.conftest import Tenant, deliver, make_tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber, screen
from tests.suppression.test_list_lock import create_list, send_campaign

ADDRESS = "dana@example.org"
ATTESTATION = {
    "verified_by": "DPO office",
    "method": "id_document",
    "verified_at": "2026-01-10T09:00:00Z",
}


def dsr(request_type: str, email: str = ADDRESS, **fields: Any) -> dict[str, Any]:
    return {"type": request_type, "email": email, **fields}


def engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def stored(client: TestClient, request_id: str) -> DataSubjectRequest:
    with Session(engine(client)) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        return request


def code_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"^\s+(\d{8})\s*$", body.get_content(), re.MULTILINE)
    assert match is not None, "no code in the message"
    return match.group(1)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_request_through_every_state(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")

    created = client.post("/v1/dsr", json=dsr("erasure", send_code=False), headers=dpo)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert created.json()["status"] == "received"

    pending = client.post(f"/v1/dsr/{request_id}/send-code", headers=dpo)
    assert pending.json()["status"] == "identity_pending"
    assert pending.json()["code_expires_at"] is not None

    verified = client.post(
        f"/v1/dsr/{request_id}/attest?execute=false", json=ATTESTATION, headers=dpo
    )
    assert verified.json()["status"] == "verified"
    assert verified.json()["verification_method"] == "id_document"

    extended = client.post(
        f"/v1/dsr/{request_id}/extend",
        json={"months": 2, "reason": "Backups at three sites must be checked."},
        headers=dpo,
    )
    assert extended.status_code == 200, extended.text
    view = extended.json()
    assert view["status"] == "extended"
    assert view["original_due_at"] is not None
    assert view["extension_notified_at"] is not None

    done = client.post(f"/v1/dsr/{request_id}/execute", headers=dpo)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"

    detail = client.get(f"/v1/dsr/{request_id}", headers=dpo).json()
    actions = [entry["action"] for entry in detail["history"]]
    assert actions == [
        "dsr.received.erasure",
        "dsr.identity_pending",
        "dsr.code_sent",
        "dsr.verified",
        "dsr.extended",
        "dsr.in_progress",
        "dsr.completed",
    ]


def test_deadline_is_one_month_from_receipt(client: TestClient, tenant: Tenant) -> None:
    body = dsr("access", received_at="2026-01-31T10:00:00Z", send_code=False)

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 201
    assert response.json()["due_at"].startswith("2026-02-28T10:00:00")
    assert response.json()["overdue"] is True


def test_overdue_report_lists_open_requests(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    late = client.post(
        "/v1/dsr",
        json=dsr("access", received_at="2026-01-01T00:00:00Z", send_code=False),
        headers=dpo,
    ).json()
    client.post("/v1/dsr", json=dsr("access", "fresh@example.org", send_code=False), headers=dpo)
    closed = client.post(
        "/v1/dsr",
        json=dsr("objection", "gone@example.org", received_at="2026-01-01T00:00:00Z"),
        headers=dpo,
    ).json()
    assert closed["status"] == "completed"

    overdue = client.get("/v1/dsr?overdue=true", headers=dpo).json()
    due_soon = client.get("/v1/dsr", params={"due_before": "2026-03-01T00:00:00Z"}, headers=dpo)

    assert [item["id"] for item in overdue] == [late["id"]]
    assert {item["id"] for item in due_soon.json()} == {late["id"], closed["id"]}


def test_extension_only_once(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr", json=dsr("access", attestation=ATTESTATION, execute=False), headers=dpo
    ).json()["id"]
    reason = {"months": 1, "reason": "The archive is held by a contractor."}

    first = client.post(f"/v1/dsr/{request_id}/extend", json=reason, headers=dpo)
    second = client.post(f"/v1/dsr/{request_id}/extend", json=reason, headers=dpo)

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"] == "invalid_state"


def test_extension_after_first_month_refused(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    body = dsr("access", attestation=ATTESTATION, execute=False, received_at="2026-01-01T00:00:00Z")
    request_id = client.post("/v1/dsr", json=body, headers=dpo).json()["id"]

    response = client.post(
        f"/v1/dsr/{request_id}/extend",
        json={"months": 2, "reason": "The archive is held by a contractor."},
        headers={**dpo, "Accept-Language": "en"},
    )

    assert response.status_code == 409
    assert "before that date" in response.json()["detail"]
    assert stored(client, request_id).original_due_at is None


def test_extension_reason_required(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr", json=dsr("access", attestation=ATTESTATION, execute=False), headers=dpo
    ).json()["id"]

    response = client.post(
        f"/v1/dsr/{request_id}/extend", json={"months": 3, "reason": "busy"}, headers=dpo
    )

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"months", "reason"}


def test_extension_notice_tells_subject(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    body = dsr("access", attestation=ATTESTATION, execute=False, locale="en")
    request_id = client.post("/v1/dsr", json=body, headers=dpo).json()["id"]
    client.post(
        f"/v1/dsr/{request_id}/extend",
        json={"months": 2, "reason": "Backups at three sites must be checked."},
        headers=dpo,
    )

    messages = deliver(client)

    assert len(messages) == 1
    assert messages[0]["To"] == ADDRESS
    assert "Backups at three sites must be checked." in text_of(messages[0])
    assert stored(client, request_id).due_at.date().isoformat() in text_of(messages[0])


def test_intake_answers_alike_for_unknown(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)

    # The page's language is given, as a form would; without it each email
    # takes the contact's language, which only the mailbox owner reads.
    known = client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "access", "email": ADDRESS, "locale": "fr"},
    )
    unknown = client.post(
        "/v1/dsr/intake",
        json={
            "form_id": tenant.form_id,
            "type": "access",
            "email": "stranger@example.org",
            "locale": "fr",
        },
    )

    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert known.json()["status"] == unknown.json()["status"] == "identity_pending"
    messages = deliver(client)
    assert sorted(message["To"] for message in messages) == [ADDRESS, "stranger@example.org"]
    assert len({message["Subject"] for message in messages}) == 1


def test_intake_code_unlocks_export(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    started = client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "access", "email": ADDRESS, "locale": "en"},
    ).json()
    code = code_in(deliver(client)[0])

    verified = client.post(f"/v1/dsr/intake/{started['request_id']}/verify", json={"code": code})

    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "completed"
    mail = deliver(client)
    assert len(mail) == 1
    link = re.search(r"https://sendguard\.test(/x/[A-Za-z0-9._-]+)", text_of(mail[0]))
    assert link is not None
    export = client.get(link.group(1))
    assert export.status_code == 200
    content = export.json()
    assert content["contact"]["email"] == ADDRESS
    assert content["request_id"] == started["request_id"]
    assert len(content["consent_history"]) == 2
    as_csv = client.get(link.group(1) + "?format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith("section,row,field,value")


def test_intake_unknown_address_gets_empty_export(client: TestClient, tenant: Tenant) -> None:
    started = client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "access", "email": "stranger@example.org"},
    ).json()
    code = code_in(deliver(client)[0])

    client.post(f"/v1/dsr/intake/{started['request_id']}/verify", json={"code": code})

    link = re.search(r"https://sendguard\.test(/x/[A-Za-z0-9._-]+)", text_of(deliver(client)[0]))
    assert link is not None
    content = client.get(link.group(1)).json()
    assert content["contact"] is None


def test_wrong_codes_lock_the_request(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    started = client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "erasure", "email": ADDRESS, "locale": "en"},
    ).json()
    real = code_in(deliver(client)[0])
    wrong = f"{(int(real) + 1) % 10**8:08d}"
    path = f"/v1/dsr/intake/{started['request_id']}/verify"

    answers = [
        client.post(path, json={"code": wrong}, headers={"Accept-Language": "en"}) for _ in range(5)
    ]
    late = client.post(path, json={"code": real})

    assert [answer.status_code for answer in answers] == [422, 422, 422, 422, 409]
    assert "tries left: 4" in answers[0].json()["detail"]
    assert late.status_code == 409
    request = stored(client, started["request_id"])
    assert request.status == "rejected"
    assert request.rejection_ground == "identity_not_verified"
    notice = deliver(client)
    assert len(notice) == 1
    assert "CNIL" in text_of(notice[0])
    with Session(engine(client)) as session:
        assert session.exec(select(Contact)).one().status != "erased"


def test_expired_code_refused(client: TestClient, tenant: Tenant) -> None:
    started = client.post(
        "/v1/dsr/intake",
        json={"form_id": tenant.form_id, "type": "access", "email": ADDRESS},
    ).json()
    code = code_in(deliver(client)[0])
    with Session(engine(client)) as session:
        request = session.get(DataSubjectRequest, started["request_id"])
        assert request is not None
        request.code_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(request)
        session.commit()

    response = client.post(
        f"/v1/dsr/intake/{started['request_id']}/verify",
        json={"code": code},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert "expired" in response.json()["detail"]
    assert stored(client, started["request_id"]).status == "identity_pending"


def test_objection_suppresses_at_once(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)

    response = client.post("/v1/dsr", json=dsr("objection"), headers=tenant.auth("dpo"))

    assert response.status_code == 201
    assert response.json()["status"] == "completed"
    assert response.json()["verification_method"] == "not_required"
    assert screen(client, tenant, [ADDRESS])["removed"] == [{"position": 0, "reason": "objection"}]
    with Session(engine(client)) as session:
        actions = [record.action for record in session.exec(select(ConsentRecord))]
    assert actions[-1] == "withdrawn"


def test_restriction_and_its_lifting(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")

    restricted = client.post(
        "/v1/dsr", json=dsr("restriction", attestation=ATTESTATION), headers=dpo
    ).json()
    assert screen(client, tenant, [ADDRESS])["removed"] == [{"position": 0, "reason": "manual"}]

    lifted = client.post(f"/v1/dsr/{restricted['id']}/lift-restriction", headers=dpo)

    assert lifted.status_code == 200
    assert "restriction_lifted_at" in lifted.json()["outcome"]
    assert screen(client, tenant, [ADDRESS])["kept"] == [ADDRESS]


def test_rectification_changes_fields(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    body = dsr("rectification", attestation=ATTESTATION, changes={"country": "ca", "name": "Dana"})

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 201, response.text
    changed = list(response.json()["outcome"]["fields_changed"].values())
    assert sorted(changed[0]) == ["country", "name"]
    with Session(engine(client)) as session:
        assert session.exec(select(Contact)).one().country == "CA"


def test_rectification_with_only_nulls_rejected(client: TestClient, tenant: Tenant) -> None:
    # {"name": null} once completed a request that corrected nothing.
    confirmed_subscriber(client, tenant, ADDRESS)
    body = dsr("rectification", attestation=ATTESTATION, changes={"name": None})

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 422
    assert "changes" in response.text


def test_rectified_address_needs_confirmation(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    confirmed_subscriber(client, tenant, "other@example.org")
    body = dsr("rectification", attestation=ATTESTATION, changes={"email": "new@example.org"})
    taken = dsr("rectification", attestation=ATTESTATION, changes={"email": "other@example.org"})

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))
    clash = client.post("/v1/dsr", json=taken, headers=tenant.auth("dpo"))

    assert response.status_code == 201, response.text
    assert clash.status_code == 201, clash.text
    assert "other@example.org" not in clash.text
    changed = list(response.json()["outcome"]["fields_changed"].values())
    assert changed == [["email_confirmation_sent"]]
    recipients = sorted(str(message["To"]) for message in deliver(client))
    assert "new@example.org" in recipients
    with Session(engine(client)) as session:
        index = services(client).indexer.current(ADDRESS).digest
        contact = session.exec(select(Contact).where(Contact.email_index == index)).one()
        assert contact.pending_email_ciphertext is not None


def test_rectification_unknown_subject_rejected(client: TestClient, tenant: Tenant) -> None:
    body = dsr(
        "rectification", "nobody@example.org", attestation=ATTESTATION, changes={"name": "N"}
    )

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "rejected"
    assert response.json()["rejection_ground"] == "no_data"


def test_rectification_needs_changes(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/dsr", json=dsr("rectification", attestation=ATTESTATION), headers=tenant.auth("dpo")
    )

    assert response.status_code == 422


def test_exception_keeps_consent_history(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    with Session(engine(client)) as session:
        contact_id = session.exec(select(Contact)).one().id
    exception = {
        "ground": "legal_claims",
        "categories": ["consent_history"],
        "note": "Dispute over consent pending before the court.",
    }
    body = dsr("erasure", attestation=ATTESTATION, exceptions=[exception])

    response = client.post("/v1/dsr", json=body, headers=tenant.auth("dpo"))

    assert response.status_code == 201, response.text
    assert response.json()["exceptions"][0]["ground"] == "legal_claims"
    assert response.json()["outcome"]["data_keys_destroyed"] == 0
    assert services(client).keystore.get_key(contact_id) is not None
    with Session(engine(client)) as session:
        contact = session.exec(select(Contact)).one()
        assert contact.email_ciphertext is None
        assert contact.status == "erased"


def test_exception_refused_for_access(client: TestClient, tenant: Tenant) -> None:
    exception = {"ground": "legal_claims", "categories": ["consent_history"], "note": "x"}

    response = client.post(
        "/v1/dsr", json=dsr("access", exceptions=[exception]), headers=tenant.auth("dpo")
    )

    assert response.status_code == 422


def test_reject_with_ground(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr", json=dsr("erasure", send_code=False, locale="en"), headers=dpo
    ).json()["id"]

    response = client.post(
        f"/v1/dsr/{request_id}/reject",
        json={"ground": "manifestly_unfounded", "note": "Third request this week."},
        headers=dpo,
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["certificate_available"] is True
    notice = deliver(client)
    assert "manifestly unfounded" in text_of(notice[0])
    again = client.post(f"/v1/dsr/{request_id}/reject", json={"ground": "excessive"}, headers=dpo)
    assert again.status_code == 409


def test_certificate_signed_and_verifiable(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr", json=dsr("erasure", attestation=ATTESTATION), headers=dpo
    ).json()["id"]

    response = client.get(f"/v1/dsr/{request_id}/certificate", headers=dpo)
    key = client.get("/v1/dsr/certificate-key").json()["public_key"]

    assert response.status_code == 200
    certificate = response.json()
    assert ADDRESS not in response.text
    assert "DPO office" not in response.text
    assert certificate["request"]["id"] == request_id
    assert certificate["actions"]["data_keys_destroyed"] == 1
    assert check_certificate(certificate, key).status == "ok"
    tampered = json.loads(response.text)
    tampered["actions"]["data_keys_destroyed"] = 0
    assert check_certificate(tampered, key).status == "bad_signature"
    other_key = services(client).signer.public_key.text[:-2] + "AA"
    assert check_certificate(certificate, other_key).status == "untrusted_key"


def test_certificate_waits_for_closure(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    request_id = client.post("/v1/dsr", json=dsr("access", send_code=False), headers=dpo).json()[
        "id"
    ]

    response = client.get(f"/v1/dsr/{request_id}/certificate", headers=dpo)

    assert response.status_code == 409


def test_import_is_idempotent(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    batch = {
        "requests": [
            dsr("access", external_ref="T-1", send_code=False, received_at="2026-11-20T08:00:00Z"),
            dsr("objection", "b@example.org", external_ref="T-2"),
            dsr("erasure", "not-an-address", external_ref="T-3"),
            dsr("access", "c@example.org"),
        ]
    }

    first = client.post("/v1/dsr/import", json=batch, headers=dpo)
    second = client.post("/v1/dsr/import", json=batch, headers=dpo)

    assert first.status_code == 200, first.text
    assert len(first.json()["created"]) == 2
    assert [(e["index"], e["field"]) for e in first.json()["errors"]] == [
        (2, "email"),
        (3, "external_ref"),
    ]
    assert second.json()["created"] == []
    assert sorted(second.json()["existing"]) == sorted(first.json()["created"])
    imported = client.get("/v1/dsr", headers=dpo).json()
    assert {item["source"] for item in imported} == {"import"}
    assert any(item["due_at"].startswith("2026-12-20T08:00:00") for item in imported)


def test_other_sender_sees_nothing(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr", json=dsr("access", attestation=ATTESTATION), headers=dpo
    ).json()["id"]
    other = make_tenant(client.app, "Autre SARL").auth("dpo")  # type: ignore[arg-type]

    responses = [
        client.get(f"/v1/dsr/{request_id}", headers=other),
        client.get(f"/v1/dsr/{request_id}/certificate", headers=other),
        client.get(f"/v1/dsr/{request_id}/export", headers=other),
        client.post(
            f"/v1/dsr/{request_id}/extend",
            json={"months": 1, "reason": "Trying another sender's id."},
            headers=other,
        ),
        client.post(f"/v1/dsr/{request_id}/reject", json={"ground": "other"}, headers=other),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert client.get("/v1/dsr", headers=other).json() == []


def test_search_by_subject(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    client.post("/v1/dsr", json=dsr("access", send_code=False), headers=dpo)
    client.post("/v1/dsr", json=dsr("access", "else@example.org", send_code=False), headers=dpo)

    found = client.post("/v1/dsr/search", json={"email": ADDRESS.upper()}, headers=dpo)

    assert found.status_code == 200
    assert len(found.json()) == 1


def test_export_for_dpo_and_expiry(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")
    request_id = client.post(
        "/v1/dsr",
        json=dsr("portability", attestation=ATTESTATION, notify_subject=False),
        headers=dpo,
    ).json()["id"]
    assert deliver(client) == []

    fresh = client.get(f"/v1/dsr/{request_id}/export", headers=dpo)
    with Session(engine(client)) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        request.export_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(request)
        session.commit()
    expired = client.get(f"/v1/dsr/{request_id}/export", headers=dpo)

    assert fresh.status_code == 200
    assert fresh.json()["portable"] is True
    assert expired.status_code == 404


def test_closed_request_key_released(client: TestClient, tenant: Tenant) -> None:
    from dsr.maintenance import run_dsr_maintenance

    confirmed_subscriber(client, tenant, ADDRESS)
    request_id = client.post(
        "/v1/dsr", json=dsr("erasure", attestation=ATTESTATION), headers=tenant.auth("dpo")
    ).json()["id"]
    keystore = services(client).keystore

    kept_while_mail_waits = run_dsr_maintenance(engine(client), services(client))
    deliver(client)
    released = run_dsr_maintenance(engine(client), services(client))

    assert kept_while_mail_waits == 0
    assert released == 1
    assert keystore.get_key(request_id) is None
    request = stored(client, request_id)
    assert request.payload_ciphertext is None
    assert request.certificate is not None


def test_audit_keeps_no_address(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    client.post("/v1/dsr", json=dsr("erasure", attestation=ATTESTATION), headers=tenant.auth("dpo"))

    with Session(engine(client)) as session:
        texts = [
            f"{event.actor} {event.action} {event.object_id}"
            for event in session.exec(select(AuditEvent))
        ]
        entries = session.exec(select(SuppressionEntry)).all()

    assert texts
    assert all(ADDRESS not in text and "dana" not in text for text in texts)
    assert all(entry.reason in ("erased",) for entry in entries)


def test_erasure_under_list_lock(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    list_id = create_list(client, tenant)
    added = client.post(
        f"/v1/lists/{list_id}/members", json={"add": [ADDRESS]}, headers=tenant.auth("sender")
    )
    assert added.status_code == 200, added.text
    send_campaign(client, tenant, [list_id], datetime.now(UTC) - timedelta(days=1))

    erased = client.post(
        "/v1/dsr", json=dsr("erasure", attestation=ATTESTATION), headers=tenant.auth("dpo")
    )
    deleting = client.delete(f"/v1/lists/{list_id}", headers=tenant.auth("sender"))

    assert erased.status_code == 201, erased.text
    assert erased.json()["outcome"]["memberships_deleted"] == 1
    assert deleting.status_code == 409
    assert deleting.json()["error"] == "list_locked"


def test_export_download_is_inert(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS)
    dpo = tenant.auth("dpo")
    renamed = client.post(
        "/v1/dsr",
        json=dsr("rectification", attestation=ATTESTATION, changes={"name": "<script>x</script>"}),
        headers=dpo,
    )
    assert renamed.status_code == 201, renamed.text
    request_id = client.post(
        "/v1/dsr", json=dsr("access", attestation=ATTESTATION, notify_subject=False), headers=dpo
    ).json()["id"]

    as_json = client.get(f"/v1/dsr/{request_id}/export", headers=dpo)
    as_csv = client.get(f"/v1/dsr/{request_id}/export?format=csv", headers=dpo)

    assert as_json.headers["x-content-type-options"] == "nosniff"
    assert as_json.headers["content-disposition"].startswith("attachment")
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["contact"]["name"] == "<script>x</script>"
    assert as_csv.headers["x-content-type-options"] == "nosniff"


def test_import_reused_reference_reported(client: TestClient, tenant: Tenant) -> None:
    dpo = tenant.auth("dpo")
    batch = {
        "requests": [
            dsr("access", "hugo@example.org", external_ref="LETTER-1", send_code=False),
            dsr("access", "ivan@example.org", external_ref="LETTER-1", send_code=False),
            dsr("erasure", "hugo@example.org", external_ref="LETTER-1", send_code=False),
        ]
    }

    result = client.post("/v1/dsr/import", json=batch, headers=dpo).json()

    assert len(result["created"]) == 1
    assert [(error["index"], error["field"], error["error"]) for error in result["errors"]] == [
        (1, "external_ref", "external_ref_conflict"),
        (2, "external_ref", "external_ref_conflict"),
    ]
    found = client.post("/v1/dsr/search", json={"email": "ivan@example.org"}, headers=dpo)
    assert found.json() == []


def test_emails_use_contact_language(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, ADDRESS, locale="en")

    client.post("/v1/dsr", json=dsr("erasure", attestation=ATTESTATION), headers=tenant.auth("dpo"))

    subjects = [str(message["Subject"]) for message in deliver(client)]
    assert subjects == ["Your request to Exemple SAS is complete"]
