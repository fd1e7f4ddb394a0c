"""GET /readyz on a migrated, an outdated, an unreachable and a hung database."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from fastapi.testclient import TestClient

from compliance import migrate
from compliance.app import create_app
from compliance.core.readiness import migration_heads
from compliance.core.settings import Settings


def closed_loopback_port() -> int:
    """Return a loopback TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class SilentServer:
    """A loopback TCP server that accepts connections and never replies, like a hung database."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self._listener.close()
        for connection in self.accepted:
            connection.close()
        self._thread.join(timeout=5)


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(app, base_url="https://sendguard.test") as client:
        yield client


def test_readyz_ready_on_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["keystore"] == {"status": "ok"}
    head = ",".join(migration_heads())
    assert body["checks"]["migrations"] == {"status": "ok", "current": head, "head": head}


def test_readyz_503_behind_head(settings: Settings) -> None:
    command.downgrade(migrate.alembic_config(settings.resolved_database_url), "-1")

    with client_for(settings) as client:
        response = client.get("/readyz")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not_ready"
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "failed"
    assert migrations["reason"] == "database not at head"
    assert migrations["head"] == ",".join(migration_heads())
    assert migrations["current"] not in ("", "none", migrations["head"])
    assert body["checks"]["database"] == {"status": "ok"}


def test_readyz_503_database_unreachable(settings: Settings) -> None:
    port = closed_loopback_port()
    unreachable = settings.model_copy(
        update={"database_url": f"postgresql://opsuser:s3cret-pass@127.0.0.1:{port}/opsdb"}
    )

    with client_for(unreachable) as client:
        response = client.get("/readyz")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["checks"]["database"] == {
        "status": "failed",
        "reason": "database unreachable",
        "error_type": "OperationalError",
    }
    assert body["checks"]["migrations"]["status"] == "failed"
    assert body["checks"]["keystore"] == {"status": "ok"}
    for secret in ("s3cret-pass", "opsuser", "opsdb", str(port)):
        assert secret not in response.text


def test_readyz_hung_database_times_out(settings: Settings) -> None:
    server = SilentServer()
    hung = settings.model_copy(
        update={
            "database_url": f"postgresql://opsuser@127.0.0.1:{server.port}/opsdb",
            "readiness_timeout_seconds": 0.5,
        }
    )
    try:
        with client_for(hung) as client:
            try:
                first = client.get("/readyz")
                second = client.get("/readyz")
                # The second probe waits on the first run instead of opening
                # another connection to the hung server.
                accepted = len(server.accepted)
            finally:
                # Unblocks the check thread before the client's event loop
                # waits for its threads on exit.
                server.close()
    finally:
        server.close()

    for response in (first, second):
        assert response.status_code == 503, response.text
        check = response.json()["checks"]["databases"]
        assert check["status"] == "failed"
        assert check["reason"] == "timed out"
    assert accepted == 1


def test_readyz_and_metrics_not_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "/readyz" not in paths
    assert "/metrics" not in paths
    assert "/healthz" not in paths
