"""On SQLite, the commands that would start a second writer process are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.service import ServeProcess

USAGE_ERROR = 2


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["worker"], "`sendguard worker`"),
        (["serve", "--workers", "2"], "`sendguard serve --workers 2`"),
        (["serve", "--no-background"], "`sendguard serve --no-background`"),
    ],
)
def test_sqlite_rejects_second_writer(tmp_path: Path, args: list[str], command: str) -> None:
    # No database URL: the default SQLite files in the data folder.
    service = ServeProcess(tmp_path / "data")

    result = service.cli(*args)

    assert result.returncode == USAGE_ERROR
    assert command in result.stderr
    assert "SQLite allows one writer process" in result.stderr
    assert "SENDGUARD_DATABASE_URL" in result.stderr
    assert "PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
    # Rejected before any work: no database file was created.
    assert not list(tmp_path.glob("data/*.db"))


def test_sqlite_keystore_rejected_for_worker(tmp_path: Path) -> None:
    # A PostgreSQL main database is not enough while the key store is a SQLite file.
    service = ServeProcess(
        tmp_path / "data", database_url="postgresql+psycopg://sendguard@127.0.0.1:9/none"
    )

    result = service.cli("worker")

    assert result.returncode == USAGE_ERROR
    assert "on SQLite (SENDGUARD_KEYSTORE_URL)" in result.stderr
