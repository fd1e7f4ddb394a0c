"""The sender's dashboard in Chromium: sign-in form, grade, charts, language switch, revocation.

One ``sendguard serve`` process serves the whole module. Its sender gets
three sent campaigns (one named with a script tag), a stored pre-send
report and two open data-subject requests through the API, so every part
of the page has content. The pages must load nothing and run no script.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from compliance.core.i18n import translate
from compliance.reputation.dashboard_view import GRADE_STYLES
from tests.browser.preference_steps import DOC_IMAGES, artifacts_dir, guarded_context
from tests.support.database import PostgresDatabases, sqlite_databases
from tests.support.dns_server import LoopbackDnsServer
from tests.support.service import ServeProcess

ZONE = Path(__file__).resolve().parents[1] / "e2e" / "data" / "news.example.com.zone"
SENDER_NAME = "Librairie Exemple"
SCRIPT_NAME = "<script>alert('soldes')</script> Soldes"
LOCALES = ["fr", "en"]
SCREENSHOT_LOCALE = {"fr": "fr-FR", "en": "en-GB"}
# The page is at most 60rem wide: a wider viewport only adds margins.
SCREENSHOT_VIEWPORT = {"width": 1024, "height": 800}
# With this module's data the full page at 1024 px measured 2,863 px tall and
# 327 KB (French). A much larger file points to a wrong viewport.
MAX_SCREENSHOT_BYTES = 450_000
OTHER = {"fr": ("en", "English"), "en": ("fr", "Français")}
NEWSLETTER = (
    "<html><body><p>Bonjour, voici nos nouveautés de la semaine.</p>"
    '<p><a href="https://news.example.com/u">Se désinscrire</a></p>'
    "<p>Librairie Exemple, 12 rue des Lilas, 69003 Lyon, France</p></body></html>"
)

# `sendguard serve` with the dashboard router added when the app factory
# does not include it yet; the arguments after -c reach the CLI unchanged.
SERVE_WITH_DASHBOARD = """
import sys
import compliance.app as app_module
from compliance.cli import main
from compliance.reputation import dashboard

factory = app_module.create_app

def create_app(*args, **kwargs):
    app = factory(*args, **kwargs)
    if "/dashboard" not in {getattr(route, "path", "") for route in app.routes}:
        app.include_router(dashboard.router)
    return app

app_module.create_app = create_app
sys.exit(main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class DashboardSite:
    service: ServeProcess
    admin_headers: dict[str, str]
    sender_key: str
    report_campaign_id: str

    def url(self, path: str) -> str:
        return f"{self.service.base_url}{path}"


def api(
    base_url: str, method: str, path: str, auth: dict[str, str], body: dict[str, Any] | None = None
) -> Any:
    response = httpx.request(method, f"{base_url}{path}", json=body, headers=auth, timeout=30)
    assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
    return response.json()


def new_key(base_url: str, admin: dict[str, str], role: str) -> dict[str, Any]:
    created: dict[str, Any] = api(base_url, "POST", "/v1/keys", admin, {"role": role})
    return created


def fill_sender(base_url: str, sender: dict[str, str], dpo: dict[str, str]) -> str:
    """Send three campaigns, store a report for one and open two DSRs.

    Returns the id of the campaign that has the report.
    """
    campaign_ids = []
    for name, counts in (
        ("Rentrée", {"sent": 8000, "hard_bounces": 30, "opens": 2400}),
        (SCRIPT_NAME, {"sent": 9000, "hard_bounces": 20, "complaints": 4, "opens": 2500}),
        ("Noël", {"sent": 10_000, "hard_bounces": 10, "unsubscribes": 40, "opens": 3100}),
    ):
        list_id = api(base_url, "POST", "/v1/lists", sender, {"name": f"Liste {name}"})["id"]
        campaign = api(
            base_url, "POST", "/v1/campaigns", sender, {"name": name, "list_ids": [list_id]}
        )
        api(base_url, "POST", f"/v1/campaigns/{campaign['id']}/sent", sender, {"counts": counts})
        campaign_ids.append(campaign["id"])

    api(
        base_url,
        "POST",
        "/v1/checks",
        sender,
        {
            "from_domain": "news.example.com",
            "html": NEWSLETTER,
            "headers": {"Subject": "Nos nouveautés", "From": "Librairie <news@news.example.com>"},
            "skip_dns": True,
            "campaign_id": campaign_ids[1],
        },
    )
    for days_ago in (0, 45):
        received = datetime.now(UTC) - timedelta(days=days_ago)
        api(
            base_url,
            "POST",
            "/v1/dsr",
            dpo,
            {
                "type": "access",
                "email": f"lecteur{days_ago}@example.net",
                "received_at": received.isoformat(),
                "notify_subject": False,
                "send_code": False,
            },
        )
    return str(campaign_ids[1])


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresDatabases | None
) -> Iterator[DashboardSite]:
    folder = tmp_path_factory.mktemp("dashboard")
    urls = postgres.new() if postgres is not None else sqlite_databases(folder)
    with LoopbackDnsServer(ZONE) as dns:
        settings = {"DNS_NAMESERVERS": dns.nameserver, "DEFAULT_LOCALE": "fr"}
        service = ServeProcess(
            folder / "data",
            database_url=urls.database,
            keystore_url=urls.keystore,
            settings=settings,
            serve_command=[sys.executable, "-c", SERVE_WITH_DASHBOARD],
        )
        with service:
            account = service.create_sender(
                SENDER_NAME, postal_address="12 rue des Lilas, 69003 Lyon, France"
            )
            admin = account.admin_headers
            sender_key = new_key(service.base_url, admin, "sender")["key"]
            dpo_key = new_key(service.base_url, admin, "dpo")["key"]
            reported = fill_sender(
                service.base_url,
                {"Authorization": f"Bearer {sender_key}"},
                {"Authorization": f"Bearer {dpo_key}"},
            )
            yield DashboardSite(service, admin, sender_key, reported)


def save_screenshots(page: Page, tmp_path: Path, name: str) -> list[Path]:
    """Save a full-page PNG as an artifact, and into docs/images when asked to.

    ``SENDGUARD_WRITE_DOC_SCREENSHOTS=1`` also writes ``docs/images/<name>.png``,
    as the preference-center tests do; the dashboard is longer, so its size
    limit is higher.
    """
    written = [artifacts_dir(tmp_path) / f"{name}.png"]
    if os.environ.get("SENDGUARD_WRITE_DOC_SCREENSHOTS", "").strip() == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        written.append(DOC_IMAGES / f"{name}.png")
    for path in written:
        page.screenshot(path=str(path), full_page=True)
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG file"
        assert len(data) < MAX_SCREENSHOT_BYTES, f"{path} has {len(data)} bytes"
    return written


def current_grade(site: DashboardSite) -> int:
    reputation = api(
        site.service.base_url,
        "GET",
        "/v1/reputation",
        {"Authorization": f"Bearer {site.sender_key}"},
    )
    return int(reputation["grade"])


def sign_in(page: Page, site: DashboardSite, locale: str, key: str) -> None:
    """Open the dashboard, get sent to the sign-in form, and sign in with ``key``."""
    page.goto(site.url(f"/dashboard?lang={locale}"))
    expect(page).to_have_url(site.url(f"/dashboard/login?lang={locale}"))
    expect(page.locator("h1")).to_have_text(translate(locale, "Sign in to the dashboard"))
    page.get_by_label(translate(locale, "API key")).fill(key)
    page.get_by_role("button", name=translate(locale, "Sign in")).click()


def expect_dashboard(page: Page, locale: str, grade: int) -> None:
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("h1")).to_have_text(
        translate(locale, "Dashboard of %(sender)s", sender=SENDER_NAME)
    )
    expect(page.locator("#grade .value")).to_have_text(str(grade))
    expect(page.locator("#grade .label")).to_have_text(translate(locale, GRADE_STYLES[grade][1]))
    expect(page.locator("svg.chart")).to_have_count(4)
    for chart in page.locator("svg.chart").all():
        expect(chart).to_be_visible()
    expect(page.locator("svg.chart circle.point")).to_have_count(4 * 3)
    expect(page.locator("#factors tbody tr")).to_have_count(12)
    expect(page.locator("#requests tr.overdue")).to_have_count(1)
    expect(page.get_by_text(SCRIPT_NAME).first).to_be_attached()
    expect(page.locator("script")).to_have_count(0)


@pytest.mark.parametrize("locale", LOCALES)
def test_dashboard_sign_in_and_language(
    locale: str, site: DashboardSite, chromium: Browser, tmp_path: Path
) -> None:
    grade = current_grade(site)
    with guarded_context(
        chromium, locale=SCREENSHOT_LOCALE[locale], viewport=SCREENSHOT_VIEWPORT
    ) as context:
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        sign_in(page, site, locale, site.sender_key)

        expect_dashboard(page, locale, grade)
        save_screenshots(page, tmp_path, f"dashboard-{locale}")

        other, switch_name = OTHER[locale]
        page.get_by_role("link", name=switch_name, exact=True).click()
        expect_dashboard(page, other, grade)

        # The report link opens the stored pre-send report of that campaign.
        page.get_by_role("link", name=translate(other, "Open the report")).first.click()
        expect(page).to_have_url(
            site.url(f"/dashboard/campaigns/{site.report_campaign_id}/report?lang={other}")
        )
        expect(page.locator("html")).to_have_attribute("lang", other)
        expect(page.locator("h1")).to_contain_text("news.example.com")
        assert dialogs == []


def test_dashboard_without_javascript(site: DashboardSite, chromium: Browser) -> None:
    grade = current_grade(site)
    with guarded_context(chromium, java_script_enabled=False, locale="fr-FR") as context:
        page = context.new_page()
        sign_in(page, site, "fr", site.sender_key)
        expect_dashboard(page, "fr", grade)

        page.get_by_role("button", name=translate("fr", "Sign out")).click()
        expect(page).to_have_url(site.url("/dashboard/login?lang=fr"))
        page.goto(site.url("/dashboard"))
        expect(page.locator("h1")).to_have_text(translate("fr", "Sign in to the dashboard"))


def test_revoked_key_signs_out(site: DashboardSite, chromium: Browser) -> None:
    key = new_key(site.service.base_url, site.admin_headers, "sender")
    with guarded_context(chromium, locale="en-GB") as context:
        page = context.new_page()
        sign_in(page, site, "en", key["key"])
        expect(page.locator("#grade")).to_be_visible()

        api(site.service.base_url, "DELETE", f"/v1/keys/{key['id']}", site.admin_headers)
        page.reload()

        expect(page.locator("h1")).to_have_text(translate("en", "Sign in to the dashboard"))


def test_wrong_key_shows_error(site: DashboardSite, chromium: Browser) -> None:
    with guarded_context(chromium, locale="fr-FR") as context:
        page = context.new_page()
        sign_in(page, site, "fr", "sg_000000000000_" + "x" * 43)

        expect(page.get_by_role("alert")).to_have_text(
            translate(
                "fr",
                "This API key is not valid: it is unknown, mistyped or revoked. Paste the whole "
                "key, or ask an admin for a new one.",
            )
        )
        expect(page.locator("#grade")).to_have_count(0)
