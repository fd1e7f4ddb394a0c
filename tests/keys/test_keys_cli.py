"""``sendguard keys reindex`` and ``sendguard keys status`` as a real process."""

from __future__ import annotations

from compliance.core.settings import Settings
from tests.keys.test_reindex import KNOWN, keys, populate
from tests.support.cli import run_cli


def test_reindex_command_stops_resumes_and_reports(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)
    rotated = pair.rotated(settings)

    first = run_cli(rotated, "keys", "reindex", "--batch-size", "2", "--max-batches", "1")
    rest = run_cli(rotated, "keys", "reindex", "--batch-size", "2")
    status = run_cli(rotated, "keys", "status")

    assert first.returncode == 0, first.stderr
    assert "batch 1: 2 contacts read" in first.stdout
    assert "contacts moved: from version 1: 2" in first.stdout
    assert "resume with `sendguard keys reindex --after" in first.stdout
    assert rest.returncode == 0, rest.stderr
    assert f"contacts moved: from version 1: {len(KNOWN) - 2}" in rest.stdout
    assert "finished: every contact with a known address was read" in rest.stdout
    assert "cannot be re-indexed" in rest.stdout
    assert status.returncode == 0, status.stderr
    assert "previous token key ids that still verify: none" in status.stdout
    assert "blind-index versions: 1, 2 (current 2)" in status.stdout
    assert f"contacts: version 2: {len(KNOWN)}" in status.stdout
    # The hash-only entry is the one row left under version 1.
    assert "suppression_entries: version 1: 1, version 2: 5" in status.stdout
    for address in KNOWN:
        assert address not in first.stdout + rest.stdout + status.stdout + status.stderr


def test_status_flags_rows_under_retired_version(settings: Settings) -> None:
    pair = keys()
    populate(settings, pair)

    status = run_cli(pair.retired(settings), "keys", "status")

    assert status.returncode == 0, status.stderr
    assert "version 1: 5 (version not live: these rows no longer match)" in status.stdout


def test_reindex_rejects_zero_batch_size(settings: Settings) -> None:
    result = run_cli(settings, "keys", "reindex", "--batch-size", "0")

    assert result.returncode == 2
    assert "--batch-size" in result.stderr
