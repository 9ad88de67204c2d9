"""Password hashing with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes).

A login for an unknown user verifies against a dummy hash, so the answer takes as long as a
wrong password for a real user and does not tell which names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MAX_PASSWORD_CHARS", "MIN_PASSWORD_CHARS", "bad_password", "hash_password", "verify_password"]

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone's")


def bad_password(password: str) -> str | None:
    """Why `password` is refused (None when it is acceptable)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password: at least {MIN_PASSWORD_CHARS} characters, got {len(password)}"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"password: at most {MAX_PASSWORD_CHARS} characters"
    if any(not c.isprintable() for c in password):
        return "password: control characters (a pasted newline?) are not allowed"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; a missing hash (unknown user) costs the same and is False."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
