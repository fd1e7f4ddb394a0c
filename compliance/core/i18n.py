"""Translations from gettext catalogs, locale negotiation and the Jinja environment.

Every ``locales/<lang>/LC_MESSAGES/*.po`` file found under the registered
package folders is merged into one catalog per language, so each package
keeps its own strings next to its code. Catalogs are compiled in memory at
start-up; no build step produces ``.mo`` files.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

SUPPORTED_LOCALES = ("fr", "en")

# Top-level folders whose `locales/` sub-folders (at any depth) hold catalogs.
_ROOT = Path(__file__).resolve().parents[2]
CATALOG_PACKAGES = ("compliance", "consent", "suppression", "dsr")


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``msgid`` for extraction without translating it yet."""
    return msgid


def _catalog_files(lang: str) -> list[Path]:
    files: list[Path] = []
    for package in CATALOG_PACKAGES:
        base = _ROOT / package
        files.extend(sorted(base.glob(f"**/locales/{lang}/LC_MESSAGES/*.po")))
    return files


def _compile(
    files: Iterable[Path], lang: str
) -> gettext.GNUTranslations | gettext.NullTranslations:
    merged: gettext.NullTranslations | None = None
    for path in files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        translations = gettext.GNUTranslations(buffer)
        if merged is None:
            merged = translations
        else:
            merged.add_fallback(translations)
    return merged or gettext.NullTranslations()


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def translations(lang: str) -> gettext.NullTranslations:
    """Return the merged catalog for ``lang`` (``fr`` or ``en``)."""
    if lang not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {lang!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
    return _compile(_catalog_files(lang), lang)


def translate(lang: str, msgid: str, **params: object) -> str:
    """Translate ``msgid`` into ``lang`` and fill its ``%(name)s`` parameters."""
    text = translations(lang).gettext(msgid)
    return text % params if params else text


def negotiate_locale(accept_language: str | None, default: str) -> str:
    """Pick ``fr`` or ``en`` from an ``Accept-Language`` header (RFC 9110 12.5.4)."""
    if not accept_language:
        return default

    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            # Sort by quality, then by the order the client listed the tags.
            weighted.append((-quality, position, tag))

    for _, _, tag in sorted(weighted):
        primary = tag.split("-")[0]
        if primary in SUPPORTED_LOCALES:
            return primary
        if tag == "*":
            return default
    return default


def make_jinja_environment(template_dirs: Iterable[Path]) -> Environment:
    """Build the page and email environment: sandboxed, autoescaped, with the i18n extension.

    The translation callables are passed per render (see :func:`gettext_context`)
    because one environment serves both languages at once. Templates are the
    project's own files, but they render sender and subscriber text (consent
    wording, list names, campaign names): the sandbox refuses attribute
    access to internals (``__class__``, ``__globals__``) and any call that
    changes an object, so such text could not reach the environment, files
    or network even if a future template evaluated it.
    """
    environment: Environment = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([str(path) for path in template_dirs]),
        autoescape=select_autoescape(
            enabled_extensions=("html", "xml"),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


def gettext_context(lang: str) -> Mapping[str, object]:
    """Return the ``gettext``/``ngettext`` callables a template render needs for ``lang``."""
    catalog = translations(lang)

    def _gettext(message: str, **params: object) -> str:
        text = catalog.gettext(message)
        return text % params if params else text

    def _ngettext(singular: str, plural: str, count: int, **params: object) -> str:
        text = catalog.ngettext(singular, plural, count)
        values = {"num": count, **params}
        return text % values

    return {"gettext": _gettext, "ngettext": _ngettext, "_": _gettext, "lang": lang}


def localize_decimals(lang: str, params: Mapping[str, str]) -> dict[str, str]:
    """Write the decimal point of numeric parameters as French does ("0,22"), for French."""
    if lang != "fr":
        return dict(params)
    localized: dict[str, str] = {}
    for name, value in params.items():
        bare = value.replace(".", "", 1).lstrip("-")
        localized[name] = value.replace(".", ",", 1) if bare.isdigit() else value
    return localized
