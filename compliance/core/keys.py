"""Key material: the master key, the token signing secret and blind-index keys.

The three keys are separate so that each can rotate on its own. In
development any missing key is generated once into the data folder (mode
0600); in production each must be configured, and placeholders are rejected.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from compliance.core.settings import Settings, reject_placeholder, split_secrets

log = structlog.get_logger(__name__)

MASTER_KEY_BYTES = 32
PREVIOUS_MASTER_KEYS_SETTING = "SENDGUARD_MASTER_KEY_PREVIOUS_FILES"
_MASTER_KEY_ID_INFO = b"sendguard master key id v1"


class KeyConfigError(Exception):
    """A key is missing, unreadable or malformed. The message names the key and the fix."""


@dataclass(frozen=True, repr=False)
class KeyRing:
    master_key: bytes
    token_secret: bytes
    # Blind-index keys by version; the highest version is current.
    blind_index_keys: dict[int, bytes]
    # Token secrets of earlier rotations: they verify tokens, never sign.
    previous_token_secrets: tuple[bytes, ...] = ()
    # Master keys of earlier rotations: they unwrap data keys, never wrap.
    previous_master_keys: tuple[bytes, ...] = ()

    @property
    def current_blind_index_version(self) -> int:
        return max(self.blind_index_keys)


def master_key_id(master_key: bytes) -> str:
    """Return a short public id of a master key: 8 hex digits of a SHA-256.

    The digest covers an HKDF output, not the key itself, so the id can be
    printed and logged.
    """
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_MASTER_KEY_ID_INFO
    ).derive(master_key)
    return hashlib.sha256(derived).hexdigest()[:8]


def generate_key_text() -> str:
    """Return a new random 256-bit key as URL-safe base64 text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def load_keyring(settings: Settings) -> KeyRing:
    """Load every key, generating missing development keys into ``settings.data_dir``."""
    master = _load_master_key(settings)
    token_text = _load_secret(settings, "token_secret", "token.key")
    blind_text = _load_secret(settings, "blind_index_keys", "blind-index.keys").decode("ascii")
    token_secret, previous = _split_token_secrets(settings, token_text)
    return KeyRing(
        master,
        token_secret,
        parse_blind_index_keys(blind_text),
        previous,
        _load_previous_master_keys(settings, master),
    )


def _split_token_secrets(settings: Settings, text: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """Return the signing secret and the previous secrets that still verify.

    The previous secrets come from SENDGUARD_TOKEN_PREVIOUS_SECRETS and, when
    the secret is read from the development key file, from the lines after
    its first one.
    """
    if settings.token_secret is not None:
        lines = [text.strip()]
    else:
        lines = [line.strip() for line in text.split(b"\n") if line.strip()]
    if not lines or not lines[0]:
        raise KeyConfigError(
            "the token secret is empty; generate one with `sendguard keys generate`"
        )

    previous = list(lines[1:])
    if settings.token_previous_secrets is not None:
        for secret in split_secrets(settings.token_previous_secrets.get_secret_value()):
            reject_placeholder("SENDGUARD_TOKEN_PREVIOUS_SECRETS", secret)
            previous.append(secret.encode("utf-8"))
    return lines[0], tuple(previous)


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
    return _read_master_key_file(path, "master key file")


def _load_previous_master_keys(settings: Settings, current: bytes) -> tuple[bytes, ...]:
    """Read the files of SENDGUARD_MASTER_KEY_PREVIOUS_FILES, in the order given."""
    keys: list[bytes] = []
    for item in settings.master_key_previous_files.split(","):
        if not item.strip():
            continue
        path = Path(item.strip())
        label = f"{PREVIOUS_MASTER_KEYS_SETTING}: master key file"
        if not path.exists():
            raise KeyConfigError(
                f"{label} {path} does not exist; list only the files of earlier master keys"
            )
        key = _read_master_key_file(path, label)
        if key == current:
            raise KeyConfigError(
                f"{label} {path} contains the current master key; list only earlier keys"
            )
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def _read_master_key_file(path: Path, label: str) -> bytes:
    """Read and check one master key file. Errors name it by ``label`` and path, never content."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not ASCII text"
        raise KeyConfigError(f"{label} {path} cannot be read: {reason}") from None
    try:
        raw = base64.urlsafe_b64decode(text)
    except (ValueError, TypeError):
        raise KeyConfigError(
            f"{label} {path} is not base64 text; write the value that"
            " `sendguard keys generate` prints"
        ) from None
    if len(raw) != MASTER_KEY_BYTES:
        raise KeyConfigError(
            f"{label} {path} contains {len(raw)} bytes; it must contain {MASTER_KEY_BYTES}"
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
