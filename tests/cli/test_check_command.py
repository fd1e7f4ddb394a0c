"""``sendguard check`` on inputs that cannot be read: it exits 3 with a clear message."""

from __future__ import annotations

from pathlib import Path

from compliance.core.settings import Settings
from tests.support.cli import run_cli

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
