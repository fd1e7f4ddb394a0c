"""``sendguard serve`` as a real process on loopback, for browser tests and benchmarks.

The process gets its own data folder, database URLs and environment, so a
test or a benchmark run never shares state with another. Only loopback
addresses are configured: the public URL, the SMTP relay and the DNS
nameservers all point at 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.smtp_server import free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class SenderAccount:
    """What ``sendguard sender create`` prints: the ids and the first admin key."""

    sender_id: str
    form_id: str
    admin_key: str

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


class ServeProcess:
    """Run ``sendguard serve`` on a free loopback port; use it as a context manager.

    ``settings`` contains ``SENDGUARD_*`` variables (without the prefix, any
    case) added to the defaults, for example ``{"SMTP_URL": smtp.url}``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str = "",
        keystore_url: str = "",
        settings: Mapping[str, str] | None = None,
        port: int | None = None,
        serve_command: list[str] | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(data_dir),
            "SENDGUARD_ENV": "development",
            "SENDGUARD_DATA_DIR": str(data_dir),
            "SENDGUARD_PUBLIC_URL": self.base_url,
            "SENDGUARD_OUTBOX_POLL_SECONDS": "0.2",
        }
        if database_url:
            self.env["SENDGUARD_DATABASE_URL"] = database_url
        if keystore_url:
            self.env["SENDGUARD_KEYSTORE_URL"] = keystore_url
        for name, value in (settings or {}).items():
            self.env[f"SENDGUARD_{name.upper()}"] = value
        # A caller may wrap the server (a profiler, for example); the
        # default is the installed console script.
        self._command = serve_command or [str(BIN / "sendguard")]
        # Options after --host and --port, for example ["--workers", "2"].
        self._serve_args = list(serve_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the service is not started: call start() first")
        return self._process.pid

    def start(self) -> None:
        """Start the process and wait until ``/healthz`` returns 200.

        :raises AssertionError: when the process exits or does not respond in time;
            the message contains the service log.
        """
        self.launch()
        self.wait_until_ready()

    def launch(self) -> None:
        """Start the process without waiting, so that several services can start together."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log_file:
            self._process = subprocess.Popen(
                [
                    *self._command,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self._serve_args,
                ],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self) -> None:
        """Wait until ``/healthz`` returns 200; see :meth:`start` for the errors."""
        process = self._process
        if process is None:
            raise RuntimeError("the service is not launched: call launch() first")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"sendguard serve exited at start:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(
            f"sendguard serve did not answer within {START_TIMEOUT_SECONDS:.0f} s:\n"
            f"{self.log_text()}"
        )

    def stop(self) -> None:
        """Stop the process with SIGTERM, then SIGKILL if it has not exited in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop the process with SIGKILL at once, as a crash would, and reap it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``sendguard ARGS`` with the service's environment (same database and keys)."""
        return subprocess.run(
            [str(BIN / "sendguard"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def create_sender(
        self, name: str, *, locale: str = "fr", postal_address: str | None = None
    ) -> SenderAccount:
        """Create a sender with the CLI and return its ids and admin key."""
        args = ["sender", "create", name, "--locale", locale]
        if postal_address is not None:
            args += ["--postal-address", postal_address]
        created = self.cli(*args)
        if created.returncode != 0:
            raise AssertionError(f"sendguard sender create failed:\n{created.stderr}")
        fields = {}
        for line in created.stdout.splitlines():
            name_part, _, value = line.partition(":")
            fields[name_part.strip()] = value.strip()
        return SenderAccount(fields["sender_id"], fields["form_id"], fields["admin key"])

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
