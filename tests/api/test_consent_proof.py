"""Consent proof: history, receipts, chain verification, signed checkpoints, lawful basis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from compliance.app import create_app
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from consent import ledger
from consent.maintenance import run_maintenance
from consent.models import ConsentRecord
from tests.api.conftest import Tenant, deliver, link_in, make_tenant, signup

ADDRESS = "camille@example.org"


def _confirm(client: TestClient, tenant: Tenant, address: str = ADDRESS) -> str:
    """Subscribe from one client and confirm from another; return the contact id."""
    client.post(
        "/v1/subscribe",
        json=signup(tenant.form_id, address),
        headers={"User-Agent": "SignupBrowser/1.0"},
    )
    confirmation = deliver(client)[0]
    client.post(link_in(confirmation, "/c/"), headers={"User-Agent": "PhoneMail/2.0"})
    deliver(client)
    return _lookup(client, tenant, address)


def _lookup(client: TestClient, tenant: Tenant, address: str) -> str:
    found = client.post("/v1/contacts/lookup", json={"email": address}, headers=tenant.auth("dpo"))
    assert found.status_code == 200, found.text
    contact_id: str = found.json()["contact_id"]
    return contact_id


def _engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def test_history_keeps_signup_and_confirmation_clients_apart(
    client: TestClient, tenant: Tenant
) -> None:
    contact_id = _confirm(client, tenant)

    for role in ("sender", "dpo"):
        response = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth(role))
        assert response.status_code == 200, response.text
    history = response.json()

    given, confirmed = history["records"]
    assert (given["action"], confirmed["action"]) == ("given", "confirmed")
    assert given["user_agent"] == "SignupBrowser/1.0"
    assert confirmed["user_agent"] == "PhoneMail/2.0"
    assert confirmed["confirms_record_id"] == given["id"]
    assert given["wording_version"] == "2026-11"
    assert given["privacy_policy_url"] == "https://example.org/privacy"
    assert history["records_intact"] is True
    assert history["basis_now"]["valid"] is True
    assert history["basis_now"]["code"] == "consent_confirmed"


def test_history_of_another_senders_contact_is_not_found(
    client: TestClient, tenant: Tenant
) -> None:
    contact_id = _confirm(client, tenant)
    other = make_tenant(client.app)  # type: ignore[arg-type]

    for path in (
        f"/v1/contacts/{contact_id}/consent",
        f"/v1/contacts/{contact_id}/consent/receipt",
    ):
        response = client.get(path, headers=other.auth("dpo"))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_erasure_leaves_a_verifiable_chain_without_personal_data(
    client: TestClient, tenant: Tenant
) -> None:
    contact_id = _confirm(client, tenant)
    erased = client.post(
        "/v1/dsr",
        json={
            "type": "erasure",
            "email": ADDRESS,
            "attestation": {
                "verified_by": "dpo@example.org",
                "method": "signed_letter",
                "verified_at": datetime.now(UTC).isoformat(),
            },
        },
        headers=tenant.auth("dpo"),
    )
    assert erased.status_code in (200, 201), erased.text

    history = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo")).json()
    assert all(
        record["ip"] is None and record["user_agent"] is None for record in history["records"]
    )
    assert all(record["personal_erased"] for record in history["records"])
    chain = client.get("/v1/consent/verify", headers=tenant.auth("admin")).json()
    assert chain["intact"] is True
    assert chain["records"] >= 2


def test_verify_reports_the_first_tampered_record(client: TestClient, tenant: Tenant) -> None:
    _confirm(client, tenant, "one@example.org")
    _confirm(client, tenant, "two@example.org")
    with Session(_engine(client)) as session:
        ids = list(session.exec(select(ConsentRecord.id).order_by(col(ConsentRecord.id))))
        # Someone edits the basis of the third record in the database.
        session.exec(  # type: ignore[call-overload]
            update(ConsentRecord).where(col(ConsentRecord.id) == ids[2]).values(source="import")
        )
        session.commit()

    report = client.get("/v1/consent/verify", headers=tenant.auth("dpo")).json()

    assert report["intact"] is False
    assert report["first_broken_record_id"] == ids[2]
    assert client.get("/v1/consent/verify", headers=tenant.auth("sender")).status_code == 403


def _rewrite_whole_chain(client: TestClient, sender_id: str, record_id: int) -> None:
    """Tamper with one record and recompute every later hash, as an attacker with the DB could."""
    with Session(_engine(client)) as session:
        records = list(
            session.exec(
                select(ConsentRecord)
                .where(ConsentRecord.sender_id == sender_id)
                .order_by(col(ConsentRecord.id))
            )
        )
        previous = ledger.GENESIS_HASH
        for record in records:
            if record.id == record_id:
                record.lawful_basis = "soft_opt_in"
            record.prev_hash = previous
            record.record_hash = ledger.record_hash(record)
            previous = record.record_hash
            session.add(record)
        session.commit()


def test_checkpoint_detects_a_rewrite_of_the_whole_chain(
    client: TestClient, tenant: Tenant
) -> None:
    _confirm(client, tenant)
    made = client.post("/v1/consent/checkpoints", headers=tenant.auth("admin"))
    assert made.status_code == 201, made.text
    statement = made.json()
    assert statement["record_count"] == 2
    assert statement["chain_intact"] is True

    fine = client.post("/v1/consent/checkpoints/verify", json=statement, headers=tenant.auth("dpo"))
    assert fine.json() == {
        "checkpoint_id": statement["id"],
        "status": "ok",
        "ok": True,
        "signed_by_this_installation": True,
    }

    _rewrite_whole_chain(client, tenant.sender_id, statement["head_record_id"] - 1)
    # The rewritten chain is consistent with itself ...
    assert client.get("/v1/consent/verify", headers=tenant.auth("dpo")).json()["intact"] is True
    # ... but no longer holds the signed head.
    caught = client.post(
        "/v1/consent/checkpoints/verify", json=statement, headers=tenant.auth("dpo")
    ).json()
    assert caught["status"] == "head_changed"
    assert caught["ok"] is False


def test_checkpoint_signature_and_sender_are_checked(client: TestClient, tenant: Tenant) -> None:
    _confirm(client, tenant)
    statement = client.post("/v1/consent/checkpoints", headers=tenant.auth("admin")).json()
    verify = "/v1/consent/checkpoints/verify"

    forged = {**statement, "record_count": statement["record_count"] + 1}
    assert client.post(verify, json=forged, headers=tenant.auth("dpo")).json()["status"] == (
        "bad_signature"
    )
    other = make_tenant(client.app)  # type: ignore[arg-type]
    assert client.post(verify, json=statement, headers=other.auth("dpo")).json()["status"] == (
        "wrong_sender"
    )
    assert client.post("/v1/consent/checkpoints", headers=tenant.auth("dpo")).status_code == 403


def test_receipt_from_the_confirmation_email(client: TestClient, tenant: Tenant) -> None:
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS))
    confirmation = deliver(client)[0]
    receipt_path = link_in(confirmation, "/r/")
    client.post(link_in(confirmation, "/c/"))

    response = client.get(receipt_path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    receipt = response.json()
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["piiControllers"][0]["piiController"] == "Exemple SAS"
    assert receipt["policyUrl"] == "https://example.org/privacy"
    assert receipt["services"][0]["purposes"][0]["purpose"] == "Newsletter"
    assert receipt["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert receipt["sendguard"]["confirmed_at"] is not None
    assert receipt["sendguard"]["valid_now"] is True
    assert "camille" not in response.text
    # The receipt id is the confirmation record's hash: it ties the receipt to the chain.
    contact_id = _lookup(client, tenant, ADDRESS)
    history = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo")).json()
    assert receipt["consentReceiptID"] == history["records"][-1]["record_hash"]
    api = client.get(f"/v1/contacts/{contact_id}/consent/receipt", headers=tenant.auth("sender"))
    assert api.json()["consentReceiptID"] == receipt["consentReceiptID"]


def _record(client: TestClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {
        "email": "client@example.org",
        "topics": ["newsletter"],
        "consent_text": "Offers by email; unsubscribe at any time.",
        "consent_text_version": "shop-1",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "3",
        "double_opt_in": False,
        **fields,
    }
    response = client.post("/v1/consents", json=body, headers=tenant.auth("sender"))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_soft_opt_in_needs_opt_out(client: TestClient, tenant: Tenant) -> None:
    sale = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    without = _record(
        client,
        tenant,
        lawful_basis="soft_opt_in",
        source="purchase",
        country="FR",
        relationship_at=sale,
        opt_out_offered=False,
    )
    assert without["basis_now"]["valid"] is False
    assert without["basis_now"]["rule"] == "EP-02"

    offered = _record(
        client,
        tenant,
        email="other@example.org",
        lawful_basis="soft_opt_in",
        source="purchase",
        country="FR",
        relationship_at=sale,
        opt_out_offered=True,
    )
    assert offered["basis_now"]["valid"] is True
    assert offered["basis_now"]["basis"] == "soft_opt_in"
    assert deliver(client) == []


def test_survey_consent_counts_only_after_confirmation(client: TestClient, tenant: Tenant) -> None:
    recorded = _record(client, tenant, lawful_basis="consent", source="survey", double_opt_in=True)
    assert recorded["status"] == "pending"
    assert recorded["basis_now"]["valid"] is False

    client.post(link_in(deliver(client)[0], "/c/"))
    history = client.get(
        f"/v1/contacts/{recorded['contact_id']}/consent", headers=tenant.auth("sender")
    ).json()
    assert history["basis_now"]["valid"] is True


def test_casl_inquiry_expires_after_six_months(client: TestClient, tenant: Tenant) -> None:
    old_inquiry = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    recorded = _record(
        client,
        tenant,
        lawful_basis="casl_implied_inquiry",
        source="inquiry",
        regime="casl",
        country="CA",
        relationship_at=old_inquiry,
    )
    assert recorded["basis_now"]["valid"] is False
    assert recorded["basis_now"]["code"] == "casl_implied_expired"
    assert recorded["basis_now"]["regime"] == "casl"


def test_imported_consent_without_proof_is_flagged(client: TestClient, tenant: Tenant) -> None:
    recorded = _record(
        client,
        tenant,
        lawful_basis="soft_opt_in",
        source="import",
        has_proof=False,
        country="FR",
        opt_out_offered=True,
        relationship_at=(datetime.now(UTC) - timedelta(days=5)).isoformat(),
    )
    assert recorded["basis_now"]["valid"] is True
    assert "imported_without_proof" in recorded["basis_now"]["flags"]

    screened = client.post(
        "/v1/screen",
        json={"recipients": ["client@example.org"], "require_consent": True},
        headers=tenant.auth("sender"),
    ).json()
    assert screened["kept"] == ["client@example.org"]
    assert screened["flagged"] == [
        {"position": 0, "reason": "basis_warning", "detail": "imported_without_proof"}
    ]


def test_record_consent_rejects_undeclared_topic_and_future_dates(
    client: TestClient, tenant: Tenant
) -> None:
    body = {
        "email": "x@example.org",
        "topics": ["secret-list"],
        "lawful_basis": "consent",
        "consent_text": "t",
        "consent_text_version": "1",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "1",
    }
    refused = client.post("/v1/consents", json=body, headers=tenant.auth("sender"))
    assert refused.status_code == 422
    assert refused.json()["field"] == "topics"

    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body.update(topics=["newsletter"], relationship_at=future)
    late = client.post("/v1/consents", json=body, headers=tenant.auth("sender"))
    assert late.status_code == 422
    assert "relationship_at" in json.dumps(late.json())


def test_screening_keeps_only_recipients_with_a_valid_basis(
    client: TestClient, tenant: Tenant
) -> None:
    _confirm(client, tenant, "confirmed@example.org")
    client.post("/v1/subscribe", json=signup(tenant.form_id, "pending@example.org"))
    deliver(client)
    sale = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    _record(
        client,
        tenant,
        email="customer@example.org",
        lawful_basis="soft_opt_in",
        source="purchase",
        country="FR",
        relationship_at=sale,
        opt_out_offered=True,
    )

    response = client.post(
        "/v1/screen",
        json={
            "recipients": [
                "confirmed@example.org",
                "pending@example.org",
                "customer@example.org",
                "stranger@example.org",
            ],
            "require_consent": True,
        },
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 200, response.text
    result = response.json()
    # Regression seen elsewhere: an unconfirmed address screened as sendable.
    assert result["kept"] == ["confirmed@example.org", "customer@example.org"]
    assert result["counts"]["no_basis"] == 2
    # Each refusal gives its reason by position and code, never by address.
    assert sorted(result["removed"], key=lambda item: item["position"]) == [
        {"position": 1, "reason": "no_basis", "detail": "consent_unconfirmed"},
        {"position": 3, "reason": "no_basis", "detail": "no_contact"},
    ]


def test_scheduled_checkpoint_once_per_interval(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    app = create_app(
        settings.model_copy(update={"consent_checkpoint_dir": folder}),
        run_worker=False,
        configure_logs=False,
    )
    with TestClient(app) as client:
        tenant = make_tenant(app)
        _confirm(client, tenant)
        engine, services = app.state.engine, app.state.services

        assert run_maintenance(engine, services).checkpoints_written == 1
        assert run_maintenance(engine, services).checkpoints_written == 0
        later = utcnow() + timedelta(hours=25)
        assert run_maintenance(engine, services, later).checkpoints_written == 1

        files = sorted((folder / tenant.sender_id).glob("*.json"))
        assert len(files) == 2
        statement = json.loads(files[0].read_text())
        check = client.post(
            "/v1/consent/checkpoints/verify", json=statement, headers=tenant.auth("dpo")
        )
        assert check.json()["status"] == "ok"


def test_relationship_basis_needs_a_matching_source(client: TestClient, tenant: Tenant) -> None:
    body = {
        "email": "winner@example.org",
        "topics": ["newsletter"],
        "lawful_basis": "soft_opt_in",
        "source": "contest",
        "opt_out_offered": True,
        "relationship_at": "2026-11-01T00:00:00Z",
        "country": "FR",
        "consent_text": "t",
        "consent_text_version": "1",
        "privacy_policy_url": "https://example.org/privacy",
        "privacy_policy_version": "1",
    }
    refused = client.post(
        "/v1/consents", json=body, headers={**tenant.auth("sender"), "Accept-Language": "en"}
    )

    assert refused.status_code == 422
    assert "source does not fit lawful_basis" in refused.text
    body["source"] = "purchase"
    accepted = client.post("/v1/consents", json=body, headers=tenant.auth("sender"))
    assert accepted.status_code == 201
