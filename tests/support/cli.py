"""Run the ``sendguard`` command as a real process against a test's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from compliance.core.settings import Settings

BIN = Path(sys.executable).parent


def environment(settings: Settings) -> dict[str, str]:
    assert settings.token_secret is not None and settings.blind_index_keys is not None
    return {
        "PATH": os.environ.get("PATH", ""),
        "SENDGUARD_ENV": "test",
        "SENDGUARD_DATA_DIR": str(settings.data_dir),
        "SENDGUARD_DATABASE_URL": settings.resolved_database_url,
        "SENDGUARD_KEYSTORE_URL": settings.resolved_keystore_url,
        "SENDGUARD_MASTER_KEY_FILE": str(settings.master_key_file),
        "SENDGUARD_TOKEN_SECRET": settings.token_secret.get_secret_value(),
        "SENDGUARD_BLIND_INDEX_KEYS": settings.blind_index_keys.get_secret_value(),
    }


def run_cli(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "sendguard"), *args],
        env=environment(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
