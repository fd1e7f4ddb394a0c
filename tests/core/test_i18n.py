"""Catalogs: every marked string has a French translation; locale negotiation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from compliance.core.i18n import negotiate_locale, translate

REPO_ROOT = Path(__file__).resolve().parents[2]
FRENCH_CATALOGS = sorted(
    path
    for package in ("compliance", "consent", "suppression", "dsr")
    for path in (REPO_ROOT / package).glob("**/locales/fr/LC_MESSAGES/*.po")
)


def test_french_catalogs_exist() -> None:
    assert len(FRENCH_CATALOGS) >= 3


@pytest.mark.parametrize(
    "catalog_path", FRENCH_CATALOGS, ids=lambda path: str(path.relative_to(REPO_ROOT))
)
def test_french_catalog_complete(catalog_path: Path) -> None:
    with catalog_path.open("rb") as handle:
        catalog = read_po(handle, locale="fr")

    untranslated = [message.id for message in catalog if message.id and not message.string]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]

    assert untranslated == []
    assert fuzzy == []


def test_translate_fills_parameters() -> None:
    assert (
        translate("fr", "Confirm your subscription to %(sender)s", sender="ACME")
        == "Confirmez votre inscription à ACME"
    )
    assert (
        translate("en", "Confirm your subscription to %(sender)s", sender="ACME")
        == "Confirm your subscription to ACME"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("en;q=0.2,fr-CA;q=0.8", "fr"),
        ("de", "fr"),
        ("en;q=0", "fr"),
        ("*", "fr"),
        ("en;q=garbage,fr", "fr"),
    ],
)
def test_negotiate_locale_cases(header: str | None, expected: str) -> None:
    assert negotiate_locale(header, "fr") == expected


def test_localize_decimals_french_only() -> None:
    from compliance.core.i18n import localize_decimals

    params = {"value": "0.22", "count": "12", "name": "v1.2 beta", "negative": "-3.5"}

    french = localize_decimals("fr", params)
    english = localize_decimals("en", params)

    assert french == {"value": "0,22", "count": "12", "name": "v1.2 beta", "negative": "-3,5"}
    assert english == params
