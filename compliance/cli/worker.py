"""``sendguard worker``: the background loops of ``serve`` with no HTTP server.

Any number of workers may drain one PostgreSQL database beside any number
of ``serve --no-background`` processes. SQLite allows one writer process,
so there only ``sendguard serve`` runs, with the loops inside it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

import structlog

from compliance.cli.common import EXIT_OK, EXIT_USAGE, is_sqlite, migrate_database, redact
from compliance.core.settings import Settings

log = structlog.get_logger(__name__)


def sqlite_rejection(settings: Settings, command: str) -> str | None:
    """Return why ``command`` cannot run beside another process on SQLite, or None.

    The key store counts too: its default is a SQLite file of its own, and
    every sign-up writes a data key to it.
    """
    stores = [
        variable
        for variable, url in (
            ("SENDGUARD_DATABASE_URL", settings.resolved_database_url),
            ("SENDGUARD_KEYSTORE_URL", settings.resolved_keystore_url),
        )
        if is_sqlite(url)
    ]
    if not stores:
        return None
    return (
        f"{command} is not possible on SQLite ({' and '.join(stores)}): SQLite allows"
        " one writer process, and this would start several. Set"
        " SENDGUARD_DATABASE_URL and SENDGUARD_KEYSTORE_URL to PostgreSQL databases,"
        " or run a single `sendguard serve`, which runs the background loops itself."
    )


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    rejection = sqlite_rejection(settings, "`sendguard worker`")
    if rejection is not None:
        print(f"sendguard: error: {rejection}", file=sys.stderr)
        return EXIT_USAGE

    migrate_database(settings)
    print(f"Sendguard worker ({settings.env.value}); no HTTP server", flush=True)
    print(f"Database: {redact(settings.resolved_database_url)}", flush=True)
    print(f"Key store: {redact(settings.resolved_keystore_url)}", flush=True)
    asyncio.run(_run_worker(settings))
    return EXIT_OK


async def _run_worker(settings: Settings) -> None:
    from compliance.app import open_runtime
    from compliance.background import run_until_stopped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, _request_stop, stop, signal_number)

    runtime = open_runtime(settings)
    log.info("worker.started", env=settings.env.value)
    try:
        await run_until_stopped(runtime.engine, runtime.services, stop)
    finally:
        runtime.dispose()
        log.info("worker.stopped")


def _request_stop(stop: asyncio.Event, signal_number: int) -> None:
    log.info("worker.stopping", signal=signal.Signals(signal_number).name)
    stop.set()


def add_worker_parser(commands: Any) -> None:
    worker = commands.add_parser(
        "worker",
        help=(
            "run the outbox, processor notifications, purges and maintenance without HTTP,"
            " until SIGTERM or SIGINT (needs PostgreSQL)"
        ),
    )
    worker.set_defaults(handler=cmd_worker)
