"""The in-memory twins of the user and token tables: the same contract (core/access.py), held to
it by the one contract suite; tests use them where a database is beside the point."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from mismarterad.core.access import IssuedToken, User

__all__ = ["MemoryTokenStore", "MemoryUserStore"]


class MemoryTokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def add(self, token: IssuedToken) -> None:
        with self._lock:
            self._tokens[token.token_id] = token

    def get(self, token_id: str) -> IssuedToken | None:
        with self._lock:
            return self._tokens.get(token_id)

    def revoke(self, token_id: str, at_utc: datetime) -> bool:
        with self._lock:
            return self._revoke([t for t in self._tokens.values() if t.token_id == token_id], at_utc) == 1

    def revoke_user(self, name: str, at_utc: datetime) -> int:
        with self._lock:
            return self._revoke([t for t in self._tokens.values() if t.user == name and t.expires_utc > at_utc], at_utc)

    def live(self, name: str, now_utc: datetime) -> int:
        with self._lock:
            return sum(1 for t in self._tokens.values()
                       if t.user == name and t.revoked_utc is None and t.expires_utc > now_utc)

    def signed_in_from(self, name: str, address: str, since_utc: datetime) -> bool:
        with self._lock:
            return any(t.user == name and t.address == address and t.issued_utc >= since_utc
                       for t in self._tokens.values())

    def prune(self, expired_before_utc: datetime) -> int:
        with self._lock:
            kept = {k: t for k, t in self._tokens.items() if t.expires_utc >= expired_before_utc}
            pruned, self._tokens = len(self._tokens) - len(kept), kept
            return pruned

    def drop_user(self, name: str) -> None:
        with self._lock:
            self._tokens = {k: t for k, t in self._tokens.items() if t.user != name}

    def _revoke(self, tokens: list[IssuedToken], at_utc: datetime) -> int:
        live = [t for t in tokens if t.revoked_utc is None]
        for t in live:
            self._tokens[t.token_id] = dataclasses.replace(t, revoked_utc=at_utc)
        return len(live)


class MemoryUserStore:
    """Removing a user drops its tokens from the token store it was given, as the table's cascade does."""

    def __init__(self, tokens: MemoryTokenStore) -> None:
        self._users: dict[str, User] = {}
        self._tokens = tokens
        self._lock = threading.Lock()

    def add(self, user: User) -> None:
        with self._lock:
            if user.name in self._users:
                raise KeyError(user.name)
            self._users[user.name] = user

    def get(self, name: str) -> User | None:
        with self._lock:
            return self._users.get(name)

    def list(self) -> list[User]:
        with self._lock:
            return sorted(self._users.values(), key=lambda u: u.name)

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._lock:
            user = self._users.get(name)
            if user is None:
                return False
            self._users[name] = dataclasses.replace(user, password_hash=password_hash)
            return True

    def remove(self, name: str) -> bool:
        with self._lock:
            found = self._users.pop(name, None) is not None
        self._tokens.drop_user(name)
        return found
