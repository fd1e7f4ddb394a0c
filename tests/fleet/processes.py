"""Pieces the fleet tests share: ``sendguard worker`` processes and the settings of one fleet."""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.support.service import BIN

# Short, so that the rows a killed worker held are claimed again within a
# test. A local relay sends a batch of 20 in well under this.
LEASE_SECONDS = 6


def random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


class WorkerProcess:
    """``sendguard worker`` as a real process, with its output in a log file."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                [str(BIN / "sendguard"), "worker"],
                env=dict(env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def wait_until_started(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"sendguard worker exited at start:\n{self.log_text()}")
            if "background.started" in self.log_text():
                return
            time.sleep(0.1)
        raise AssertionError(f"sendguard worker did not start:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def fleet_settings(tmp_path: Path, smtp_url: str) -> dict[str, str]:
    """Return settings every process shares: the relay, the lease and the same keys."""
    master = tmp_path / "master.key"
    master.write_text(random_key())
    return {
        "SMTP_URL": smtp_url,
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "SUBSCRIBE_RATE_PER_MINUTE": "100000",
        "MASTER_KEY_FILE": str(master),
        "TOKEN_SECRET": random_key(),
        "BLIND_INDEX_KEYS": f"1:{random_key()}",
    }


def signup_body(form_id: str, address: str) -> dict[str, str]:
    return {
        "form_id": form_id,
        "email": address,
        "consent_text": "J'accepte de recevoir la lettre de Flotte Exemple.",
        "consent_text_version": "v1",
        "privacy_policy_url": "https://flotte.example.com/confidentialite",
        "privacy_policy_version": "2026-01",
    }


def webhook_settings() -> dict[str, str]:
    """Return the settings that let processor webhooks reach a receiver on loopback over HTTP."""
    return {
        "PROCESSOR_ALLOW_HTTP": "true",
        "PROCESSOR_ALLOW_PRIVATE_NETWORKS": "true",
        "PROCESSOR_TIMEOUT_SECONDS": "2",
    }


def wait_until(condition: Callable[[], bool], description: str, timeout: float) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {description}")
