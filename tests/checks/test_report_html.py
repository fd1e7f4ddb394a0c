"""The HTML report: rendering in both languages, escaping, and its API and CLI entry points."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from compliance.app import create_app
from compliance.checks.findings import CheckReport
from compliance.checks.i18n import UnsupportedLocaleError
from compliance.checks.report import run_parts_check
from compliance.checks.report_html import render_html
from compliance.core.models import Role
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender, issue_key
from compliance.presend.router import prefers_html
from tests.checks.conftest import MESSAGES_DIR
from tests.support.cli import run_cli

_HTML = (
    "<p>Deals</p><p>Acme Inc., 100 Market Street, San Francisco, CA 94105</p>"
    '<p><a href="https://example.org/u/1">Unsubscribe</a></p>'
)


def _report(html: str = _HTML) -> CheckReport:
    return run_parts_check(html, None, {"Subject": "Deals"}, "example.org", None)


def test_html_english_and_french() -> None:
    report = _report()

    english = render_html(report, "en")
    french = render_html(report, "fr")

    assert '<html lang="en">' in english
    assert "Pre-send report for example.org" in english
    assert "How to fix:" in english
    assert '<html lang="fr">' in french
    assert "Rapport avant envoi pour example.org" in french
    assert "Correction :" in french
    assert "Contenu" in french


def test_html_groups_by_area() -> None:
    page = render_html(_report(), "en")

    assert page.index("<h2>Authentication</h2>") < page.index("<h2>Content</h2>")
    # No recipient check ran, so no empty section is shown.
    assert "<h2>Recipients</h2>" not in page


def test_html_has_no_script_nor_external_resource() -> None:
    page = render_html(_report(), "en")

    assert "<script" not in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert "@import" not in page


def test_html_escapes_message_content() -> None:
    html = '<p><a href="https://evil.example/x">www.bank.example</a></p><p>Unsubscribe</p>'
    report = _report(html + "<p>&lt;script&gt;alert(1)&lt;/script&gt; 1 Main St</p>")

    page = render_html(report, "en")

    assert "<script>" not in page
    assert "www.bank.example" in page


def test_html_decision_class() -> None:
    assert 'class="decision decision-block"' in render_html(_report("<p>Deals</p>"), "en")


def test_html_rejects_unknown_locale() -> None:
    with pytest.raises(UnsupportedLocaleError):
        render_html(_report(), "de")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html", True),
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("*/*", False),
        (None, False),
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept: str | None, expected: bool) -> None:
    assert prefers_html(accept) is expected


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _sender_key(client: TestClient) -> str:
    with Session(client.app.state.engine, expire_on_commit=False) as session:  # type: ignore[attr-defined]
        sender = create_sender(session, "Exemple SAS", default_locale="fr")
        secret = issue_key(session, sender.id, Role.SENDER, actor="test").secret
        session.commit()
    return secret


def test_api_html_when_accepted(client: TestClient) -> None:
    key = _sender_key(client)
    body = {"from_domain": "example.org", "html": _HTML, "skip_dns": True}

    page = client.post(
        "/v1/checks",
        json=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "text/html",
            "Accept-Language": "fr",
        },
    )
    data = client.post("/v1/checks", json=body, headers={"Authorization": f"Bearer {key}"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Rapport avant envoi pour example.org" in page.text
    assert data.status_code == 200
    assert data.headers["content-type"].startswith("application/json")
    report = data.json()
    assert report["decision"] == "block"
    assert set(report["areas"]) == {"authentication", "content", "recipients", "reputation"}


def test_cli_writes_html(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "report.html"

    result = run_cli(
        settings,
        "check",
        str(MESSAGES_DIR / "newsletter_en_compliant.eml"),
        "--from-domain",
        "example.org",
        "--no-dns",
        "--lang",
        "en",
        "--html",
        str(out),
    )

    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "Pre-send report for example.org" in page
    assert "100 Market Street" in page


def test_cli_html_unwritable_exits_three(settings: Settings, tmp_path: Path) -> None:
    result = run_cli(
        settings,
        "check",
        str(MESSAGES_DIR / "newsletter_en_compliant.eml"),
        "--from-domain",
        "example.org",
        "--no-dns",
        "--html",
        str(tmp_path / "missing" / "report.html"),
    )

    assert result.returncode == 3
    assert "cannot write" in result.stderr
