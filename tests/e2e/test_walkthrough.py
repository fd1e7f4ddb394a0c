"""End to end: `sendguard serve` as a real process, with real SMTP and DNS servers on loopback.

The first test creates a sender, subscribes, confirms from the emailed link
and opens the preference center from the welcome email. It then
unsubscribes, screens a list, erases the subject as the DPO and subscribes
the erased address again. The second test runs the pre-send check on real
templates and on messages written for the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.database import DatabaseUrls
from tests.support.dns_server import LoopbackDnsServer
from tests.support.smtp_server import LoopbackSmtpServer, free_port

DATA = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
BIN = Path(sys.executable).parent
SUBSCRIBER = "Claire.Dupont@example.net"


@dataclass
class Service:
    base_url: str
    env: dict[str, str]
    smtp: LoopbackSmtpServer
    dns: LoopbackDnsServer
    log_path: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "sendguard"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sendguard serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"sendguard serve did not answer within 60 s:\n{log_path.read_text()}")


@pytest.fixture
def service(tmp_path: Path, database_urls: DatabaseUrls) -> Iterator[Service]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with LoopbackSmtpServer() as smtp, LoopbackDnsServer(DATA / "news.example.com.zone") as dns:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "SENDGUARD_ENV": "development",
            "SENDGUARD_DATA_DIR": str(tmp_path / "data"),
            "SENDGUARD_DATABASE_URL": database_urls.database,
            "SENDGUARD_KEYSTORE_URL": database_urls.keystore,
            "SENDGUARD_SMTP_URL": smtp.url,
            "SENDGUARD_DNS_NAMESERVERS": dns.nameserver,
            "SENDGUARD_PUBLIC_URL": base_url,
            "SENDGUARD_OUTBOX_POLL_SECONDS": "0.2",
            "SENDGUARD_DEFAULT_LOCALE": "fr",
        }
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [str(BIN / "sendguard"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_ready(base_url, process, log_path)
                yield Service(base_url, env, smtp, dns, log_path)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def link(message: EmailMessage, base_url: str, kind: str) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    match = re.search(rf"{re.escape(base_url)}/{kind}/[A-Za-z0-9._-]+", part.get_content())
    assert match is not None, f"no /{kind}/ link in the email"
    return match.group(0)


def screen(client: httpx.Client, key: str, recipients: list[str]) -> Any:
    response = client.post(
        "/v1/screen", json={"recipients": recipients}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def signup_body(form_id: str, address: str) -> dict[str, Any]:
    return {
        "form_id": form_id,
        "email": address,
        "topics": ["nouveautes"],
        "consent_text": "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple.",
        "consent_text_version": "v1",
        "privacy_policy_url": "https://librairie.example.com/confidentialite",
        "privacy_policy_version": "2026-06",
    }


def test_subscriber_journey_end_to_end(service: Service) -> None:
    created = service.cli(
        "sender",
        "create",
        "Librairie Exemple",
        "--postal-address",
        "12 rue des Lilas, 69003 Lyon, France",
    )
    assert created.returncode == 0, created.stderr
    fields = dict(line.split(": ", 1) for line in created.stdout.strip().splitlines())
    admin = {"Authorization": f"Bearer {fields['admin key'].strip()}"}
    form_id = fields["form_id"].strip()

    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        dpo_key = client.post("/v1/keys", json={"role": "dpo"}, headers=admin).json()["key"]
        sender_key = client.post("/v1/keys", json={"role": "sender"}, headers=admin).json()["key"]

        # The form offers one public topic; a topic not declared is refused.
        topic = {
            "key": "nouveautes",
            "name_en": "New books",
            "name_fr": "Nouveautés",
            "wording_en": "I agree to receive the monthly letter of Librairie Exemple.",
            "wording_fr": "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple.",
        }
        declared = client.post(
            "/v1/topics", json=topic, headers={"Authorization": f"Bearer {sender_key}"}
        )
        assert declared.status_code == 201, declared.text

        # Subscribe: a double opt-in email arrives through the real SMTP server.
        subscribed = client.post("/v1/subscribe", json=signup_body(form_id, SUBSCRIBER))
        assert subscribed.status_code == 202
        confirmation = service.smtp.wait_for(1)[0]
        assert confirmation["To"] == SUBSCRIBER
        assert "Confirmez votre inscription" in str(confirmation["Subject"])
        confirm_url = link(confirmation, service.base_url, "c")

        # Opening the link shows a page; only its POST confirms.
        page = client.get(confirm_url)
        assert page.status_code == 200
        assert "Confirmer mon inscription" in page.text
        assert len(service.smtp.messages) == 1
        confirmed = client.post(confirm_url)
        assert "Inscription confirmée" in confirmed.text

        # The welcome email carries the preference center and RFC 8058 headers.
        welcome = service.smtp.wait_for(2)[1]
        assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        preferences_url = link(welcome, service.base_url, "p")
        preferences = client.get(preferences_url)
        assert preferences.status_code == 200
        assert "Gérer mes préférences" in preferences.text
        assert "Nouveautés" in preferences.text
        english = client.get(preferences_url, params={"lang": "en"})
        assert "Manage my preferences" in english.text

        # Forms carry a CSRF field matching the cookie the page set.
        field = re.search(r'name="csrf" value="([0-9a-f]{64})"', english.text)
        assert field is not None
        refused = client.post(f"{preferences_url}/unsubscribe", data={"csrf": "0" * 64})
        assert refused.status_code == 403
        done = client.post(
            f"{preferences_url}/unsubscribe", data={"csrf": field.group(1)}, follow_redirects=True
        )
        assert done.status_code == 200
        assert "Vous êtes désinscrit" in done.text

        result = screen(client, sender_key, [SUBSCRIBER, "autre.lecteur@example.net"])
        assert result["kept"] == ["autre.lecteur@example.net"]
        assert result["removed"] == [{"position": 0, "reason": "unsubscribe"}]

        # The DPO erases the subject; only the blind index stays, as a suppression.
        erasure = client.post(
            "/v1/dsr",
            json={
                "type": "erasure",
                "email": SUBSCRIBER,
                "attestation": {
                    "verified_by": "Service DPO",
                    "method": "email_code",
                    "verified_at": "2026-12-01T10:00:00Z",
                },
            },
            headers={"Authorization": f"Bearer {dpo_key}"},
        )
        assert erasure.status_code == 201, erasure.text
        receipt = erasure.json()
        assert len(receipt["outcome"]["contacts_erased"]) == 1
        assert receipt["outcome"]["data_keys_destroyed"] == 1
        assert "claire" not in erasure.text.lower()
        assert client.get(preferences_url).status_code == 410
        assert screen(client, sender_key, [SUBSCRIBER])["removed"] == [
            {"position": 0, "reason": "erased"}
        ]

        # Subscribing the erased address again does not re-enable mail: the
        # suppression stays until the person confirms a new double opt-in.
        again = client.post("/v1/subscribe", json=signup_body(form_id, SUBSCRIBER))
        assert again.status_code == 202
        assert again.json() == subscribed.json()
        assert screen(client, sender_key, [SUBSCRIBER])["removed"] == [
            {"position": 0, "reason": "erased"}
        ]
        # Two more emails: the erasure's completion notice and the new confirmation.
        latest = service.smtp.wait_for(4)[2:]
        subjects = [str(message["Subject"]) for message in latest]
        assert "Votre demande à Librairie Exemple est traitée" in subjects, subjects
        fresh = next(message for message in latest if "traitée" not in str(message["Subject"]))
        assert link(fresh, service.base_url, "c") != confirm_url

    log_text = service.log_path.read_text()
    assert SUBSCRIBER.lower() not in log_text.lower()
    assert "/p/ey" not in log_text


def findings_by_check(report: dict[str, Any]) -> dict[str, str]:
    """Map each finding's check name to its severity."""
    return {finding["check"]: finding["severity"] for finding in report["findings"]}


# Real templates and what their footers hold (corpus/templates/SOURCES.md).
TEMPLATE_EXPECTATIONS = {
    "leemunroe__email.html": {"unsubscribe.found": "info", "address.found": "info"},
    "foundation-emails__newsletter.html": {"unsubscribe.found": "info", "address.missing": "block"},
    "mailchimp-blueprints__2col-1-2.html": {
        "unsubscribe.found": "info",
        "address.merge_tag": "warn",
    },
    "resend__stripe-email.html": {"unsubscribe.missing": "block", "address.found": "info"},
    "listmonk__default.tpl.html": {"unsubscribe.found": "info", "address.missing": "block"},
}


def test_presend_check_end_to_end(service: Service) -> None:
    created = service.cli("sender", "create", "Librairie Exemple")
    assert created.returncode == 0, created.stderr
    admin_key = created.stdout.split("admin key: ")[1].split()[0]
    headers = {"Authorization": f"Bearer {admin_key}"}

    with httpx.Client(base_url=service.base_url, timeout=20) as client:
        for name, expected in TEMPLATE_EXPECTATIONS.items():
            html = (CORPUS / "templates" / name).read_text(encoding="utf-8")
            response = client.post(
                "/v1/checks",
                json={"from_domain": "news.example.com", "html": html},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            report = response.json()
            found = findings_by_check(report)
            for check, severity in expected.items():
                assert found.get(check) == severity, (
                    f"{name}: {check} expected {severity}, got {found.get(check)}"
                )
            # DNS answers come from the loopback server's zone fixture.
            assert found.get("spf.found") == "info", name
            assert found.get("dmarc.found") in ("info", "warn"), name
            for finding in report["findings"]:
                assert finding["message"]["fr"] and finding["message"]["en"]
                assert finding["source"]

        raw = (DATA / "campaign-compliant.eml").read_text(encoding="utf-8")
        api_report = client.post(
            "/v1/checks", json={"from_domain": "news.example.com", "eml": raw}, headers=headers
        )
        assert api_report.status_code == 200
        assert api_report.json()["blocked"] is False

    # The CLI resolves through the same loopback DNS server (SENDGUARD_DNS_NAMESERVERS).
    good = service.cli(
        "check", str(DATA / "campaign-compliant.eml"), "--from-domain", "news.example.com", "--json"
    )
    assert good.returncode == 0, good.stdout + good.stderr
    good_found = findings_by_check(json.loads(good.stdout))
    assert good_found["spf.found"] == "info"
    assert good_found["address.found"] == "info"
    assert good_found["list_unsubscribe.one_click"] == "info"

    bad = service.cli(
        "check",
        str(DATA / "campaign-noncompliant.eml"),
        "--from-domain",
        "bare.example.com",
        "--json",
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    bad_found = findings_by_check(json.loads(bad.stdout))
    assert bad_found["spf.missing"] == "block"
    assert bad_found["dmarc.missing"] == "block"
    assert bad_found["unsubscribe.missing"] == "block"
    assert bad_found["list_unsubscribe.missing"] == "block"
    assert bad_found["address.missing"] == "block"

    zone = service.cli(
        "check",
        str(DATA / "campaign-compliant.eml"),
        "--from-domain",
        "news.example.com",
        "--zone",
        str(DATA / "news.example.com.zone"),
        "--lang",
        "fr",
    )
    assert zone.returncode == 0, zone.stdout + zone.stderr
    assert "l'envoi peut avoir lieu" in zone.stdout or "information" in zone.stdout

    missing = service.cli("check", str(DATA / "absent.eml"), "--from-domain", "news.example.com")
    assert missing.returncode == 3
    usage = service.cli("check", str(DATA / "campaign-compliant.eml"))
    assert usage.returncode == 2
