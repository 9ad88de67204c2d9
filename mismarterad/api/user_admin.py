"""Managing the API's users, shared by `mismarterad user ...` and the admin's API routes: the
same checks, the same audit rows, whichever door the change comes through.

Changing a password or removing a user revokes that user's tokens at once (`forget`, the auth
service's, makes this daemon check them again at the next request). The last admin cannot be
removed: the API would have no one left to manage its users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from mismarterad.api.passwords import bad_password, hash_password
from mismarterad.core.access import Role, TokenStore, User, UserStore, bad_user_name
from mismarterad.core.audit import AuditEntry, AuditLog
from mismarterad.core.clock import Clock

__all__ = ["Actor", "UserAdmin", "UserAdminError", "UserRow"]

log = structlog.get_logger(component="api_users")


class UserAdminError(Exception):
    """A refused change. `code`: "invalid" (a bad name, role or password: `field` names it),
    "not_found", "exists" or "refused" (the last admin)."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field = code, field


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, as the audit trail records it."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    role: str
    created_utc: datetime
    live_tokens: int


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise UserAdminError("invalid", "role", f"role: expected one of {', '.join(r.value for r in Role)}, "
                                                f"got {text[:40]!r}") from None


class UserAdmin:
    def __init__(self, users: UserStore, tokens: TokenStore, audit: AuditLog, wall: Clock,
                 forget: Callable[[str], None] = lambda _name: None) -> None:
        self._users, self._tokens, self._audit, self._wall = users, tokens, audit, wall
        self._forget = forget

    def list(self) -> list[UserRow]:
        now = self._wall.now()
        return [UserRow(u.name, u.role.value, u.created_utc, self._tokens.live(u.name, now)) for u in self._users.list()]

    def add(self, name: str, role: str, password: str, by: Actor) -> None:
        def change() -> None:
            parsed = parse_role(role)
            self._check_name(name)
            self._check_password(password)
            try:
                self._users.add(User(name, parsed, hash_password(password), self._wall.now()))
            except KeyError:
                raise UserAdminError("exists", "name", f"user {name!r} exists already") from None

        self._audited(by, "user add", f"name={name[:64]} role={role[:16]}", change)

    def remove(self, name: str, by: Actor) -> None:
        def change() -> None:
            user = self._users.get(name)
            if user is None:
                raise self._unknown(name)
            if user.role is Role.ADMIN and not any(u.role is Role.ADMIN and u.name != name for u in self._users.list()):
                raise UserAdminError("refused", "name", f"{name} is the last admin: add another admin first")
            if not self._users.remove(name):
                raise self._unknown(name)
            self._forget(name)

        self._audited(by, "user remove", f"name={name[:64]}", change)

    def set_password(self, name: str, password: str, by: Actor) -> int:
        """Change the password; the number of the user's tokens revoked with it."""
        revoked = 0

        def change() -> None:
            nonlocal revoked
            self._check_password(password)
            if not self._users.set_password(name, hash_password(password)):
                raise self._unknown(name)
            revoked = self._tokens.revoke_user(name, self._wall.now())
            self._forget(name)

        self._audited(by, "user passwd", f"name={name[:64]}", change)
        return revoked

    def revoke(self, name: str, by: Actor) -> int:
        """Revoke every live token of the user; how many."""
        revoked = 0

        def change() -> None:
            nonlocal revoked
            if self._users.get(name) is None:
                raise self._unknown(name)
            revoked = self._tokens.revoke_user(name, self._wall.now())
            self._forget(name)

        self._audited(by, "user revoke", f"name={name[:64]}", change)
        return revoked

    def _audited(self, by: Actor, action: str, detail: str, change) -> None:  # type: ignore[no-untyped-def]
        try:
            change()
        except UserAdminError as exc:
            self._record(by, action, detail, f"refused: {exc}")
            raise
        except Exception as exc:
            self._record(by, action, detail, f"failed: {type(exc).__name__}")
            raise
        self._record(by, action, detail, "ok")

    def _record(self, by: Actor, action: str, detail: str, result: str) -> None:
        self._audit.record(AuditEntry(self._wall.now(), by.name, action, detail, result, by.address))
        log.info("api_user_change", user=by.name, action=action, detail=detail, result=result, address=by.address)

    @staticmethod
    def _check_name(name: str) -> None:
        if (problem := bad_user_name(name)) is not None:
            raise UserAdminError("invalid", "name", problem)

    @staticmethod
    def _check_password(password: str) -> None:
        if (problem := bad_password(password)) is not None:
            raise UserAdminError("invalid", "password", problem)

    @staticmethod
    def _unknown(name: str) -> UserAdminError:
        return UserAdminError("not_found", "name", f"no user {name[:64]!r}")
