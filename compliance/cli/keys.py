"""``sendguard keys status`` and ``sendguard keys reindex``: follow a key rotation.

``sendguard keys rewrap``, for the master key, lives in keys_master.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, migrate_database
from compliance.cli.keys_master import add_rewrap_parser, print_master_key_status
from compliance.core.settings import Settings

if TYPE_CHECKING:
    from compliance.reindex import ReindexSummary

HASHED_ONLY_NOTE = (
    "Rows known only by their blind index (hash imports, erased contacts) cannot be"
    " re-indexed: they keep matching while their version stays in"
    " SENDGUARD_BLIND_INDEX_KEYS, and stop matching once it is removed."
)


def cmd_keys_status(_args: argparse.Namespace, settings: Settings) -> int:
    from compliance.app import open_runtime
    from compliance.core.keys import load_keyring
    from compliance.reindex import count_rows_by_version

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        tokens = runtime.services.tokens
        versions = runtime.services.indexer.versions
        counts = count_rows_by_version(runtime.engine)
        print_master_key_status(load_keyring(settings), runtime.services.keystore)
    finally:
        runtime.dispose()

    previous = sorted(tokens.live_key_ids - {tokens.key_id})
    print(f"token signing key id: {tokens.key_id}")
    print(f"previous token key ids that still verify: {', '.join(previous) or 'none'}")
    live = ", ".join(str(version) for version in sorted(versions))
    print(f"blind-index versions: {live} (current {max(versions)})")
    for table, by_version in counts.items():
        print(f"{table}: {_version_counts(by_version, versions)}")
    print("delivery_events: no key version stored; re-indexed with their address")
    print(HASHED_ONLY_NOTE)
    return EXIT_OK


def _version_counts(by_version: Mapping[int, int], live: frozenset[int]) -> str:
    if not by_version:
        return "no rows"
    parts = []
    for version in sorted(by_version):
        state = "" if version in live else " (version not live: these rows no longer match)"
        parts.append(f"version {version}: {by_version[version]}{state}")
    return ", ".join(parts)


def cmd_keys_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.app import open_runtime
    from compliance.reindex import reindex_blind_indexes

    if args.batch_size < 1 or (args.max_batches is not None and args.max_batches < 1):
        print(
            "sendguard: error: --batch-size and --max-batches must be at least 1",
            file=sys.stderr,
        )
        return EXIT_USAGE

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        summary = reindex_blind_indexes(
            runtime.engine,
            runtime.services.keystore,
            runtime.services.indexer,
            batch_size=args.batch_size,
            after=args.after,
            max_batches=args.max_batches,
            on_batch=_print_progress,
        )
    finally:
        runtime.dispose()
    _print_summary(summary)
    return EXIT_OK


def _print_progress(summary: ReindexSummary) -> None:
    moved = sum(sum(counts.values()) for counts in summary.moved.values())
    print(
        f"batch {summary.batches}: {summary.contacts_read} contacts read,"
        f" {moved} rows moved so far, last contact id {summary.last_contact_id}",
        flush=True,
    )


def _print_summary(summary: ReindexSummary) -> None:
    from compliance.reindex import TABLES

    print(f"current blind-index version: {summary.current_version}")
    print(f"contacts read: {summary.contacts_read}, batches: {summary.batches}")
    for table in TABLES:
        counts: Mapping[int, int] = summary.moved.get(table) or {}
        text = ", ".join(
            f"from version {version}: {count}" for version, count in sorted(counts.items()) if count
        )
        print(f"{table} moved: {text or 'none'}")
    if summary.unreadable:
        print(
            "contacts whose address could not be decrypted (left as they are):"
            f" {summary.unreadable}"
        )
    if summary.conflicts:
        print(
            f"contacts left under an old version because another contact has the same address:"
            f" {summary.conflicts}"
        )
    if summary.finished:
        print("finished: every contact with a known address was read")
    else:
        print(
            f"stopped before the end; resume with `sendguard keys reindex --after"
            f" {summary.last_contact_id}`"
        )
    print(HASHED_ONLY_NOTE)
    print("Check the rows left per version with `sendguard keys status`.")


def add_key_rotation_parsers(keys_commands: Any) -> None:
    """Add ``status``, ``reindex`` and ``rewrap`` to the ``sendguard keys`` group."""
    keys_commands.add_parser(
        "status",
        help="show the data keys per master key, the live token key ids and the rows per"
        " blind-index version",
    ).set_defaults(handler=cmd_keys_status)

    reindex = keys_commands.add_parser(
        "reindex",
        help="move stored blind indexes of known addresses to the current key version",
    )
    reindex.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="contacts per batch; each batch is one transaction (default 500)",
    )
    reindex.add_argument(
        "--after", default=None, help="start after this contact id, as a progress line prints it"
    )
    reindex.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="stop after this many batches (default: run to the end)",
    )
    reindex.set_defaults(handler=cmd_keys_reindex)
    add_rewrap_parser(keys_commands)
