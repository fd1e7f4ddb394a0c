"""Extracting bodies and headers from .eml fixtures."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from compliance.checks.message import HeaderMap, parse_message
from tests.checks.conftest import MESSAGES_DIR


def test_multipart_alternative_bodies() -> None:
    parts = parse_message((MESSAGES_DIR / "newsletter_fr_compliant.eml").read_bytes())

    assert parts.html is not None
    assert parts.text is not None
    assert "Se désinscrire" in parts.html
    assert "Se désinscrire : https://example.org/u/" in parts.text


def test_headers_case_insensitive() -> None:
    parts = parse_message((MESSAGES_DIR / "newsletter_fr_compliant.eml").read_bytes())

    assert parts.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    assert "LIST-UNSUBSCRIBE" in parts.headers
    assert parts.headers["Subject"] == "Les nouveautés de décembre"


def test_folded_header_unfolded() -> None:
    parts = parse_message((MESSAGES_DIR / "newsletter_en_compliant.eml").read_bytes())
    value = parts.headers["List-Unsubscribe"]

    assert "\n" not in value
    assert "<https://example.org/u/c2lnbmVk>" in value


def test_latin1_quoted_printable_text_only() -> None:
    parts = parse_message((MESSAGES_DIR / "notice_latin1_text_only.eml").read_bytes())

    assert parts.html is None
    assert parts.text is not None
    assert "Pour vous désinscrire, répondez à ce message" in parts.text


def test_html_only_message() -> None:
    parts = parse_message((MESSAGES_DIR / "newsletter_hidden_unsubscribe.eml").read_bytes())

    assert parts.text is None
    assert parts.html is not None


def test_email_message_object_accepted() -> None:
    message = email.message_from_bytes(
        (MESSAGES_DIR / "newsletter_en_compliant.eml").read_bytes(), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)

    parts = parse_message(message)
    assert parts.text is not None
    assert "To unsubscribe, visit:" in parts.text
    assert parts.headers["From"] == "Example Weekly <weekly@example.org>"


def test_unknown_charset_decoded_with_replacement() -> None:
    raw = (
        b"Content-Type: text/plain; charset=x-unknown-charset\r\n\r\n"
        b"Unsubscribe: https://example.org/u/1\r\n"
    )
    parts = parse_message(raw)
    assert parts.text is not None
    assert "https://example.org/u/1" in parts.text


def test_other_types_rejected() -> None:
    with pytest.raises(TypeError, match=r"raw bytes of an \.eml file"):
        parse_message("From: a@example.org\r\n\r\nbody")  # type: ignore[arg-type]


def test_header_map_keeps_first_occurrence() -> None:
    headers = HeaderMap.from_pairs(iter([("Received", "first"), ("received", "second")]))

    assert headers["RECEIVED"] == "first"
    assert list(headers) == ["Received"]
    assert len(headers) == 1
