"""``sendguard consent``: verify the ledger, export signed checkpoints, run the maintenance."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from compliance.cli.common import (
    EXIT_BLOCKED,
    EXIT_OK,
    EXIT_USAGE,
    CannotRun,
    migrate_database,
    open_session,
)
from compliance.core.settings import Settings


def _sender_exists(session: Any, sender_id: str) -> bool:
    from compliance.core.models import Sender

    return session.get(Sender, sender_id) is not None


def _read_statement(path: Path) -> dict[str, object]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CannotRun(f"cannot read checkpoint file {path}: {error.strerror}") from None
    except ValueError:
        raise CannotRun(
            f"checkpoint file {path} is not JSON; give a file written by"
            " `sendguard consent checkpoint`"
        ) from None
    if not isinstance(content, dict):
        raise CannotRun(f"checkpoint file {path} does not hold a JSON object")
    return content


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from consent import ledger

    statements = [(path, _read_statement(path)) for path in args.checkpoint]
    with open_session(settings, read_only=True) as session:
        if not _sender_exists(session, args.sender):
            print(f"sendguard: error: sender {args.sender} not found", file=sys.stderr)
            return EXIT_USAGE
        report = ledger.verify_chain(session, args.sender)
        checks = [
            (path, ledger.check_checkpoint(session, args.sender, statement))
            for path, statement in statements
        ]

    if report.intact:
        print(f"chain intact: {report.records} records, head {report.head_hash}")
    else:
        print(f"chain broken: first broken record {report.first_broken_record_id}")
    for path, check in checks:
        print(f"checkpoint {path}: {check.status}")
    failed = not report.intact or any(not check.ok for _, check in checks)
    return EXIT_BLOCKED if failed else EXIT_OK


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.keys import load_keyring
    from compliance.core.signing import StatementSigner
    from consent import ledger

    signer = StatementSigner(load_keyring(settings).master_key)
    with open_session(settings) as session:
        if not _sender_exists(session, args.sender):
            print(f"sendguard: error: sender {args.sender} not found", file=sys.stderr)
            return EXIT_USAGE
        statement = ledger.create_checkpoint(session, signer, args.sender)
        session.commit()

    text = json.dumps(statement, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CannotRun(f"cannot write {args.out}: {error.strerror}") from None
        print(f"checkpoint written to {args.out}")
    if not statement["chain_intact"]:
        print("warning: the chain is broken; run `sendguard consent verify`", file=sys.stderr)
        return EXIT_BLOCKED
    return EXIT_OK


def cmd_maintain(_args: argparse.Namespace, settings: Settings) -> int:
    from compliance.app import open_runtime
    from consent.maintenance import run_maintenance

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        report = run_maintenance(runtime.engine, runtime.services)
    finally:
        runtime.dispose()
    print(f"reminders queued: {report.reminders_sent}")
    print(f"expired sign-ups purged: {report.signups_purged}")
    print(f"checkpoints written: {report.checkpoints_written}")
    print(
        f"expired sign-ups kept (list members or former subscribers): {report.signups_expired_kept}"
    )
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    consent = commands.add_parser("consent", help="consent ledger: verify, checkpoint, maintain")
    consent_commands = consent.add_subparsers(dest="consent_command", required=True)

    verify = consent_commands.add_parser(
        "verify",
        help="check the sender's consent chain (exit 1 when broken) and any exported checkpoints",
    )
    verify.add_argument("--sender", required=True, help="sender id")
    verify.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a file written by `sendguard consent checkpoint`; repeat for several",
    )
    verify.set_defaults(handler=cmd_verify)

    checkpoint = consent_commands.add_parser(
        "checkpoint",
        help="sign the chain's head and print or write the statement to keep elsewhere",
    )
    checkpoint.add_argument("--sender", required=True, help="sender id")
    checkpoint.add_argument("--out", type=Path, default=None, help="file to write; default stdout")
    checkpoint.set_defaults(handler=cmd_checkpoint)

    maintain = consent_commands.add_parser(
        "maintain",
        help="queue due double opt-in reminders and purge expired sign-ups, once",
    )
    maintain.set_defaults(handler=cmd_maintain)
