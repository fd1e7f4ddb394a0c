"""Every string marked for translation in the code and templates has a French entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

REPO_ROOT = Path(__file__).resolve().parents[2]
# Package folders whose strings live in their own locales/fr/LC_MESSAGES/*.po catalogs.
PACKAGES = [
    "compliance/core",
    "compliance/presend",
    "compliance/reputation",
    "consent",
    "dsr",
    "suppression",
]
METHODS = [
    ("**/locales/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
]
KEYWORDS = {"N_": None, "_": None}


@pytest.mark.parametrize("package", PACKAGES)
def test_marked_strings_translated(package: str) -> None:
    folder = REPO_ROOT / package
    marked = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(folder), METHODS, keywords=KEYWORDS)
    }
    # The loader merges every catalog of the package (messages.po, basis.po, ...).
    translated: set[str] = set()
    for path in sorted((folder / "locales" / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        translated |= {message.id for message in catalog if message.id and message.string}

    missing = sorted(marked - translated)

    assert marked, f"no marked string found in {package}"
    assert missing == []
