"""Key material: the master key, the token signing secret and blind-index keys.

The three keys are separate so that each can rotate on its own. In
development any missing key is generated once into the data folder (mode
0600); in production each must be configured, and placeholders are rejected.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import SecretStr

from compliance.core.settings import Settings, reject_placeholder

log = structlog.get_logger(__name__)

MASTER_KEY_BYTES = 32


class KeyConfigError(Exception):
    """A key is missing, unreadable or malformed. The message names the key and the fix."""


@dataclass(frozen=True, repr=False)
class KeyRing:
    master_key: bytes
    token_secret: bytes
    # Blind-index keys by version; the highest version is current.
    blind_index_keys: dict[int, bytes]

    @property
    def current_blind_index_version(self) -> int:
        return max(self.blind_index_keys)


def generate_key_text() -> str:
    """Return a new random 256-bit key as URL-safe base64 text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def load_keyring(settings: Settings) -> KeyRing:
    """Load every key, generating missing development keys into ``settings.data_dir``."""
    master = _load_master_key(settings)
    token_secret = _load_secret(settings, "token_secret", "token.key")
    blind_text = _load_secret(settings, "blind_index_keys", "blind-index.keys").decode("ascii")
    return KeyRing(master, token_secret, parse_blind_index_keys(blind_text))


def parse_blind_index_keys(text: str) -> dict[int, bytes]:
    """Parse ``"1:KEY,2:KEY"``; a bare ``KEY`` means version 1."""
    keys: dict[int, bytes] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        version_text, sep, key_text = item.partition(":")
        if not sep:
            version_text, key_text = "1", item
        if not version_text.isdigit() or int(version_text) < 1:
            raise KeyConfigError(
                "SENDGUARD_BLIND_INDEX_KEYS: each entry must be 'VERSION:KEY' with "
                "VERSION a positive integer"
            )
        reject_placeholder("SENDGUARD_BLIND_INDEX_KEYS", key_text)
        keys[int(version_text)] = key_text.encode("utf-8")
    if not keys:
        raise KeyConfigError(
            "SENDGUARD_BLIND_INDEX_KEYS is empty; give at least one 'VERSION:KEY' entry"
        )
    return keys


def _load_master_key(settings: Settings) -> bytes:
    path = settings.master_key_file or settings.data_dir / "master.key"
    if not path.exists():
        if not settings.is_development:
            raise KeyConfigError(
                f"master key file {path} does not exist; create it with `sendguard keys generate`"
            )
        _write_new_key(path, generate_key_text())
        log.info("keys.generated", key="master", path=str(path))

    text = path.read_text(encoding="ascii").strip()
    try:
        raw = base64.urlsafe_b64decode(text)
    except (ValueError, TypeError) as error:
        raise KeyConfigError(f"master key file {path} is not base64 text: {error}") from None
    if len(raw) != MASTER_KEY_BYTES:
        raise KeyConfigError(
            f"master key file {path} contains {len(raw)} bytes; it must contain {MASTER_KEY_BYTES}"
            " (base64 of 32 random bytes, as `sendguard keys generate` prints)"
        )
    return raw


def _load_secret(settings: Settings, name: str, filename: str) -> bytes:
    configured: SecretStr | None = getattr(settings, name)
    if configured is not None:
        value = configured.get_secret_value()
        if name == "token_secret":
            reject_placeholder(f"SENDGUARD_{name.upper()}", value)
        return value.encode("utf-8")

    if not settings.is_development:
        raise KeyConfigError(f"SENDGUARD_{name.upper()} is required outside development")

    path = settings.data_dir / filename
    if not path.exists():
        text = generate_key_text()
        _write_new_key(path, f"1:{text}" if name == "blind_index_keys" else text)
        log.info("keys.generated", key=name, path=str(path))
    return path.read_text(encoding="ascii").strip().encode("ascii")


def _write_new_key(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
