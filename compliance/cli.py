"""The ``sendguard`` command line.

Exit codes: 0 pass (warnings allowed), 1 a check blocks the send or a
violation was found, 2 usage error, 3 could not run (unreachable database,
unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from compliance.core.keys import KeyConfigError, generate_key_text
from compliance.core.models import Role, Sender
from compliance.core.settings import Settings, get_settings

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3


class CannotRun(Exception):
    """The command could not run. The message names the failure and the next step."""


def _fail(message: str) -> int:
    print(f"sendguard: error: {message}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def _migrate(settings: Settings) -> None:
    from compliance import migrate

    try:
        migrate.upgrade(settings.resolved_database_url)
    except (OperationalError, SQLAlchemyError) as error:
        raise CannotRun(
            f"cannot migrate the database ({type(error).__name__}); check "
            "SENDGUARD_DATABASE_URL and that the server is up"
        ) from None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from compliance.app import create_app
    from compliance.core.logging import configure_logging

    configure_logging()
    _migrate(settings)
    where = (
        f"emails go through the SMTP relay {settings.smtp_url.split('@')[-1]}"
        if settings.smtp_url
        else f"emails are written as .eml files to {settings.resolved_outbox_dir.resolve()}"
    )
    print(
        f"Sendguard listens on http://{args.host}:{args.port} ({settings.env.value}); {where}",
        flush=True,
    )
    print(f"Database: {_redact(settings.resolved_database_url)}", flush=True)
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


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    print(f"Database is at the newest revision: {_redact(settings.resolved_database_url)}")
    return EXIT_OK


def _session(settings: Settings) -> Session:
    from compliance.core.db import make_engine

    _migrate(settings)
    return Session(make_engine(settings.resolved_database_url), expire_on_commit=False)


def cmd_sender_create(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.tenants import create_sender, issue_key

    with _session(settings) as session:
        sender = create_sender(
            session, args.name, postal_address=args.postal_address, default_locale=args.locale
        )
        issued = issue_key(session, sender.id, Role.ADMIN, actor="cli")
        session.commit()

    print(f"sender_id: {sender.id}")
    print(f"form_id:   {sender.form_id}")
    print(f"admin key: {issued.secret}")
    print("Store the key now: it is shown only once.", file=sys.stderr)
    return EXIT_OK


def cmd_sender_list(_args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as session:
        for sender in session.exec(select(Sender).order_by(col(Sender.created_at))):
            print(f"{sender.id}  {sender.form_id}  {sender.name}")
    return EXIT_OK


def cmd_key_create(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.errors import NotFound
    from compliance.core.tenants import issue_key

    with _session(settings) as session:
        try:
            issued = issue_key(session, args.sender, Role(args.role), actor="cli")
        except NotFound:
            print(
                f"sendguard: error: sender {args.sender} not found; list senders with "
                "`sendguard sender list`",
                file=sys.stderr,
            )
            return EXIT_USAGE
        session.commit()
    print(f"{args.role} key: {issued.secret}")
    return EXIT_OK


def cmd_keys_generate(_args: argparse.Namespace, _settings: Settings) -> int:
    print("# Put the first value in the file named by SENDGUARD_MASTER_KEY_FILE (mode 0600).")
    print(f"master key: {generate_key_text()}")
    print(f"SENDGUARD_TOKEN_SECRET={generate_key_text()}")
    print(f"SENDGUARD_BLIND_INDEX_KEYS=1:{generate_key_text()}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.checks.dns_lookup import (
        ResolverTxtLookup,
        TxtLookup,
        ZoneFileError,
        ZoneTxtLookup,
    )
    from compliance.checks.report import render_text, run_message_check

    try:
        raw = Path(args.message).read_bytes()
    except OSError as error:
        return _fail(f"cannot read {args.message}: {error.strerror}")

    lookup: TxtLookup | None = None
    try:
        if args.zone:
            lookup = ZoneTxtLookup.from_file(args.zone)
        elif not args.no_dns:
            servers = args.nameserver or [
                entry for entry in settings.dns_nameservers.split(",") if entry.strip()
            ]
            if servers:
                lookup = ResolverTxtLookup.from_nameservers(
                    servers, timeout=settings.dns_timeout_seconds
                )
            else:
                lookup = ResolverTxtLookup.from_system(timeout=settings.dns_timeout_seconds)
    except OSError as error:
        return _fail(f"cannot read zone file {args.zone}: {error.strerror}")
    except ZoneFileError as error:
        return _fail(str(error))
    except ValueError as error:
        print(f"sendguard: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    try:
        report = run_message_check(raw, args.from_domain, lookup)
    except ValueError as error:
        print(f"sendguard: error: --from-domain: {error}", file=sys.stderr)
        return EXIT_USAGE

    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report, args.lang or settings.default_locale))
    return EXIT_BLOCKED if report.blocked else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sendguard", description="Email-marketing compliance and deliverability toolkit."
    )
    commands = parser.add_subparsers(dest="command", required=True)

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

    sender = commands.add_parser("sender", help="manage senders (tenants)")
    sender_commands = sender.add_subparsers(dest="sender_command", required=True)
    create = sender_commands.add_parser(
        "create", help="create a sender and print its first admin API key once"
    )
    create.add_argument("name", help="the organisation's name, shown in emails and pages")
    create.add_argument(
        "--postal-address", default="", help="physical postal address printed in email footers"
    )
    create.add_argument(
        "--locale", choices=["fr", "en"], default="fr", help="default language of pages and emails"
    )
    create.set_defaults(handler=cmd_sender_create)
    sender_commands.add_parser("list", help="list senders: id, form id, name").set_defaults(
        handler=cmd_sender_list
    )

    key = commands.add_parser("key", help="manage API keys")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    key_create = key_commands.add_parser("create", help="create an API key and print it once")
    key_create.add_argument("--sender", required=True, help="sender id")
    key_create.add_argument(
        "--role", required=True, choices=[role.value for role in Role], help="role of the key"
    )
    key_create.set_defaults(handler=cmd_key_create)

    keys = commands.add_parser("keys", help="key material")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "generate", help="print new random keys for production settings"
    ).set_defaults(handler=cmd_keys_generate)

    check = commands.add_parser("check", help="run the pre-send checks on an .eml message")
    check.add_argument("message", help="path of the message (.eml, RFC 5322)")
    check.add_argument(
        "--from-domain", required=True, help="domain of the From address, e.g. news.example.org"
    )
    check.add_argument(
        "--zone", help="answer DNS queries from this zone file instead of the network"
    )
    check.add_argument(
        "--nameserver",
        action="append",
        help="DNS server as host:port (repeatable); default: settings or system",
    )
    check.add_argument("--no-dns", action="store_true", help="skip the DNS checks")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--lang",
        choices=["fr", "en"],
        help="language of the text report (default: SENDGUARD_DEFAULT_LOCALE)",
    )
    check.set_defaults(handler=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as error:
        print(f"sendguard: error: invalid settings: {error}", file=sys.stderr)
        return EXIT_USAGE

    try:
        code: int = args.handler(args, settings)
    except CannotRun as error:
        return _fail(str(error))
    except KeyConfigError as error:
        return _fail(str(error))
    return code


if __name__ == "__main__":
    sys.exit(main())
