"""Read raw messages from a file, a folder, an mbox or a maildir."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from suppression.bounces.mime import MAX_MESSAGE_BYTES


class SourceError(Exception):
    """A path cannot be read as messages. The message names the path's fault, not its content."""


# The classifier parses only MAX_MESSAGE_BYTES, so a gigantic file costs no more memory.
# One byte more lets it tell a message cut at the bound from one that ends there.
READ_BYTES = MAX_MESSAGE_BYTES + 1


def read_prefix(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(READ_BYTES)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_dir() for name in ("cur", "new", "tmp"))


def is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(label, raw)`` for each message under ``path``, in a stable order.

    :raises SourceError: when ``path`` does not exist or cannot be read.
    """
    try:
        if is_maildir(path):
            yield from _maildir(path)
        elif path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and not item.name.startswith("."):
                    yield from messages(item)
        elif path.is_file() and is_mbox(path):
            yield from _mbox(path)
        elif path.is_file():
            yield str(path), read_prefix(path)
        else:
            raise SourceError(f"{path} is not a file, folder, mbox or maildir")
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror or type(error).__name__}") from None


def _maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.Maildir(str(path), create=False)
    for key in sorted(box.iterkeys()):
        yield f"{path}#{key}", box.get_bytes(key)[:READ_BYTES]


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(str(path), create=False)
    try:
        for position, key in enumerate(box.iterkeys(), start=1):
            yield f"{path}#{position}", box.get_bytes(key)[:READ_BYTES]
    finally:
        box.close()
