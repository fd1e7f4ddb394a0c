"""``sendguard sender``, ``sendguard key`` and ``sendguard keys``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlmodel import col, select

from compliance.cli.common import EXIT_OK, EXIT_USAGE, open_session
from compliance.cli.keys import add_key_rotation_parsers
from compliance.core.keys import generate_key_text
from compliance.core.models import ApiKey, Role, Sender
from compliance.core.settings import Settings


def cmd_sender_create(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.tenants import create_sender, issue_key, validate_sender_fields

    try:
        validate_sender_fields(args.name, args.postal_address)
    except ValueError as error:
        print(f"sendguard: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    with open_session(settings) as session:
        sender = create_sender(
            session, args.name, postal_address=args.postal_address, default_locale=args.locale
        )
        issued = issue_key(session, sender.id, Role.ADMIN, actor="cli")
        session.commit()

    print(f"sender_id: {sender.id}")
    print(f"key_id:    {issued.key_id}")
    print(f"form_id:   {sender.form_id}")
    print(f"admin key: {issued.secret}")
    print("Store the key now: it is shown only once.", file=sys.stderr)
    return EXIT_OK


def cmd_sender_list(_args: argparse.Namespace, settings: Settings) -> int:
    with open_session(settings) as session:
        for sender in session.exec(select(Sender).order_by(col(Sender.created_at))):
            print(f"{sender.id}  {sender.form_id}  {sender.name}")
    return EXIT_OK


def cmd_key_create(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.errors import NotFound
    from compliance.core.tenants import issue_key

    with open_session(settings) as session:
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
    print(f"key_id: {issued.key_id}")
    print(f"{args.role} key: {issued.secret}")
    return EXIT_OK


def cmd_key_list(args: argparse.Namespace, settings: Settings) -> int:
    with open_session(settings) as session:
        rows = session.exec(
            select(ApiKey).where(ApiKey.sender_id == args.sender).order_by(col(ApiKey.created_at))
        )
        for row in rows:
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            print(f"{row.id}  {row.role:6}  sg_{row.prefix}_…  {state}")
    return EXIT_OK


def cmd_key_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.errors import NotFound
    from compliance.core.tenants import revoke_key

    with open_session(settings) as session:
        try:
            revoke_key(session, args.sender, args.key_id, actor="cli")
        except NotFound:
            print(
                f"sendguard: error: key {args.key_id} not found for sender {args.sender}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        session.commit()
    print(f"revoked: {args.key_id}")
    return EXIT_OK


def cmd_keys_generate(_args: argparse.Namespace, _settings: Settings) -> int:
    print("# Put the first value in the file named by SENDGUARD_MASTER_KEY_FILE (mode 0600).")
    print(f"master key: {generate_key_text()}")
    print(f"SENDGUARD_TOKEN_SECRET={generate_key_text()}")
    print(f"SENDGUARD_BLIND_INDEX_KEYS=1:{generate_key_text()}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
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
    key_list = key_commands.add_parser("list", help="list a sender's keys (ids, roles, state)")
    key_list.add_argument("--sender", required=True, help="sender id")
    key_list.set_defaults(handler=cmd_key_list)
    key_revoke = key_commands.add_parser("revoke", help="revoke a key at once")
    key_revoke.add_argument("key_id", help="id of the key, as `sendguard key list` prints it")
    key_revoke.add_argument("--sender", required=True, help="sender id")
    key_revoke.set_defaults(handler=cmd_key_revoke)

    keys = commands.add_parser("keys", help="key material")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "generate", help="print new random keys for production settings"
    ).set_defaults(handler=cmd_keys_generate)
    add_key_rotation_parsers(keys_commands)
