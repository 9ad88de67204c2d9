"""Who may use the REST API: users with a role, and the access tokens issued to them.

The stores are small Protocols: repositories/access_repository.py keeps them in the daemon's
database, repositories/memory_access_store.py is the in-memory twin, and
tests/integration/test_access_store_contract.py holds both to one contract. Instants here are
wall-clock UTC: a token's life is real time, whatever clock the market runs on.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["IssuedToken", "Role", "TokenStore", "User", "UserStore", "bad_user_name"]

_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


class Role(enum.Enum):
    """viewer reads; operator also controls the daemon; admin also manages users."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
        return order.index(self) >= order.index(needed)


def bad_user_name(name: str) -> str | None:
    """Why `name` is not a user name (None when it is one): lower-case letters, digits, `_.-`,
    starting with a letter, at most 64 characters."""
    if _NAME.fullmatch(name):
        return None
    return (f"user name {name[:70]!r} is invalid: expected 1-64 of a-z 0-9 _ . - starting with a letter")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    password_hash: str  # argon2id, in its own self-describing encoding
    created_utc: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token_id: str  # the signed token's `jti`: the token itself is never stored
    user: str
    issued_utc: datetime
    expires_utc: datetime
    address: str  # where the login came from
    revoked_utc: datetime | None = None


class UserStore(Protocol):
    def add(self, user: User) -> None:
        """Raise KeyError if the name is taken."""
        ...

    def get(self, name: str) -> User | None: ...

    def list(self) -> list[User]:
        """Every user, by name."""
        ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """False if there is no such user."""
        ...

    def remove(self, name: str) -> bool:
        """Remove the user and its tokens; False if there was no such user."""
        ...


class TokenStore(Protocol):
    def add(self, token: IssuedToken) -> None: ...

    def get(self, token_id: str) -> IssuedToken | None: ...

    def revoke(self, token_id: str, at_utc: datetime) -> bool:
        """Mark one token revoked (kept, for the record); False if unknown or already revoked."""
        ...

    def revoke_user(self, name: str, at_utc: datetime) -> int:
        """Revoke every live (unexpired, unrevoked) token of a user; the number revoked."""
        ...

    def live(self, name: str, now_utc: datetime) -> int:
        """How many tokens of the user are neither expired nor revoked."""
        ...

    def signed_in_from(self, name: str, address: str, since_utc: datetime) -> bool:
        """A token was issued to the user at `address` at or after `since_utc`."""
        ...

    def prune(self, expired_before_utc: datetime) -> int:
        """Delete the tokens that expired before `expired_before_utc`; how many."""
        ...
