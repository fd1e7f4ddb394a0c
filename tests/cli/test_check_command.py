"""``sendguard check`` on inputs that cannot be read: it exits 3 with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

from compliance.core.settings import Settings
from tests.support.cli import run_cli
from tests.support.dns_server import LoopbackDnsServer

DATA = Path(__file__).resolve().parents[1] / "e2e" / "data"


def test_check_bad_inputs_exit_three(settings: Settings, tmp_path: Path) -> None:
    empty_zone = tmp_path / "empty.zone"
    empty_zone.write_text("", encoding="utf-8")
    binary_zone = tmp_path / "binary.zone"
    binary_zone.write_bytes(b"\xd0\xcf\x11\xe0" * 64)
    message = str(DATA / "campaign-compliant.eml")

    empty = run_cli(
        settings, "check", message, "--from-domain", "news.example.com", "--zone", str(empty_zone)
    )
    binary = run_cli(
        settings, "check", message, "--from-domain", "news.example.com", "--zone", str(binary_zone)
    )
    device = run_cli(
        settings, "check", "/dev/zero", "--from-domain", "news.example.com", "--no-dns"
    )

    assert empty.returncode == 3, empty.stderr
    assert "Traceback" not in empty.stderr
    assert binary.returncode == 3
    assert "binary.zone" in binary.stderr
    assert device.returncode == 3
    assert "larger than" in device.stderr


def test_check_unknown_dns_exits_three(settings: Settings) -> None:
    with LoopbackDnsServer(DATA / "news.example.com.zone") as dns:
        dns.time_out("news.example.com")
        dns.time_out("_dmarc.news.example.com")
        result = run_cli(
            settings,
            "check",
            str(DATA / "campaign-compliant.eml"),
            "--from-domain",
            "news.example.com",
            "--nameserver",
            dns.nameserver,
            "--json",
        )

    assert result.returncode == 3, result.stdout + result.stderr
    assert json.loads(result.stdout)["verdict"] == "unknown"
