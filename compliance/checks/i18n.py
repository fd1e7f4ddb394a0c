"""French and English messages for the pre-send checks, through the kernel's catalogs.

Messages are written in English in the code and marked with ``N_()`` so that
extraction (``pybabel extract -k N_``) finds them. Their translations live
in ``locales/<language>/LC_MESSAGES/checks.po`` beside this module, which
:mod:`compliance.core.i18n` merges with the other packages' catalogs.
"""

from __future__ import annotations

from pathlib import Path

from compliance.core.i18n import N_, SUPPORTED_LOCALES
from compliance.core.i18n import translate as translate_language

__all__ = ["CATALOG_DIR", "N_", "UnsupportedLocaleError", "language_of", "translate"]

CATALOG_DIR = Path(__file__).parent / "locales"


class UnsupportedLocaleError(ValueError):
    """A locale whose language has no catalog was requested."""


def language_of(locale: str) -> str:
    """Return the language code of ``locale`` (``fr_FR``, ``fr-CA`` and ``FR`` give ``fr``).

    :raises UnsupportedLocaleError: when the language has no catalog.
    """
    language = locale.replace("-", "_").split("_", 1)[0].strip().lower()
    if language not in SUPPORTED_LOCALES:
        supported = ", ".join(sorted(SUPPORTED_LOCALES))
        raise UnsupportedLocaleError(f"locale {locale!r} is not supported: use one of {supported}")
    return language


def translate(locale: str, msgid: str, **params: str | int) -> str:
    """Translate ``msgid`` into ``locale`` and fill its ``%(name)s`` parameters.

    As in :func:`compliance.core.i18n.translate`, a message is formatted only
    when parameters are given, so a literal percent sign is written ``%%``
    in messages that take parameters and ``%`` in the others.

    :raises UnsupportedLocaleError: when the locale has no catalog.
    :raises KeyError: when the message names a parameter that is not given.
    """
    return translate_language(language_of(locale), msgid, **params)
