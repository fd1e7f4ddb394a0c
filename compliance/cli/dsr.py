"""``sendguard dsr``: data-subject requests for the DPO, from the terminal.

The commands act on the database directly, as the DPO's API does, and are
audited with the actor ``cli``. An address is read from standard input by
default, so it stays out of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compliance.cli.common import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, CannotRun, migrate_database
from compliance.core.settings import Settings

ACTOR = "cli"


@contextmanager
def _runtime(settings: Settings) -> Iterator[Any]:
    from compliance.app import open_runtime

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.dispose()


def _sender(session: Any, sender_id: str) -> Any:
    from compliance.core.models import Sender

    sender = session.get(Sender, sender_id)
    if sender is None:
        raise CannotRun(f"sender {sender_id} not found; list senders with `sendguard sender list`")
    return sender


def _read_address(args: argparse.Namespace) -> str:
    address = args.email if args.email else sys.stdin.readline().strip()
    if not address:
        raise CannotRun("no address given; pipe it on standard input or pass --email")
    return address


def _parse_time(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CannotRun(f"{option} is not an ISO 8601 date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(view: Any) -> str:
    left = "" if view.days_left is None else f"{view.days_left:>4}d"
    flag = " OVERDUE" if view.overdue else ""
    due = view.due_at.date().isoformat()
    return f"{view.id}  {view.type:<13} {view.status:<16} due {due} {left}{flag}"


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from dsr import workflow
    from dsr.models import RequestSource
    from dsr.router import DsrCreate, new_request_from
    from dsr.views import request_view

    body: dict[str, Any] = {
        "type": args.type,
        "email": _read_address(args),
        "execute": not args.no_execute,
        "notify_subject": not args.no_notify,
        "send_code": not args.no_code,
    }
    if args.verified_by:
        verified_at = _parse_time(args.verified_at, "--verified-at") if args.verified_at else None
        body["attestation"] = {
            "verified_by": args.verified_by,
            "method": args.method,
            "verified_at": (verified_at or datetime.now(UTC)).isoformat(),
        }
    if args.ref:
        body["external_ref"] = args.ref
    if args.received_at:
        body["received_at"] = _parse_time(args.received_at, "--received-at").isoformat()
    if args.changes:
        body["changes"] = json.loads(args.changes)
    try:
        parsed = DsrCreate.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "request"
        print(f"sendguard: error: invalid {field} ({first['type']})", file=sys.stderr)
        return EXIT_USAGE

    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        sender = _sender(session, args.sender)
        request, created = workflow.create_request(
            session,
            runtime.services,
            sender,
            new_request_from(parsed, sender, RequestSource.DPO),
            ACTOR,
        )
        view = request_view(session, request)
        session.commit()
    print(("created " if created else "already recorded ") + _summary(view))
    return EXIT_OK


@contextmanager
def runtime_session(runtime: Any) -> Iterator[Any]:
    from sqlmodel import Session

    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from dsr import queries
    from dsr.views import request_view

    due_before = _parse_time(args.due_before, "--due-before") if args.due_before else None
    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        _sender(session, args.sender)
        rows = queries.list_requests(
            session,
            args.sender,
            status=args.status,
            due_before=due_before,
            overdue=args.overdue,
            limit=args.limit,
        )
        views = [request_view(session, row) for row in rows]
    if args.json:
        for view in views:
            print(view.model_dump_json())
        return EXIT_OK
    for view in views:
        print(_summary(view))
    print(f"{len(views)} request(s)")
    # Exit 1 when an overdue report finds something, so a cron job can alert.
    return EXIT_BLOCKED if args.overdue and views else EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from dsr import queries
    from dsr.views import request_detail

    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        detail = request_detail(session, queries.get_request(session, args.sender, args.request))
    print(detail.model_dump_json(indent=2))
    return EXIT_OK


def cmd_extend(args: argparse.Namespace, settings: Settings) -> int:
    from dsr import queries, workflow
    from dsr.views import request_view

    if len(args.reason) < 10:
        print("sendguard: error: --reason needs at least 10 characters", file=sys.stderr)
        return EXIT_USAGE
    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        request = queries.get_request(session, args.sender, args.request)
        workflow.extend(session, runtime.services, request, args.months, args.reason, ACTOR)
        view = request_view(session, request)
        session.commit()
    print("extended " + _summary(view))
    return EXIT_OK


def cmd_reject(args: argparse.Namespace, settings: Settings) -> int:
    from dsr import closing, queries
    from dsr.views import request_view

    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        request = queries.get_request(session, args.sender, args.request)
        closing.reject_by_dpo(session, runtime.services, request, args.ground, args.note, ACTOR)
        view = request_view(session, request)
        session.commit()
    print("rejected " + _summary(view))
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import requests from a JSON Lines file, one request per line, each with external_ref."""
    from pydantic import ValidationError

    from compliance.core.errors import SendguardError
    from dsr import workflow
    from dsr.models import RequestSource
    from dsr.router import DsrCreate, new_request_from

    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CannotRun(f"cannot read {args.file}: {error.strerror}") from None

    created = existing = failed = 0
    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        sender = _sender(session, args.sender)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                parsed = DsrCreate.model_validate_json(line)
            except ValidationError as error:
                first = error.errors()[0]
                field = ".".join(str(part) for part in first["loc"]) or "line"
                print(f"line {number}: invalid {field} ({first['type']})", file=sys.stderr)
                failed += 1
                continue
            if parsed.external_ref is None:
                print(f"line {number}: missing external_ref", file=sys.stderr)
                failed += 1
                continue
            try:
                with session.begin_nested():
                    _, is_new = workflow.create_request(
                        session,
                        runtime.services,
                        sender,
                        new_request_from(parsed, sender, RequestSource.IMPORT),
                        ACTOR,
                    )
            except SendguardError as error:
                print(f"line {number}: {error.code}", file=sys.stderr)
                failed += 1
                continue
            created += is_new
            existing += not is_new
        session.commit()
    print(f"created: {created}, already recorded: {existing}, rejected lines: {failed}")
    return EXIT_BLOCKED if failed else EXIT_OK


def cmd_certificate(args: argparse.Namespace, settings: Settings) -> int:
    from dsr import queries

    with _runtime(settings) as runtime, runtime_session(runtime) as session:
        request = queries.get_request(session, args.sender, args.request)
        certificate = request.certificate
    if certificate is None:
        print(
            f"sendguard: error: request {args.request} is not closed; no certificate yet",
            file=sys.stderr,
        )
        return EXIT_USAGE
    text = json.dumps(json.loads(certificate), indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CannotRun(f"cannot write {args.out}: {error.strerror}") from None
    print(f"certificate written to {args.out}")
    return EXIT_OK


def _installation_key(settings: Settings) -> str:
    return _installation_keys(settings)[0]


def _installation_keys(settings: Settings) -> list[str]:
    """Return the public signing keys of the current, then each previous, master key."""
    from compliance.core.keys import load_keyring
    from compliance.core.signing import StatementSigner

    keyring = load_keyring(settings)
    masters = (keyring.master_key, *keyring.previous_master_keys)
    return [StatementSigner(master).public_key.text for master in masters]


def _is_public_key(text: str) -> bool:
    """Return whether ``text`` is 32 bytes of base64url, the form of an Ed25519 public key."""
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32


def cmd_verify_certificate(args: argparse.Namespace, settings: Settings) -> int:
    from dsr.certificate import check_certificate

    try:
        content = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as error:
        raise CannotRun(f"cannot read {args.file}: {error.strerror}") from None
    except ValueError:
        raise CannotRun(
            f"{args.file} is not JSON; give a file from `sendguard dsr certificate`"
        ) from None
    if args.public_key is not None and not _is_public_key(args.public_key):
        print(
            "sendguard: error: --public-key is not an Ed25519 public key; copy it from "
            "`sendguard dsr public-key` or GET /v1/dsr/certificate-key",
            file=sys.stderr,
        )
        return EXIT_USAGE
    trusted = args.public_key
    if trusted is None:
        # A certificate signed before a master-key rotation verifies while
        # its master key stays in SENDGUARD_MASTER_KEY_PREVIOUS_FILES.
        installation = _installation_keys(settings)
        signed_with = content.get("public_key") if isinstance(content, dict) else None
        trusted = signed_with if signed_with in installation else installation[0]
    check = check_certificate(content, trusted)
    print(f"certificate of request {check.request_id or '(unknown)'}: {check.status}")
    return EXIT_OK if check.valid else EXIT_BLOCKED


def cmd_purge_events(_args: argparse.Namespace, settings: Settings) -> int:
    """Delete the events that erasures left to background batches, until none remain.

    `sendguard serve` does this on its own; this command is for installations
    that drive requests from the command line only.
    """
    from dsr.event_purge import pending_purges, purge_erased_events

    deleted = 0
    with _runtime(settings) as runtime:
        while True:
            done = purge_erased_events(runtime.engine, runtime.services)
            deleted += done
            if done == 0 or not pending_purges(runtime.engine):
                break
        left = len(pending_purges(runtime.engine))
    print(f"events deleted: {deleted}; erasures still purging: {left}")
    return EXIT_OK


def cmd_public_key(_args: argparse.Namespace, settings: Settings) -> int:
    print(_installation_key(settings))
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    dsr = commands.add_parser("dsr", help="data-subject requests: create, follow, certify")
    sub = dsr.add_subparsers(dest="dsr_command", required=True)

    create = sub.add_parser("create", help="record a request (address on standard input)")
    create.add_argument("--sender", required=True, help="sender id")
    create.add_argument(
        "--type",
        required=True,
        choices=["access", "portability", "rectification", "erasure", "objection", "restriction"],
    )
    create.add_argument("--email", help="the subject's address (default: read from stdin)")
    create.add_argument("--verified-by", help="who checked the identity (attestation)")
    create.add_argument(
        "--method",
        default="id_document",
        choices=[
            "id_document",
            "account_login",
            "email_code",
            "in_person",
            "signed_letter",
            "other",
        ],
        help="how the identity was checked",
    )
    create.add_argument("--verified-at", help="when the identity was checked (ISO 8601; now)")
    create.add_argument("--ref", help="your reference for the request (makes reruns safe)")
    create.add_argument("--received-at", help="when the request arrived (ISO 8601; now)")
    create.add_argument("--changes", help='rectification values as JSON: {"name": "..."}')
    create.add_argument("--no-execute", action="store_true", help="verify but do not carry out")
    create.add_argument("--no-notify", action="store_true", help="send no notice to the subject")
    create.add_argument("--no-code", action="store_true", help="without attestation, mail no code")
    create.set_defaults(handler=cmd_create)

    listing = sub.add_parser("list", help="requests, soonest deadline first")
    listing.add_argument("--sender", required=True, help="sender id")
    listing.add_argument("--status", help="only requests in this status")
    listing.add_argument("--due-before", help="only requests due before this date (ISO 8601)")
    listing.add_argument(
        "--overdue", action="store_true", help="open requests past their deadline (exit 1 if any)"
    )
    listing.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=cmd_list)

    show = sub.add_parser("show", help="one request with its history")
    show.add_argument("--sender", required=True, help="sender id")
    show.add_argument("request", help="request id")
    show.set_defaults(handler=cmd_show)

    extend = sub.add_parser("extend", help="extend the deadline once (GDPR Art. 12(3))")
    extend.add_argument("--sender", required=True, help="sender id")
    extend.add_argument("request", help="request id")
    extend.add_argument("--months", type=int, choices=[1, 2], required=True)
    extend.add_argument("--reason", required=True, help="the reason sent to the subject")
    extend.set_defaults(handler=cmd_extend)

    reject = sub.add_parser("reject", help="refuse a request with a ground")
    reject.add_argument("--sender", required=True, help="sender id")
    reject.add_argument("request", help="request id")
    reject.add_argument(
        "--ground",
        required=True,
        choices=[
            "identity_not_verified",
            "manifestly_unfounded",
            "excessive",
            "legal_obligation",
            "legal_claims",
            "no_data",
            "other",
        ],
    )
    reject.add_argument("--note", help="the DPO's note, kept with the request")
    reject.set_defaults(handler=cmd_reject)

    importing = sub.add_parser("import", help="import requests from a JSON Lines file")
    importing.add_argument("--sender", required=True, help="sender id")
    importing.add_argument("file", type=Path, help="one request per line, as POST /v1/dsr takes")
    importing.set_defaults(handler=cmd_import)

    certificate = sub.add_parser("certificate", help="print or save a closed request's certificate")
    certificate.add_argument("--sender", required=True, help="sender id")
    certificate.add_argument("request", help="request id")
    certificate.add_argument("--out", type=Path, help="write to this file instead of stdout")
    certificate.set_defaults(handler=cmd_certificate)

    verify = sub.add_parser("verify-certificate", help="check a certificate's signature")
    verify.add_argument("file", type=Path, help="the certificate (JSON)")
    verify.add_argument(
        "--public-key", help="the trusted public key (default: this installation's key)"
    )
    verify.set_defaults(handler=cmd_verify_certificate)

    purge = sub.add_parser(
        "purge-events", help="delete the events that erasures left to background batches"
    )
    purge.set_defaults(handler=cmd_purge_events)

    public_key = sub.add_parser("public-key", help="print the key that checks certificates")
    public_key.set_defaults(handler=cmd_public_key)
