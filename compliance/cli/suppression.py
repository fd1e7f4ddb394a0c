"""``sendguard suppression import|export|formats``: suppression files in ESP formats."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from compliance.cli.common import EXIT_OK, EXIT_USAGE, fail, open_session
from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import load_keyring
from compliance.core.keystore import KeyStore
from compliance.core.models import Sender
from compliance.core.settings import Settings
from consent.service import addresses_for_digests
from suppression.exports import export_rows
from suppression.formats import FORMATS, ReadOptions, WriteOptions, detect_format
from suppression.imports import ImportOptions, import_records, record_import_started
from suppression.models import SuppressionReason


def _progress(total: int) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty() or total == 0,
    )


def _check_sender(session: Any, sender_id: str) -> bool:
    if session.get(Sender, sender_id) is not None:
        return True
    print(
        f"sendguard: error: sender {sender_id} not found; "
        "list senders with `sendguard sender list`",
        file=sys.stderr,
    )
    return False


def _commit_batch(session: Any, progress: Progress, task: Any, count: int) -> None:
    # Each batch commits on its own: a long import must not hold the write
    # lock, and a re-run after an interruption adds only what is missing.
    session.commit()
    progress.update(task, advance=count)


def _format_fault(name: str | None) -> str:
    return f"format {name!r} cannot be imported" if name else "the format could not be detected"


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    source = Path(args.file)
    try:
        handle = source.open("rb")
    except OSError as error:
        return fail(f"cannot read {source}: {error.strerror}")

    with handle:
        name = args.format or detect_format(source.name, handle.read(8192))
        handle.seek(0)
        spec = FORMATS.get(name or "")
        if spec is None or spec.reader is None:
            print(
                f"sendguard: error: {_format_fault(name)}; "
                "pass --format NAME (see `sendguard suppression formats`)",
                file=sys.stderr,
            )
            return EXIT_USAGE

        reason = SuppressionReason(args.reason) if args.reason else None
        options = ReadOptions(
            filename=source.name, reason=reason, status=args.status, scope_ref=args.scope_ref
        )
        indexer = BlindIndexer(load_keyring(settings))
        with open_session(settings) as session:
            if not _check_sender(session, args.sender):
                return EXIT_USAGE
            # Batches commit one by one, so the start is on record first.
            import_id = record_import_started(session, args.sender, "cli")
            session.commit()
            with _progress(1) as progress:
                task = progress.add_task(f"importing {spec.name}", total=None)
                report = import_records(
                    session,
                    args.sender,
                    indexer,
                    spec.reader(handle, options),
                    ImportOptions(
                        source=f"import:{spec.name}", actor="cli", keep_scope=args.keep_scope
                    ),
                    on_progress=lambda count: _commit_batch(session, progress, task, count),
                    import_id=import_id,
                )
            session.commit()

    summary = {
        "import_id": report.import_id,
        "format": spec.name,
        "read": report.read,
        "imported": report.imported,
        "already_present": report.already_present,
        "not_applied": report.not_applied,
        "rejected_count": report.rejected_count,
        "rejected": [
            {
                "line": item.line,
                "field": item.field,
                "fault": item.fault.code,
                "message": item.fault.message,
            }
            for item in report.rejected
        ],
        "warnings": dict(report.warnings),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key in (
            "format",
            "read",
            "imported",
            "already_present",
            "not_applied",
            "rejected_count",
        ):
            print(f"{key:16} {summary[key]}")
        for item in report.rejected[:20]:
            print(f"line {item.line}: {item.field}: {item.fault.message}")
        if report.rejected_count > 20:
            print(
                f"… {report.rejected_count - 20} more rejected lines "
                "(use --json for the first 1,000)"
            )
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    spec = FORMATS.get(args.format)
    if spec is None or spec.writer is None:
        print(
            f"sendguard: error: format {args.format!r} cannot be exported; "
            "see `sendguard suppression formats`",
            file=sys.stderr,
        )
        return EXIT_USAGE

    keyring = load_keyring(settings)
    keystore_engine = make_engine(settings.resolved_keystore_url)
    keystore = KeyStore(keystore_engine, keyring.master_key, keyring.previous_master_keys)

    def lookup(session: Any, sender_id: str, digests: Any) -> dict[str, str]:
        return addresses_for_digests(session, keystore, sender_id, digests)

    reasons = [SuppressionReason(value) for value in args.reason or []]
    try:
        with _open_output(args.out) as output, open_session(settings, read_only=True) as session:
            if not _check_sender(session, args.sender):
                return EXIT_USAGE
            report = spec.writer(
                export_rows(session, args.sender, reasons, lookup),
                output,
                WriteOptions(include_scoped=args.include_scoped),
            )
    except OSError as error:
        return fail(f"cannot write {args.out}: {error.strerror}")
    finally:
        keystore_engine.dispose()

    print(f"written {report.written}", file=sys.stderr)
    for code, count in sorted(report.skipped.items()):
        print(f"skipped {count} ({code})", file=sys.stderr)
    return EXIT_OK


def _open_output(path: str) -> contextlib.AbstractContextManager[TextIO]:
    if path == "-":
        return contextlib.nullcontext(sys.stdout)
    return Path(path).open("w", encoding="utf-8", newline="")


def cmd_formats(args: argparse.Namespace, _settings: Settings) -> int:
    for spec in FORMATS.values():
        modes = "/".join(
            mode for mode, present in (("import", spec.reader), ("export", spec.writer)) if present
        )
        print(f"{spec.name:40} {modes:14} {spec.esp}: {spec.description}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    suppression = commands.add_parser("suppression", help="import and export suppression files")
    sub = suppression.add_subparsers(dest="suppression_command", required=True)
    reasons = [reason.value for reason in SuppressionReason]

    importer = sub.add_parser(
        "import", help="import a suppression file (streamed; never lifts an entry)"
    )
    importer.add_argument("file", help="CSV, JSON or JSONL file from an ESP or Sendguard")
    importer.add_argument("--sender", required=True, help="sender id")
    importer.add_argument(
        "--format", help="format name (default: detected from the name and content)"
    )
    importer.add_argument(
        "--reason", choices=reasons, help="reason for formats whose rows carry none"
    )
    importer.add_argument("--status", help="member status for Mailchimp and Benchmark exports")
    importer.add_argument("--scope-ref", help="list, group or stream id for scoped formats")
    importer.add_argument(
        "--keep-scope", action="store_true", help="keep list scopes instead of suppressing globally"
    )
    importer.add_argument("--json", action="store_true", help="print the report as JSON")
    importer.set_defaults(handler=cmd_import)

    exporter = sub.add_parser("export", help="export active suppression entries")
    exporter.add_argument("--sender", required=True, help="sender id")
    exporter.add_argument(
        "--format", default="generic_csv", help="format name (default generic_csv)"
    )
    exporter.add_argument(
        "--reason", action="append", choices=reasons, help="keep only this reason (repeatable)"
    )
    exporter.add_argument(
        "--include-scoped", action="store_true", help="also export list- and topic-scoped entries"
    )
    exporter.add_argument("--out", required=True, help="output file ('-' for stdout)")
    exporter.set_defaults(handler=cmd_export)

    sub.add_parser("formats", help="list the supported formats").set_defaults(handler=cmd_formats)
