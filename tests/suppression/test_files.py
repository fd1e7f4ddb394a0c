"""Suppression imports and exports through the API, on real ESP sample files."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Tenant
from tests.api.test_unsubscribe_and_screen import confirmed_subscriber, screen

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
MAILCHIMP = CORPUS / "exports" / "mailchimp"


def upload(client: TestClient, tenant: Tenant, content: bytes, **params: Any) -> Any:
    response = client.post(
        "/v1/suppressions/import", content=content, params=params, headers=tenant.auth("sender")
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_mailchimp_unsubscribed_import(client: TestClient, tenant: Tenant) -> None:
    path = MAILCHIMP / "unsubscribed_members_export_a1b2c3d4e5.csv"

    report = upload(client, tenant, path.read_bytes(), filename=path.name)

    assert report["format"] == "mailchimp_csv"
    assert report["imported"] == 3
    assert report["rejected_count"] == 0
    result = screen(
        client,
        tenant,
        ["dev.sample@example.com", "eli.placeholder@example.org", "autre@example.org"],
    )
    assert result["kept"] == ["autre@example.org"]
    assert result["counts"]["unsubscribe"] == 2


def test_import_is_idempotent(client: TestClient, tenant: Tenant) -> None:
    path = MAILCHIMP / "unsubscribed_members_export_a1b2c3d4e5.csv"
    upload(client, tenant, path.read_bytes(), filename=path.name)

    again = upload(client, tenant, path.read_bytes(), filename=path.name)

    assert again["imported"] == 0
    assert again["already_present"] == 3


def test_subscribed_export_never_resubscribes(client: TestClient, tenant: Tenant) -> None:
    """A weekly re-import of subscribed members re-subscribed people who had left."""
    links = confirmed_subscriber(client, tenant, "dev.sample@example.com")
    client.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click")
    path = MAILCHIMP / "subscribed_members_export_a1b2c3d4e5.csv"

    report = upload(client, tenant, path.read_bytes(), filename=path.name)

    assert report["imported"] == 0
    assert report["not_applied"] >= 1
    assert screen(client, tenant, ["dev.sample@example.com"])["removed_count"] == 1


def test_rejected_lines_have_numbers(client: TestClient, tenant: Tenant) -> None:
    content = (
        b"email,reason\nok@example.org,unsubscribe\n"
        b'not-an-address,unsubscribe\n"bad@@example.org",complaint\n'
    )

    report = upload(client, tenant, content, format="generic_csv")

    assert report["imported"] == 1
    assert report["rejected_count"] == 2
    assert [item["line"] for item in report["rejected"]] == [3, 4]
    assert all(item["field"] == "email" for item in report["rejected"])
    assert "not-an-address" not in str(report["rejected"])


REJECTED_LINES = b"email,reason\nnot-an-address,unsubscribe\nok@example.org,vacances\n"


def rejected_messages(client: TestClient, tenant: Tenant, language: str) -> list[str]:
    response = client.post(
        "/v1/suppressions/import",
        content=REJECTED_LINES,
        params={"format": "generic_csv"},
        headers={**tenant.auth("sender"), "Accept-Language": language},
    )
    assert response.status_code == 200, response.text
    return [item["message"] for item in response.json()["rejected"]]


def test_rejected_messages_in_english(client: TestClient, tenant: Tenant) -> None:
    messages = rejected_messages(client, tenant, "en")

    assert messages[0] == "the address is not a valid email address"
    assert messages[1].startswith("the reason is not one of: ")
    assert "unsubscribe" in messages[1]


def test_rejected_messages_in_french(client: TestClient, tenant: Tenant) -> None:
    messages = rejected_messages(client, tenant, "fr-FR,fr;q=0.9")

    assert messages[0] == "l'adresse n'est pas une adresse e-mail valide"
    # The parameters are filled in the French text too.
    assert messages[1].startswith("le champ reason ne vaut aucune de ces valeurs : ")
    assert "unsubscribe" in messages[1]
    # The rejected value is never echoed.
    assert "vacances" not in " ".join(messages)


def test_parser_faults_in_french(client: TestClient, tenant: Tenant) -> None:
    # The csv module and the JSON paths once put English words in French text.
    cases = [
        (b'email,reason\n"ok@example.org,unsubscribe\n', "generic_csv"),
        (b'{"members": 3}', "generic_json"),
    ]
    messages = []
    for content, name in cases:
        response = client.post(
            "/v1/suppressions/import",
            content=content,
            params={"format": name, "lang": "fr"},
            headers=tenant.auth("sender"),
        )
        assert response.status_code == 200, response.text
        messages += [item["message"] for item in response.json()["rejected"]]

    assert messages == [
        "la ligne CSV est mal formée : une cellule entre guillemets n'est pas refermée",
        "le document JSON n'a de tableau à aucun de ces emplacements : $",
    ]


def test_scope_ref_parameter_names_the_group(client: TestClient, tenant: Tenant) -> None:
    # The fault message asks for scope_ref, and the route once ignored it.
    content = b"email,created\nmartin@example.org,1700000000\n"

    without = upload(client, tenant, content, format="sendgrid_group_unsubscribes_csv")
    with_group = upload(
        client, tenant, content, format="sendgrid_group_unsubscribes_csv", scope_ref="12345"
    )

    assert [item["fault"] for item in without["rejected"]] == ["scope_ref_required"]
    assert with_group["rejected_count"] == 0
    assert with_group["imported"] == 1


def test_unknown_format_is_422(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/suppressions/import",
        content=b"whatever",
        params={"format": "nope"},
        headers=tenant.auth("sender"),
    )

    assert response.status_code == 422
    assert response.json()["field"] == "format"


def export(client: TestClient, tenant: Tenant, **params: Any) -> list[list[str]]:
    response = client.get("/v1/suppressions/export", params=params, headers=tenant.auth("sender"))
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text)))


def test_export_filters_by_reason(client: TestClient, tenant: Tenant) -> None:
    """An export of unsubscribed contacts exported everyone."""
    upload(
        client,
        tenant,
        b"email,reason\nu@example.org,unsubscribe\nc@example.org,complaint\n",
        format="generic_csv",
    )

    rows = export(client, tenant, format="generic_csv", reason="unsubscribe")

    assert len(rows) == 2
    assert rows[1][rows[0].index("reason")] == "unsubscribe"


def test_export_neutralises_formulas(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, "=cmd@example.org")
    client.post(
        "/v1/suppressions",
        json={"email": "=cmd@example.org", "reason": "manual"},
        headers=tenant.auth("sender"),
    )

    rows = export(client, tenant, format="generic_csv")

    emails = [row[0] for row in rows[1:]]
    assert emails == ["'=cmd@example.org"]


def test_erased_subject_exported_hashed_only(client: TestClient, tenant: Tenant) -> None:
    confirmed_subscriber(client, tenant, "efface@example.org")
    client.post(
        "/v1/dsr",
        json={
            "type": "erasure",
            "email": "efface@example.org",
            "attestation": {
                "verified_by": "DPO",
                "method": "other",
                "verified_at": "2026-01-01T00:00:00Z",
            },
        },
        headers=tenant.auth("dpo"),
    )

    rows = export(client, tenant, format="generic_csv")

    assert len(rows) == 2
    assert rows[1][0] == ""
    assert len(rows[1][1]) == 64
    assert "efface" not in str(rows)
