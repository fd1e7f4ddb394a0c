"""``sendguard serve`` and ``sendguard db upgrade``."""

from __future__ import annotations

import argparse
from typing import Any

from compliance.cli.common import EXIT_OK, migrate_database, redact
from compliance.core.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from compliance.app import create_app
    from compliance.core.logging import configure_logging

    configure_logging()
    migrate_database(settings)
    where = (
        f"emails go through the SMTP relay {settings.smtp_url.split('@')[-1]}"
        if settings.smtp_url
        else f"emails are written as .eml files to {settings.resolved_outbox_dir.resolve()}"
    )
    print(
        f"Sendguard listens on http://{args.host}:{args.port} ({settings.env.value}); {where}",
        flush=True,
    )
    print(f"Database: {redact(settings.resolved_database_url)}", flush=True)
    print(f"Key store: {redact(settings.resolved_keystore_url)}", flush=True)
    if settings.is_development:
        print(
            f"Development keys: {settings.data_dir.resolve()} (generated on first start)",
            flush=True,
        )
    # uvicorn's access log would print page paths, which carry signed tokens;
    # the app logs each request with its route template instead.
    uvicorn.run(
        create_app(settings, configure_logs=False),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )
    return EXIT_OK


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    migrate_database(settings)
    print(f"Database is at the newest revision: {redact(settings.resolved_database_url)}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="migrate the database and run the HTTP service with its outbox worker"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default 8000)"
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration").set_defaults(
        handler=cmd_db_upgrade
    )
