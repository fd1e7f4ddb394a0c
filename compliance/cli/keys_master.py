"""``sendguard keys rewrap`` and the master-key lines of ``sendguard keys status``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, migrate_database
from compliance.core.settings import Settings

if TYPE_CHECKING:
    from compliance.core.keys import KeyRing
    from compliance.core.keystore import KeyStore
    from compliance.core.keystore_rotation import RewrapSummary

UNREADABLE_NOTE = (
    "data keys that no live master key unwraps stay unreadable: add the master key file"
    " that wrapped them to SENDGUARD_MASTER_KEY_PREVIOUS_FILES, or accept that their"
    " contacts' data is lost"
)


def print_master_key_status(keyring: KeyRing, keystore: KeyStore) -> None:
    """Print the master key ids and how many data keys each one unwraps."""
    from compliance.core.keys import master_key_id
    from compliance.core.keystore_rotation import count_wrapped_keys

    counts = count_wrapped_keys(keystore)
    current_id = master_key_id(keyring.master_key)
    print(f"master key id: {current_id}")
    print(f"data keys under the current master key {current_id}: {counts.current}")
    for key, count in zip(keyring.previous_master_keys, counts.previous, strict=True):
        print(f"data keys under the previous master key {master_key_id(key)}: {count}")
    print(f"data keys that no live master key unwraps: {counts.unreadable}")


def cmd_keys_rewrap(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.app import open_runtime
    from compliance.core.keys import load_keyring, master_key_id
    from compliance.core.keystore_rotation import rewrap_data_keys

    if args.batch_size < 1:
        print("sendguard: error: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        keystore = runtime.services.keystore
        summary = rewrap_data_keys(keystore, batch_size=args.batch_size, on_batch=_print_progress)
    finally:
        runtime.dispose()

    keyring = load_keyring(settings)
    print(f"current master key id: {master_key_id(keyring.master_key)}")
    print(f"data keys read: {summary.rows_read}, batches: {summary.batches}")
    print(f"data keys re-wrapped: {summary.rewrapped}")
    for position, key in enumerate(keyring.previous_master_keys):
        moved = summary.rewrapped_by_previous.get(position, 0)
        print(f"  from the previous master key {master_key_id(key)}: {moved}")
    if summary.skipped_changed:
        print(
            "data keys deleted or changed during the run (left as they are):"
            f" {summary.skipped_changed}"
        )
    if summary.unreadable:
        print(f"data keys that no live master key unwraps: {summary.unreadable}")
        print(UNREADABLE_NOTE)
    print("Check the data keys left per master key with `sendguard keys status`.")
    return EXIT_OK


def _print_progress(summary: RewrapSummary) -> None:
    print(
        f"batch {summary.batches}: {summary.rows_read} data keys read,"
        f" {summary.rewrapped} re-wrapped so far",
        flush=True,
    )


def add_rewrap_parser(keys_commands: Any) -> None:
    """Add ``rewrap`` to the ``sendguard keys`` group."""
    rewrap = keys_commands.add_parser(
        "rewrap",
        help="re-wrap the data keys still under a previous master key with the current one",
    )
    rewrap.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="data keys per batch; each batch is written in one transaction (default 500)",
    )
    rewrap.set_defaults(handler=cmd_keys_rewrap)
