"""``sendguard dns check`` and ``POST /v1/domains/{domain}/check`` over the loopback DNS server."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from compliance.app import create_app
from compliance.core.models import Role
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender, issue_key
from compliance.presend import domains
from compliance.presend.dns_cli import add_dns_parser
from tests.checks.conftest import ZONES_DIR
from tests.support.dns_server import LoopbackDnsServer


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    dns_server = LoopbackDnsServer(ZONES_DIR / "senders.example.com.zone")
    dns_server.load_zone(ZONES_DIR / "sendgrid.net.zone")
    with dns_server:
        yield dns_server


def _run_cli(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="sendguard")
    add_dns_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.handler(args, settings)
    return code


def test_cli_good_domain_exits_zero(
    server: LoopbackDnsServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_cli(
        settings,
        "dns", "check", "good.example.com", "--esp", "sendgrid", "--nameserver", server.nameserver,
        "--account", "return_path_host=em1234", "--json",
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert report["blocked"] is False
    assert {finding["check"] for finding in report["findings"]} >= {
        "spf.found",
        "dkim.found",
        "dmarc.found",
        "esp.record_ok",
    }


def test_cli_blocked_domain_exits_one(
    server: LoopbackDnsServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_cli(
        settings, "dns", "check", "keys.example.com", "--selector", "rsa512",
        "--nameserver", server.nameserver, "--lang", "en",
    )  # fmt: skip
    output = capsys.readouterr().out

    assert code == 1
    assert "under 1024 bits" in output
    assert "the send is blocked" in output


def test_cli_zone_preflight_without_network(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = tmp_path / "draft.zone"
    zone.write_text(
        "$ORIGIN draft.example.com.\n"
        '@ TXT "v=spf1 ip4:192.0.2.0/24 +all"\n'
        '_dmarc TXT "v=DMARC1; p=reject"\n'
        "@ MX 10 mx.draft.example.com.\n",
        encoding="utf-8",
    )
    code = _run_cli(settings, "dns", "check", "draft.example.com", "--zone", str(zone), "--json")
    checks = {f["check"]: f["severity"] for f in json.loads(capsys.readouterr().out)["findings"]}

    assert code == 1
    assert checks["spf.pass_all"] == "block"
    assert checks["dmarc.found"] == "info"
    assert checks["mx.found"] == "info"


def test_cli_usage_errors_exit_two(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(settings, "dns", "check", "person@example.com", "--zone", "x.zone") == 2
    assert "not an email address" in capsys.readouterr().err
    assert _run_cli(settings, "dns", "check", "example.com", "--ip", "999.1.1.1") == 2
    assert "not an IP address" in capsys.readouterr().err


def test_cli_unreadable_zone_exits_three(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_cli(settings, "dns", "check", "example.com", "--zone", str(tmp_path / "none"))

    assert code == 3
    assert "cannot read zone file" in capsys.readouterr().err


@pytest.fixture
def client(settings: Settings, server: LoopbackDnsServer) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"dns_nameservers": server.nameserver})
    app = create_app(configured, run_worker=False, configure_logs=False)
    app.include_router(domains.router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _keys(client: TestClient) -> dict[Role, str]:
    with Session(client.app.state.engine, expire_on_commit=False) as session:  # type: ignore[attr-defined]
        sender = create_sender(session, "Exemple SAS", default_locale="fr")
        keys = {role: issue_key(session, sender.id, role, actor="test").secret for role in Role}
        session.commit()
    return keys


def test_api_returns_report(client: TestClient) -> None:
    keys = _keys(client)
    response = client.post(
        "/v1/domains/good.example.com/check",
        json={"esp": "sendgrid", "account": {"return_path_host": "em1234"}},
        headers={"Authorization": f"Bearer {keys[Role.SENDER]}"},
    )
    report = response.json()

    assert response.status_code == 200
    assert report["from_domain"] == "good.example.com"
    assert report["blocked"] is False
    finding = next(f for f in report["findings"] if f["check"] == "dmarc.found")
    assert set(finding["message"]) == {"fr", "en"}
    assert finding["source"].startswith("Google email sender guidelines")


def test_api_needs_sender_role(client: TestClient) -> None:
    keys = _keys(client)
    response = client.post(
        "/v1/domains/good.example.com/check",
        headers={"Authorization": f"Bearer {keys[Role.DPO]}"},
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/domains/good.example.com/check", {"esp": "nosuchesp"}, "esp"),
        ("/v1/domains/good.example.com/check", {"sending_ips": ["not-an-ip"]}, "sending_ips"),
        ("/v1/domains/person@example.com/check", {}, "domain"),
    ],
)
def test_api_invalid_input_names_field(
    client: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    keys = _keys(client)
    response = client.post(
        path,
        json=body,
        headers={"Authorization": f"Bearer {keys[Role.SENDER]}", "Accept-Language": "en"},
    )
    error = response.json()

    assert response.status_code == 422
    assert error["field"] == field
    assert "person@" not in error["detail"]
