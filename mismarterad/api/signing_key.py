"""The key that signs access tokens: made once, kept in the state directory (mode 0600), never logged.

Deleting the file and restarting the daemon invalidates every token issued before (the
operations guide's "rotating tokens"). A new key is written whole to a temporary file first and
then linked to its name, so a crash mid-write never leaves an empty key that would stop every
later start.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from mismarterad.core.errors import ConfigError, StorageError

__all__ = ["SIGNING_KEY_FILE", "load_signing_key"]

SIGNING_KEY_FILE = "api-signing.key"
_KEY_BYTES = 32


def load_signing_key(state_dir: Path) -> bytes:
    """The key in <state_dir>/api-signing.key, made on first use; ConfigError if the file is
    readable by others or damaged, StorageError if it cannot be read or written."""
    path = state_dir / SIGNING_KEY_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, secrets.token_hex(_KEY_BYTES).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(staging, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            return
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(folder)  # the name too survives a power cut
        finally:
            os.close(folder)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the API signing key: {exc.strerror or exc}") from None
    finally:
        staging.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise StorageError(f"{path}: cannot read the API signing key: {reason}") from None
    if mode & 0o077:
        raise ConfigError(f"{path} has mode {mode:04o}, which lets other users read the API signing key: 0600 is "
                          f"expected (chmod 600 {path}, or delete it to make a new key and invalidate every token)")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise ConfigError(f"{path}: not an API signing key ({_KEY_BYTES * 2} hex digits expected); delete it to "
                          "make a new one (every token issued before becomes invalid)")
    return key
