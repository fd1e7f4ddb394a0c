"""``sendguard serve``, ``sendguard worker`` and ``sendguard db upgrade``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, is_sqlite, migrate_database, redact
from compliance.cli.worker import add_worker_parser, sqlite_rejection
from compliance.core.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from compliance.app import BACKGROUND_VARIABLE, create_app
    from compliance.core.client_address import uvicorn_proxy_options
    from compliance.core.logging import configure_logging

    rejection = _serve_rejection(args, settings)
    if rejection is not None:
        print(f"sendguard: error: {rejection}", file=sys.stderr)
        return EXIT_USAGE

    configure_logging()
    migrate_database(settings)
    _print_banner(args, settings)

    # Every rate limit is keyed on the client address that uvicorn resolves:
    # forwarded headers count only from SENDGUARD_TRUSTED_PROXIES.
    proxy = uvicorn_proxy_options(settings.trusted_proxy_list)

    # uvicorn's access log would print page paths, which carry signed tokens;
    # the app logs each request with its route template instead.
    if args.workers == 1:
        uvicorn.run(
            create_app(settings, run_worker=args.background, configure_logs=False),
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            proxy_headers=proxy.proxy_headers,
            forwarded_allow_ips=proxy.forwarded_allow_ips,
        )
        return EXIT_OK

    # Each uvicorn worker is a fresh process that imports the factory and
    # reads its settings, and this choice, from the environment.
    os.environ[BACKGROUND_VARIABLE] = "1" if args.background else "0"
    uvicorn.run(
        "compliance.app:create_app_from_environment",
        factory=True,
        workers=args.workers,
        timeout_worker_healthcheck=settings.serve_worker_healthcheck_seconds,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=proxy.proxy_headers,
        forwarded_allow_ips=proxy.forwarded_allow_ips,
    )
    return EXIT_OK


def _serve_rejection(args: argparse.Namespace, settings: Settings) -> str | None:
    """Return why these options cannot run on the configured databases, or None."""
    if args.workers > 1:
        return sqlite_rejection(settings, f"`sendguard serve --workers {args.workers}`")
    if not args.background and _uses_sqlite(settings):
        # No `sendguard worker` may run beside it on SQLite, so nothing would
        # ever send the emails, webhooks and purges this process queues.
        return (
            "`sendguard serve --no-background` is not possible on SQLite: no"
            " `sendguard worker` can run beside it (SQLite allows one writer process),"
            " so queued emails would never be sent. Remove --no-background, or set"
            " SENDGUARD_DATABASE_URL and SENDGUARD_KEYSTORE_URL to PostgreSQL and run"
            " `sendguard worker`."
        )
    return None


def _uses_sqlite(settings: Settings) -> bool:
    return is_sqlite(settings.resolved_database_url) or is_sqlite(settings.resolved_keystore_url)


def _print_banner(args: argparse.Namespace, settings: Settings) -> None:
    where = (
        f"emails go through the SMTP relay {settings.smtp_url.split('@')[-1]}"
        if settings.smtp_url
        else f"emails are written as .eml files to {settings.resolved_outbox_dir.resolve()}"
    )
    print(
        f"Sendguard listens on http://{args.host}:{args.port} ({settings.env.value}); {where}",
        flush=True,
    )
    background = "in each HTTP worker" if args.background else "off (run `sendguard worker`)"
    print(f"HTTP workers: {args.workers}; background loops: {background}", flush=True)
    print(f"Database: {redact(settings.resolved_database_url)}", flush=True)
    print(f"Key store: {redact(settings.resolved_keystore_url)}", flush=True)
    if settings.is_development:
        print(
            f"Development keys: {settings.data_dir.resolve()} (generated on first start)",
            flush=True,
        )


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    migrate_database(settings)
    print(f"Database is at the newest revision: {redact(settings.resolved_database_url)}")
    return EXIT_OK


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def add_parsers(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="migrate the database and run the HTTP service, with the background loops by default",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default 8000)"
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="number of uvicorn worker processes (default 1; more than 1 needs PostgreSQL)",
    )
    serve.add_argument(
        "--no-background",
        dest="background",
        action="store_false",
        help=(
            "serve HTTP only and leave the outbox, processor notifications, purges and"
            " maintenance to `sendguard worker` processes (needs PostgreSQL)"
        ),
    )
    serve.set_defaults(handler=cmd_serve)

    add_worker_parser(commands)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration").set_defaults(
        handler=cmd_db_upgrade
    )
