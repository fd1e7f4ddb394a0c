"""``sendguard suppression import|export|formats`` as real processes."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from compliance.core.settings import Settings
from tests.support.cli import run_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))


def new_sender(settings: Settings) -> str:
    created = run_cli(settings, "sender", "create", "Import test")
    assert created.returncode == 0, created.stderr
    return created.stdout.split("sender_id:")[1].split()[0]


def test_import_then_export(settings: Settings, tmp_path: Path) -> None:
    sender = new_sender(settings)
    bounces = CORPUS / "exports" / "sendgrid" / "suppression_bounces.csv"

    imported = run_cli(
        settings, "suppression", "import", str(bounces), "--sender", sender, "--json"
    )
    again = run_cli(settings, "suppression", "import", str(bounces), "--sender", sender, "--json")
    out = tmp_path / "export.csv"
    exported = run_cli(
        settings,
        "suppression",
        "export",
        "--sender",
        sender,
        "--format",
        "hashed_csv",
        "--out",
        str(out),
    )

    assert imported.returncode == 0, imported.stderr
    first = json.loads(imported.stdout)
    assert first["format"] == "sendgrid_bounces_csv"
    assert first["imported"] >= 1
    assert json.loads(again.stdout)["imported"] == 0
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == first["imported"]
    assert {row["reason"] for row in rows} == {"hard_bounce"}
    assert all(len(row["blind_index"]) == 64 for row in rows)


def test_import_reports_rejected_lines(settings: Settings, tmp_path: Path) -> None:
    sender = new_sender(settings)
    source = tmp_path / "list.csv"
    source.write_text("email\nok@example.org\nbroken\n", encoding="utf-8")

    result = run_cli(
        settings,
        "suppression",
        "import",
        str(source),
        "--sender",
        sender,
        "--format",
        "generic_csv",
    )

    assert result.returncode == 0, result.stderr
    assert "line 3: email:" in result.stdout
    assert "broken" not in result.stdout


def test_import_unknown_format_is_usage_error(settings: Settings, tmp_path: Path) -> None:
    sender = new_sender(settings)
    source = tmp_path / "mystery.bin"
    source.write_bytes(b"\x00\x01\x02")

    result = run_cli(settings, "suppression", "import", str(source), "--sender", sender)

    assert result.returncode == 2
    assert "--format" in result.stderr


def test_formats_lists_every_format(settings: Settings) -> None:
    result = run_cli(settings, "suppression", "formats")

    assert result.returncode == 0
    for name in (
        "generic_csv",
        "mailchimp_csv",
        "sendgrid_bounces_csv",
        "ses_put_csv",
        "postmark_dump_json",
    ):
        assert name in result.stdout
