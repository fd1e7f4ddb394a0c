"""Every message of the checks has a French translation with the same parameters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from compliance.checks import i18n
from compliance.checks.i18n import CATALOG_DIR, N_, UnsupportedLocaleError, language_of, translate

CHECKS_DIR = Path(i18n.__file__).parent
_PARAMETER = re.compile(r"%\((\w+)\)[sd]")
# Literal msgids of the report templates: {{ _("...") }}.
_TEMPLATE_MSGID = re.compile(r'\b_\(\s*"([^"]*)"')


def _code_msgids() -> set[str]:
    """Collect the literal arguments of every N_() call and template _() call of the package."""
    msgids = set()
    for template in (CHECKS_DIR / "templates").rglob("*.html"):
        msgids.update(_TEMPLATE_MSGID.findall(template.read_text(encoding="utf-8")))
    for path in CHECKS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "N_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                msgids.add(node.args[0].value)
    return msgids


def _catalog(language: str) -> dict[str, str]:
    """Read the checks catalog of ``language`` as msgid to translation (empty when untranslated)."""
    with (CATALOG_DIR / language / "LC_MESSAGES" / "checks.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str) and message.id and isinstance(message.string, str)
    }


def test_code_has_messages() -> None:
    # Guards the extraction itself: an empty set would make the tests below pass.
    assert len(_code_msgids()) > 40


def test_every_msgid_has_french_translation() -> None:
    french = _catalog("fr")
    missing = sorted(msgid for msgid in _code_msgids() if not french.get(msgid))
    assert missing == []


def test_french_catalog_has_no_stale_entries() -> None:
    assert sorted(set(_catalog("fr")) - _code_msgids()) == []


def test_english_catalog_lists_every_msgid() -> None:
    assert sorted(_code_msgids() - set(_catalog("en"))) == []


@pytest.mark.parametrize("msgid", sorted(_code_msgids()))
def test_translation_keeps_parameters(msgid: str) -> None:
    french = _catalog("fr")[msgid]

    assert sorted(_PARAMETER.findall(french)) == sorted(_PARAMETER.findall(msgid))
    assert french.count("%%") == msgid.count("%%")


@pytest.mark.parametrize("msgid", sorted(_code_msgids()))
def test_translate_returns_french(msgid: str) -> None:
    # The kernel merges every package's catalogs; another package's entry for
    # the same msgid must not shadow this one.
    expected = _catalog("fr")[msgid]
    assert translate("fr", msgid) == expected


def test_translate_fills_parameters() -> None:
    text = translate(
        "fr", N_("One-click unsubscribe headers found (https URI on %(host)s)."), host="example.org"
    )
    assert text == "En-têtes de désinscription en un clic trouvés (URI https sur example.org)."


def test_translate_english_returns_msgid() -> None:
    assert translate("en", N_("timed out")) == "timed out"


def test_language_of_regional_variants() -> None:
    assert language_of("fr_FR") == "fr"
    assert language_of("fr-CA") == "fr"
    assert language_of("EN") == "en"


def test_unsupported_locale_names_choices() -> None:
    with pytest.raises(UnsupportedLocaleError, match="en, fr"):
        translate("de_DE", N_("timed out"))
