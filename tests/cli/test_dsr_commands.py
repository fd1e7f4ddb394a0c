"""``sendguard dsr`` as real processes: create, list, extend, reject, import, certificates."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from compliance.app import create_app
from compliance.core.settings import Settings
from tests.api.conftest import make_tenant
from tests.support.cli import run_cli


def _sender(settings: Settings) -> str:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(app):
        return make_tenant(app).sender_id


def _request_id(output: str) -> str:
    # "created <id>  <type> ..." is the first line of `dsr create`.
    return output.split()[1]


def _erasure(settings: Settings, sender: str) -> str:
    """Record a completed erasure through the CLI; return the request id."""
    created = run_cli(
        settings,
        "dsr", "create", "--sender", sender, "--type", "erasure",
        "--email", "dana@example.org", "--verified-by", "DPO", "--method", "in_person",
    )  # fmt: skip
    return _request_id(created.stdout)


def test_create_reads_address_from_stdin(settings: Settings) -> None:
    sender = _sender(settings)

    created = run_cli(
        settings,
        "dsr", "create", "--sender", sender, "--type", "erasure", "--verified-by", "DPO",
        stdin="dana@example.org\n",
    )  # fmt: skip

    assert created.returncode == 0, created.stderr
    assert "erasure" in created.stdout
    assert "completed" in created.stdout
    assert "dana@example.org" not in created.stdout + created.stderr


def test_certificate_round_trip(settings: Settings, tmp_path: Path) -> None:
    sender = _sender(settings)
    request_id = _erasure(settings, sender)
    path = tmp_path / "certificate.json"

    saved = run_cli(
        settings, "dsr", "certificate", "--sender", sender, request_id, "--out", str(path)
    )
    checked = run_cli(settings, "dsr", "verify-certificate", str(path))
    key = run_cli(settings, "dsr", "public-key").stdout.strip()
    offline = run_cli(settings, "dsr", "verify-certificate", str(path), "--public-key", key)
    content = json.loads(path.read_text())
    content["actions"]["contacts_erased"] = ["forged"]
    path.write_text(json.dumps(content))
    forged = run_cli(settings, "dsr", "verify-certificate", str(path))
    garbage = run_cli(settings, "dsr", "verify-certificate", str(path), "--public-key", "garbage")

    assert saved.returncode == 0, saved.stderr
    assert checked.returncode == 0, checked.stdout
    assert f"certificate of request {request_id}: ok" in checked.stdout
    assert offline.returncode == 0
    assert forged.returncode == 1
    assert "bad_signature" in forged.stdout
    assert garbage.returncode == 2
    assert "not an Ed25519 public key" in garbage.stderr


def test_dash_key_read_as_value(settings: Settings, tmp_path: Path) -> None:
    # Base64url keys start with "-" once in 64; argparse used to read such a
    # key as an option and stop with "expected one argument" (exit 2).
    sender = _sender(settings)
    request_id = _erasure(settings, sender)
    path = tmp_path / "certificate.json"
    run_cli(settings, "dsr", "certificate", "--sender", sender, request_id, "--out", str(path))
    other_key = "-" + "A" * 42

    checked = run_cli(settings, "dsr", "verify-certificate", str(path), "--public-key", other_key)

    assert checked.returncode == 1, checked.stderr
    assert "untrusted_key" in checked.stdout


def test_key_without_value_usage_error(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "certificate.json"
    path.write_text("{}")

    checked = run_cli(settings, "dsr", "verify-certificate", str(path), "--public-key")

    assert checked.returncode == 2
    assert "--public-key: expected one argument" in checked.stderr


def test_overdue_list_exits_one(settings: Settings) -> None:
    sender = _sender(settings)
    run_cli(
        settings,
        "dsr", "create", "--sender", sender, "--type", "access", "--email", "late@example.org",
        "--received-at", "2026-01-05", "--no-code",
    )  # fmt: skip

    overdue = run_cli(settings, "dsr", "list", "--sender", sender, "--overdue")
    as_json = run_cli(settings, "dsr", "list", "--sender", sender, "--json")

    assert overdue.returncode == 1
    assert "OVERDUE" in overdue.stdout
    assert "1 request(s)" in overdue.stdout
    assert json.loads(as_json.stdout.splitlines()[0])["due_at"].startswith("2026-02-05")


def test_extend_then_reject(settings: Settings) -> None:
    sender = _sender(settings)
    created = run_cli(
        settings,
        "dsr", "create", "--sender", sender, "--type", "access", "--email", "a@example.org",
        "--verified-by", "DPO", "--no-execute",
    )  # fmt: skip
    request_id = _request_id(created.stdout)

    extended = run_cli(
        settings,
        "dsr", "extend", "--sender", sender, request_id, "--months", "2",
        "--reason", "Records are kept by a contractor.",
    )  # fmt: skip
    again = run_cli(
        settings,
        "dsr", "extend", "--sender", sender, request_id, "--months", "1",
        "--reason", "Records are kept by a contractor.",
    )  # fmt: skip
    rejected = run_cli(
        settings, "dsr", "reject", "--sender", sender, request_id, "--ground", "excessive"
    )
    shown = run_cli(settings, "dsr", "show", "--sender", sender, request_id)

    assert extended.returncode == 0, extended.stderr
    assert "extended" in extended.stdout
    assert again.returncode == 2
    assert "one extension" in again.stderr
    assert rejected.returncode == 0
    assert json.loads(shown.stdout)["status"] == "rejected"


def test_import_reports_bad_lines(settings: Settings, tmp_path: Path) -> None:
    sender = _sender(settings)
    lines = [
        {"type": "access", "email": "a@example.org", "external_ref": "R-1", "send_code": False},
        {"type": "erasure", "email": "bad", "external_ref": "R-2"},
        {"type": "access", "email": "c@example.org"},
    ]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    first = run_cli(settings, "dsr", "import", "--sender", sender, str(path))
    second = run_cli(settings, "dsr", "import", "--sender", sender, str(path))

    assert first.returncode == 1
    assert "created: 1, already recorded: 0, rejected lines: 2" in first.stdout
    assert "line 2: invalid email" in first.stderr
    assert "line 3: missing external_ref" in first.stderr
    assert "bad" not in first.stderr.replace("line", "")
    assert "created: 0, already recorded: 1" in second.stdout


def test_unknown_request_is_usage_error(settings: Settings) -> None:
    sender = _sender(settings)

    shown = run_cli(settings, "dsr", "show", "--sender", sender, "no-such-id")

    assert shown.returncode == 2
    assert "not found" in shown.stderr
