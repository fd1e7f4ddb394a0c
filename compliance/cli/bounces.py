"""``sendguard bounces classify|ingest``: read bounce and complaint messages from files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, fail, open_session
from compliance.core.blind_index import BlindIndexer
from compliance.core.i18n import N_, translate
from compliance.core.keys import load_keyring
from compliance.core.models import Sender
from compliance.core.settings import Settings
from suppression.bounces import classify
from suppression.bounces.ingest import IngestReport, ingest, raw_origin
from suppression.bounces.policy import BouncePolicy
from suppression.bounces.sources import SourceError, messages
from suppression.bounces.verdict import Verdict

TRUNCATED_WARNING = N_(
    "%(path)s was cut at a size limit of the classifier, so recipients after the cut "
    "were not classified; split the report into smaller messages to classify them all."
)


def _warn_if_truncated(label: str, verdicts: list[Verdict], settings: Settings) -> None:
    if any(verdict.truncated for verdict in verdicts):
        message = translate(settings.default_locale, TRUNCATED_WARNING, path=label)
        print(f"sendguard: warning: {message}", file=sys.stderr)


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    for name in args.paths:
        try:
            for label, raw in messages(Path(name)):
                verdicts = classify(raw)
                _warn_if_truncated(label, verdicts, settings)
                for verdict in verdicts:
                    row = {"path": label, **verdict.as_json()}
                    if args.json:
                        print(json.dumps(row, ensure_ascii=False))
                    else:
                        print(
                            f"{label}\t{row['recipient'] or '-'}\t{row['class']}\t"
                            f"{row['reason'] or '-'}\t{row['status'] or '-'}\t"
                            f"{row['replycode'] or '-'}"
                        )
        except SourceError as error:
            return fail(str(error))
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    indexer = BlindIndexer(load_keyring(settings))
    policy = BouncePolicy.from_settings(settings)
    report = IngestReport()
    with open_session(settings) as session:
        if session.get(Sender, args.sender) is None:
            print(
                f"sendguard: error: sender {args.sender} not found; "
                "list senders with `sendguard sender list`",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            for label, raw in messages(Path(args.path)):
                report.messages += 1
                verdicts = classify(raw)
                _warn_if_truncated(label, verdicts, settings)
                ingest(
                    session,
                    args.sender,
                    indexer,
                    verdicts,
                    origin=raw_origin(raw),
                    source="mail",
                    policy=policy,
                    actor="cli",
                    report=report,
                )
                # One commit per message: an interrupted run keeps what it read,
                # and a re-run skips it (events are idempotent).
                session.commit()
        except SourceError as error:
            return fail(str(error))
    summary = report.as_json()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"messages {summary['messages']}")
        for group in ("classes", "outcomes"):
            values: Any = summary[group]
            for key, count in values.items():
                print(f"{group[:-1]} {key} {count}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    bounces = commands.add_parser("bounces", help="classify and ingest bounces and complaints")
    sub = bounces.add_subparsers(dest="bounces_command", required=True)

    classifier = sub.add_parser(
        "classify", help="print one line (or JSON object) per recipient of each message"
    )
    classifier.add_argument("paths", nargs="+", help="message file, folder, mbox or maildir")
    classifier.add_argument("--json", action="store_true", help="print JSON lines")
    classifier.set_defaults(handler=cmd_classify)

    ingester = sub.add_parser(
        "ingest", help="apply the bounce policy: suppress, count soft bounces, update campaigns"
    )
    ingester.add_argument("path", help="message file, folder, mbox or maildir")
    ingester.add_argument("--sender", required=True, help="sender id")
    ingester.add_argument("--json", action="store_true", help="print the report as JSON")
    ingester.set_defaults(handler=cmd_ingest)
