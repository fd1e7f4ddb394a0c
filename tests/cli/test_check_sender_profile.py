"""``sendguard check`` with a sender profile: the stored sender, explicit options, countries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.core.settings import Settings
from tests.support.cli import run_cli

DATA = Path(__file__).resolve().parents[1] / "e2e" / "data"
MESSAGE = str(DATA / "campaign-compliant.eml")
# The footer address of campaign-compliant.eml.
FOOTER_ADDRESS = "12 rue des Lilas, 69003 Lyon"


def new_sender(settings: Settings, name: str, address: str) -> str:
    created = run_cli(settings, "sender", "create", name, "--postal-address", address)
    assert created.returncode == 0, created.stderr
    return created.stdout.split("sender_id:")[1].split()[0]


def check(settings: Settings, *options: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(
        settings, "check", MESSAGE, "--from-domain", "news.example.com", "--no-dns", "--json",
        *options,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def findings(report: dict[str, Any], rule: str) -> dict[str, Any]:
    return {item["check"]: item for item in report["findings"] if item["rule"] == rule}


def test_without_profile_no_comparison(settings: Settings) -> None:
    _, report = check(settings)

    assert findings(report, "US-02") == {}
    assert findings(report, "CA-05")["identity.missing"]["severity"] == "warn"


def test_stored_sender_address_compared(settings: Settings) -> None:
    same = new_sender(settings, "Librairie Exemple", FOOTER_ADDRESS)
    moved = new_sender(settings, "Librairie Exemple", "8 quai Saint-Vincent, 69001 Lyon")

    _, matching = check(settings, "--sender-id", same)
    _, differing = check(settings, "--sender-id", moved)

    assert "address.matches_registered" in findings(matching, "US-02")
    assert findings(differing, "US-02")["address.differs_from_registered"]["severity"] == "warn"
    assert findings(matching, "CA-05")["identity.found"]["severity"] == "info"


def test_explicit_options_override_stored_sender(settings: Settings) -> None:
    moved = new_sender(settings, "Autre nom SAS", "8 quai Saint-Vincent, 69001 Lyon")

    _, report = check(
        settings,
        "--sender-id", moved,
        "--postal-address", FOOTER_ADDRESS,
        "--legal-name", "Librairie Exemple",
    )  # fmt: skip

    assert "address.matches_registered" in findings(report, "US-02")
    assert "identity.found" in findings(report, "CA-05")


def test_options_without_database(settings: Settings) -> None:
    _, report = check(
        settings, "--postal-address", "8 quai Saint-Vincent, 69001 Lyon", "--advertising-consent"
    )

    assert "address.differs_from_registered" in findings(report, "US-02")
    # With prior affirmative consent, no advertisement label is needed.
    assert findings(report, "US-07") == {}


def test_canadian_recipients_block_without_contact(settings: Settings) -> None:
    code, report = check(settings, "--recipient-country", "ca")
    unknown_code, unknown = check(settings)

    assert code == 1
    assert findings(report, "CA-06")["contact_info.missing"]["severity"] == "block"
    assert unknown_code == 0
    assert findings(unknown, "CA-06")["contact_info.missing"]["severity"] == "info"


def test_unknown_sender_id_is_usage_error(settings: Settings) -> None:
    result = run_cli(
        settings, "check", MESSAGE, "--from-domain", "news.example.com", "--no-dns",
        "--sender-id", "no-such-sender",
    )  # fmt: skip

    assert result.returncode == 2
    assert "Sender no-such-sender not found." in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("country", ["Canada", "XX"])
def test_invalid_country_is_usage_error(settings: Settings, country: str) -> None:
    result = run_cli(
        settings, "check", MESSAGE, "--from-domain", "news.example.com", "--no-dns",
        "--recipient-country", country,
    )  # fmt: skip

    assert result.returncode == 2
    assert "two-letter ISO 3166-1 code" in result.stderr
