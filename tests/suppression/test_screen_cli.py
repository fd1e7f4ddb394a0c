"""``sendguard screen`` as a real process on a recipient file."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from sqlmodel import Session

from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import load_keyring
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender
from suppression.models import SuppressionReason
from suppression.service import suppress
from tests.support.cli import run_cli


def sender_with_optout(settings: Settings, address: str) -> str:
    engine = make_engine(settings.resolved_database_url)
    indexer = BlindIndexer(load_keyring(settings))
    with Session(engine) as session:
        sender = create_sender(session, "CLI test")
        suppress(
            session,
            sender.id,
            indexer.current(address),
            reason=SuppressionReason.UNSUBSCRIBE,
            source="test",
            actor="test",
        )
        session.commit()
        sender_id = sender.id
    engine.dispose()
    return sender_id


def run_screen(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, "screen", *args)


def test_screen_file_with_header(settings: Settings, tmp_path: Path) -> None:
    sender_id = sender_with_optout(settings, "parti@example.org")
    source = tmp_path / "recipients.csv"
    source.write_text(
        "\ufeffName,Email Address\nA,garde@example.org\nB,PARTI@example.org\n"
        "C,pas-une-adresse\nD,garde@example.org\n",
        encoding="utf-8",
    )
    out = tmp_path / "sendable.csv"

    result = run_screen(settings, str(source), "--sender", sender_id, "--out", str(out), "--json")

    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert counts == {"kept": 1, "unsubscribe": 1, "invalid_syntax": 1, "duplicate": 1}
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows == [["email"], ["garde@example.org"]]
    assert "parti" not in result.stderr.lower()


def test_screen_file_without_header(settings: Settings, tmp_path: Path) -> None:
    sender_id = sender_with_optout(settings, "parti@example.org")
    source = tmp_path / "plain.csv"
    source.write_text("garde@example.org\nparti@example.org\n", encoding="utf-8")

    result = run_screen(settings, str(source), "--sender", sender_id, "--out", "-")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["email", "garde@example.org"]


def test_screen_errors_have_exit_codes(settings: Settings, tmp_path: Path) -> None:
    sender_id = sender_with_optout(settings, "parti@example.org")
    no_column = tmp_path / "nocolumn.csv"
    no_column.write_text("name,phone\nA,123\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email\nj\xe9r\xf4me@example.org\n".encode("latin-1"))

    missing = run_screen(
        settings,
        str(tmp_path / "absent.csv"),
        "--sender",
        sender_id,
        "--out",
        str(tmp_path / "o.csv"),
    )
    header = run_screen(
        settings, str(no_column), "--sender", sender_id, "--out", str(tmp_path / "o.csv")
    )
    encoding = run_screen(
        settings, str(latin), "--sender", sender_id, "--out", str(tmp_path / "o.csv")
    )
    unknown = run_screen(
        settings, str(no_column), "--sender", "no-such-sender", "--out", str(tmp_path / "o.csv")
    )

    assert missing.returncode == 3
    assert header.returncode == 2
    assert "email" in header.stderr
    assert encoding.returncode == 3
    assert "UTF-8" in encoding.stderr
    assert unknown.returncode == 2


def test_screen_refuses_input_as_output(settings: Settings, tmp_path: Path) -> None:
    sender_id = sender_with_optout(settings, "parti@example.org")
    source = tmp_path / "same.csv"
    source.write_text("email\ngarde@example.org\n", encoding="utf-8")

    result = run_screen(settings, str(source), "--sender", sender_id, "--out", str(source))

    assert result.returncode == 2
    assert source.read_text(encoding="utf-8") == "email\ngarde@example.org\n"


def test_screen_failure_keeps_existing_output(settings: Settings, tmp_path: Path) -> None:
    sender_id = sender_with_optout(settings, "parti@example.org")
    out = tmp_path / "out.csv"
    out.write_text("previous\n", encoding="utf-8")
    broken = tmp_path / "broken.csv"
    broken.write_text("email\nok@example.org\n" + '"' + "x" * 200_000 + '"\n', encoding="utf-8")

    unknown = run_screen(settings, str(broken), "--sender", "no-such-sender", "--out", str(out))
    malformed = run_screen(settings, str(broken), "--sender", sender_id, "--out", str(out))

    assert unknown.returncode == 2
    assert malformed.returncode == 3
    assert "not valid CSV" in malformed.stderr
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".out.csv.")]
