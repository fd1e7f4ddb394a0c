"""One-click unsubscribe headers: List-Unsubscribe (RFC 2369) and its RFC 8058 POST header."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from compliance.checks.findings import MB_01, Finding, Severity, make_finding
from compliance.checks.i18n import N_

# RFC 8058 section 3.1: the POST header has exactly this value.
ONE_CLICK_VALUE = "List-Unsubscribe=One-Click"

# RFC 2369 section 2: each URI of the header is enclosed in angle brackets.
_BRACKETED_URI = re.compile(r"<\s*([^<>]*?)\s*>")


def list_unsubscribe_uris(value: str) -> list[str]:
    """Return the URIs of a List-Unsubscribe header value, in order."""
    return [uri for uri in _BRACKETED_URI.findall(value) if uri]


def check_list_unsubscribe(headers: Mapping[str, str]) -> tuple[Finding, ...]:
    """Check the headers for RFC 8058 one-click unsubscribe.

    ``headers`` must be looked up without regard to case, as
    :class:`compliance.checks.message.HeaderMap` does. Facts name the URI
    schemes and the https host only, because unsubscribe URIs carry tokens.
    """
    value = _header(headers, "List-Unsubscribe")
    if value is None:
        return (
            make_finding(
                MB_01,
                "list_unsubscribe.missing",
                N_(
                    "The List-Unsubscribe header is missing: add one with an https URI and "
                    "the header List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058)."
                ),
            ),
        )

    uris = list_unsubscribe_uris(value)
    schemes = [urlsplit(uri).scheme.lower() for uri in uris]
    facts: dict[str, str | int] = {"schemes": ",".join(dict.fromkeys(schemes))}

    if "https" in schemes:
        https_uri = uris[schemes.index("https")]
        facts["host"] = urlsplit(https_uri).hostname or ""
        return (_one_click_finding(headers, facts),)

    if "http" in schemes:
        return (
            make_finding(
                MB_01,
                "list_unsubscribe.http_only",
                N_(
                    "The List-Unsubscribe header has an http URI but no https URI: one-click "
                    "unsubscribe (RFC 8058) requires https."
                ),
                severity=Severity.WARN,
                facts=facts,
            ),
        )

    if "mailto" in schemes:
        return (
            make_finding(
                MB_01,
                "list_unsubscribe.mailto_only",
                N_(
                    "The List-Unsubscribe header has only a mailto URI: add an https URI for "
                    "one-click unsubscribe (RFC 8058)."
                ),
                severity=Severity.WARN,
                facts=facts,
            ),
        )

    return (
        make_finding(
            MB_01,
            "list_unsubscribe.invalid",
            N_(
                "The List-Unsubscribe header has no usable URI: write each URI in angle "
                "brackets, for example <https://example.org/u/token>."
            ),
            facts=facts,
        ),
    )


def _one_click_finding(headers: Mapping[str, str], facts: dict[str, str | int]) -> Finding:
    post = _header(headers, "List-Unsubscribe-Post")
    if post is None:
        return make_finding(
            MB_01,
            "list_unsubscribe.post_missing",
            N_(
                "The List-Unsubscribe-Post header is missing: add "
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058)."
            ),
            facts=facts,
        )
    if post.strip() != ONE_CLICK_VALUE:
        return make_finding(
            MB_01,
            "list_unsubscribe.post_invalid",
            N_(
                "The List-Unsubscribe-Post header must be exactly "
                "List-Unsubscribe=One-Click (RFC 8058)."
            ),
            facts=facts,
        )
    return make_finding(
        MB_01,
        "list_unsubscribe.one_click",
        N_("One-click unsubscribe headers found (https URI on %(host)s)."),
        severity=Severity.INFO,
        facts=facts,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # Accept plain dictionaries whose keys use another case.
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value
