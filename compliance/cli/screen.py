"""``sendguard screen``: screen a recipient file of any size, streaming, in process."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from compliance.cli.common import EXIT_OK, EXIT_USAGE, CannotRun, fail, open_session
from compliance.core.blind_index import BlindIndexer
from compliance.core.keys import load_keyring
from compliance.core.models import Sender
from compliance.core.settings import Settings
from consent.evidence import digests_with_basis
from suppression.screening import Screener, ScreenOptions, batched

# Header names accepted for the address column, compared case-insensitively.
ADDRESS_HEADERS = (
    "email",
    "e-mail",
    "email address",
    "email_address",
    "emailaddress",
    "adresse e-mail",
    "courriel",
)


class InputFormatError(ValueError):
    """The recipient file has no recognisable address column."""


def read_addresses(handle: TextIO) -> Iterator[str]:
    """Yield the address column of a CSV file, with or without a header row."""
    reader = csv.reader(handle)
    first = next(reader, None)
    if first is None:
        return
    lowered = [cell.strip().lower() for cell in first]
    column = next((lowered.index(name) for name in ADDRESS_HEADERS if name in lowered), None)
    if column is None:
        if first and "@" in first[0]:
            # No header: the first column contains the addresses, this row included.
            column = 0
            yield first[0]
        else:
            raise InputFormatError(
                "no address column found: name it 'email' in the header row, or put the "
                "addresses in the first column without a header"
            )
    for row in reader:
        yield row[column] if column < len(row) else ""


def cmd_screen(args: argparse.Namespace, settings: Settings) -> int:
    source = Path(args.recipients)
    try:
        handle = source.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        return fail(f"cannot read {source}: {error.strerror}")

    indexer = BlindIndexer(load_keyring(settings))
    options = ScreenOptions(
        exclude_role_addresses=args.exclude_role_addresses,
        exclude_inactive=args.exclude_inactive,
        basis_lookup=digests_with_basis if args.require_consent else None,
        list_ids=tuple(args.list or ()),
    )
    output_path = None if args.out == "-" else Path(args.out)
    if output_path is not None and output_path.resolve() == source.resolve():
        handle.close()
        print("sendguard: error: --out names the input file; choose another file", file=sys.stderr)
        return EXIT_USAGE

    with handle, open_session(settings, read_only=True) as session:
        if session.get(Sender, args.sender) is None:
            print(
                f"sendguard: error: sender {args.sender} not found; "
                "list senders with `sendguard sender list`",
                file=sys.stderr,
            )
            return EXIT_USAGE

        screener = Screener(session, args.sender, indexer, options)
        # Written to a temporary file renamed at the end, so a failed run
        # never leaves a partial list that looks complete.
        with _open_output(output_path) as (output, finish):
            writer = csv.writer(output)
            writer.writerow(["email"])
            try:
                with _progress() as progress:
                    task = progress.add_task("screening", total=None)
                    for chunk in batched(read_addresses(handle)):
                        batch = screener.screen_batch(chunk)
                        writer.writerows([address] for address in batch.kept)
                        progress.update(task, advance=len(chunk))
            except InputFormatError as error:
                print(f"sendguard: error: {source}: {error}", file=sys.stderr)
                return EXIT_USAGE
            except UnicodeDecodeError:
                return fail(f"{source} is not UTF-8 text; convert it to UTF-8 and try again")
            except csv.Error as error:
                return fail(f"{source} is not valid CSV ({error}); fix the file and try again")
            finish()

    counts = dict(sorted(screener.counts.items()))
    if args.json:
        print(json.dumps({"counts": counts}, indent=2))
    else:
        for reason, count in counts.items():
            print(f"{reason:24} {count}")
    return EXIT_OK


@contextlib.contextmanager
def _open_output(path: Path | None) -> Iterator[tuple[TextIO, Callable[[], None]]]:
    """Yield a stream and a ``finish`` callback that publishes it; an unfinished file is removed."""
    if path is None:
        yield sys.stdout, lambda: None
        return

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as error:
        raise CannotRun(f"cannot write {path}: {error.strerror}") from None
    published = False

    def finish() -> None:
        nonlocal published
        stream.close()
        os.replace(temporary, path)
        published = True

    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        try:
            yield stream, finish
        finally:
            if not published:
                stream.close()
                Path(temporary).unlink(missing_ok=True)


def _progress() -> Progress:
    # The total is unknown while streaming, so the bar pulses and counts rows.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} addresses"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def add_parsers(commands: Any) -> None:
    screen = commands.add_parser(
        "screen", help="screen a CSV of recipients and write the sendable addresses"
    )
    screen.add_argument(
        "recipients", help="CSV file: an 'email' column, or addresses in the first column"
    )
    screen.add_argument("--sender", required=True, help="sender id whose suppression list applies")
    screen.add_argument(
        "--out", required=True, help="where to write the sendable addresses (CSV; '-' for stdout)"
    )
    screen.add_argument(
        "--list", action="append", help="also apply opt-outs scoped to this list id (repeatable)"
    )
    screen.add_argument(
        "--exclude-role-addresses", action="store_true", help="remove contact@, info@ and the like"
    )
    screen.add_argument(
        "--exclude-inactive",
        action="store_true",
        help="remove recipients with no open in the last 30 campaigns",
    )
    screen.add_argument(
        "--require-consent",
        action="store_true",
        help="remove recipients without a confirmed double opt-in",
    )
    screen.add_argument("--json", action="store_true", help="print the counts as JSON")
    screen.set_defaults(handler=cmd_screen)
