"""The sender and key commands as real processes, including their failure exits."""

from __future__ import annotations

import subprocess

from compliance.core.settings import Settings
from tests.support.cli import BIN, environment, run_cli


def fields(output: str) -> dict[str, str]:
    return {
        key.strip(): value.strip()
        for key, value in (line.split(":", 1) for line in output.splitlines())
    }


def test_sender_and_key_lifecycle(settings: Settings) -> None:
    created = run_cli(
        settings,
        "sender",
        "create",
        "Librairie Exemple",
        "--postal-address",
        "12 rue des Lilas\n69003 Lyon",
    )
    assert created.returncode == 0, created.stderr
    sender = fields(created.stdout)

    listed = run_cli(settings, "key", "list", "--sender", sender["sender_id"])
    revoked = run_cli(settings, "key", "revoke", sender["key_id"], "--sender", sender["sender_id"])
    after = run_cli(settings, "key", "list", "--sender", sender["sender_id"])

    assert sender["admin key"].startswith("sg_")
    assert sender["key_id"] in listed.stdout
    assert "active" in listed.stdout
    assert sender["admin key"] not in listed.stdout
    assert revoked.returncode == 0
    assert "revoked" in after.stdout


def test_sender_create_rejects_unsafe_name(settings: Settings) -> None:
    result = run_cli(settings, "sender", "create", "Evil\r\nBcc: victim@example.org")

    assert result.returncode == 2
    assert "control character" in result.stderr
    assert "victim" not in result.stderr


def test_key_revoke_unknown_is_usage_error(settings: Settings) -> None:
    created = fields(run_cli(settings, "sender", "create", "A").stdout)

    result = run_cli(settings, "key", "revoke", "no-such-key", "--sender", created["sender_id"])

    assert result.returncode == 2


def test_invalid_setting_named_by_variable(settings: Settings) -> None:
    # The raw validator output named the Python field and linked to a website.
    env = {**environment(settings), "SENDGUARD_DATABASE_POOL_SIZE": "0"}

    result = subprocess.run(
        [str(BIN / "sendguard"), "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert "SENDGUARD_DATABASE_POOL_SIZE is invalid" in result.stderr
    assert "greater than or equal to 1" in result.stderr
    assert "https://" not in result.stderr
