"""Readiness: both databases respond and the main one is at the newest migration.

A load balancer polls ``/readyz`` and stops sending traffic to a process
whose checks fail. Each failure is described by non-personal facts only
(the check name, an exception class, revision ids): never a URL, which may
hold a password, and never the database's error text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from compliance.core.db import is_postgresql, read_only
from compliance.migrate import alembic_config

log = structlog.get_logger(__name__)

# On PostgreSQL each check statement is cut off after this long.
STATEMENT_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one readiness check; ``detail`` contains non-personal facts only."""

    name: str
    ok: bool
    detail: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, str]:
        return {"status": "ok" if self.ok else "failed", **self.detail}


@dataclass(frozen=True)
class Readiness:
    checks: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not_ready",
            "checks": {check.name: check.as_json() for check in self.checks},
        }


def migration_heads() -> tuple[str, ...]:
    """Return the head revision ids of compliance/migrations (one, unless branches exist)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config("")).get_heads()))


def run_checks(engine: Engine, keystore_engine: Engine, heads: tuple[str, ...]) -> Readiness:
    """Check both databases and the migration revision; blocks, so run it in a thread."""
    database = _ping("database", engine)
    keystore = _ping("keystore", keystore_engine)
    if database.ok:
        migrations = _check_revision(engine, heads)
    else:
        migrations = CheckResult("migrations", False, {"reason": "database unreachable"})
    return Readiness((database, keystore, migrations))


def _ping(name: str, engine: Engine) -> CheckResult:
    try:
        with read_only(engine).connect() as connection:
            _limit_statement_time(engine, connection)
            connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness.check_failed", check=name, error_type=type(error).__name__)
        return CheckResult(
            name, False, {"reason": "database unreachable", "error_type": type(error).__name__}
        )
    return CheckResult(name, True)


def _check_revision(engine: Engine, heads: tuple[str, ...]) -> CheckResult:
    try:
        with read_only(engine).connect() as connection:
            _limit_statement_time(engine, connection)
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except Exception as error:
        log.warning("readiness.check_failed", check="migrations", error_type=type(error).__name__)
        return CheckResult(
            "migrations",
            False,
            {"reason": "revision unreadable", "error_type": type(error).__name__},
        )

    detail = {"current": ",".join(current) or "none", "head": ",".join(heads)}
    if current != heads:
        # Run `sendguard db upgrade` (or wait for the process that runs it).
        return CheckResult("migrations", False, {"reason": "database not at head", **detail})
    return CheckResult("migrations", True, detail)


def _limit_statement_time(engine: Engine, connection: Connection) -> None:
    if is_postgresql(engine):
        # SET LOCAL lasts until the end of the transaction that the first
        # execute opened, so the pooled connection keeps its own setting.
        connection.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))


class ReadinessProbe:
    """Run the checks with a deadline, and never more than one run at a time.

    A hung database keeps its check thread blocked (a socket read cannot be
    interrupted), so the probe returns 503 when the deadline passes, and the
    next probes wait on that same run instead of starting a thread each.
    """

    def __init__(
        self,
        engine: Engine,
        keystore_engine: Engine,
        heads: tuple[str, ...],
        deadline_seconds: float,
    ) -> None:
        self._engine = engine
        self._keystore_engine = keystore_engine
        self._heads = heads
        self._deadline_seconds = deadline_seconds
        self._running: asyncio.Future[Readiness] | None = None

    def uses(self, engine: Engine, keystore_engine: Engine) -> bool:
        return self._engine is engine and self._keystore_engine is keystore_engine

    async def check(self) -> Readiness:
        loop = asyncio.get_running_loop()
        running = self._running
        if running is None or running.done() or running.get_loop() is not loop:
            running = asyncio.ensure_future(
                asyncio.to_thread(run_checks, self._engine, self._keystore_engine, self._heads)
            )
            self._running = running
        try:
            return await asyncio.wait_for(asyncio.shield(running), self._deadline_seconds)
        except TimeoutError:
            log.warning("readiness.timed_out", deadline_seconds=self._deadline_seconds)
            timed_out = {"reason": "timed out", "deadline_seconds": str(self._deadline_seconds)}
            return Readiness((CheckResult("databases", False, timed_out),))
