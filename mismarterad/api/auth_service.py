"""Logins and access tokens: who is asking, and may they.

A token is a JWT (HS256, signed with the key in the state directory) carrying the user
(`sub`), its id (`jti`) and its expiry. The signature proves the daemon issued it; the
`api_tokens` row by that id, read on every request, says whether it still stands (expired,
revoked, or its user removed), and the user's row gives the role as it is now. A token checked
less than RECHECK_SECS ago is not read again; a revocation made through this daemon (sign-out,
the admin routes) forgets it at once, one made by `mismarterad user` counts within RECHECK_SECS.
Times are wall-clock UTC from the injected clock: a token's life is real time, whatever clock
the market runs on. Token rows are pruned PRUNE_AFTER past their expiry.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from mismarterad.api.login_throttle import LoginThrottle, Throttled
from mismarterad.api.passwords import verify_password
from mismarterad.core.access import IssuedToken, Role, TokenStore, UserStore
from mismarterad.core.clock import Clock

__all__ = ["AuthService", "LoginRefused", "NotAuthenticated", "Principal"]

_ALGORITHM = "HS256"
MIN_TTL = timedelta(seconds=1)
RECHECK_SECS = 1.0  # a token checked this recently is not looked up again: a revocation counts within it
_CACHE_SIZE = 1000
REGULAR_WITHIN = timedelta(days=30)  # an address the user signed in from this recently is the user's own
PRUNE_AFTER = timedelta(days=30)  # token rows are kept this long past their expiry, then deleted
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    role: Role
    token_id: str
    expires_utc: datetime


class LoginRefused(Exception):
    """A login not granted: wrong name or password, or (`retry_after` seconds) too many failures.
    `user`: the name tried when it is a user's (None for any other text, which may be a password
    typed in the wrong field); `announce`: worth a log line (not a refusal already logged)."""

    def __init__(self, message: str, user: str | None, retry_after: float | None = None,
                 announce: bool = True) -> None:
        super().__init__(message)
        self.user, self.retry_after, self.announce = user, retry_after, announce


class NotAuthenticated(Exception):
    """No usable token: the message says why (missing, invalid, expired, revoked)."""


class AuthService:
    def __init__(self, users: UserStore, tokens: TokenStore, key: bytes, wall: Clock, ttl: timedelta,
                 throttle: LoginThrottle, monotonic: Callable[[], float] = time.monotonic,
                 verify: Callable[[str | None, str], bool] = verify_password) -> None:
        self._users, self._tokens, self._key = users, tokens, key
        self._wall, self._ttl, self._throttle = wall, ttl, throttle
        self._monotonic, self._verify = monotonic, verify
        self._checked: dict[str, tuple[float, Principal]] = {}  # token -> (monotonic when checked, who)
        self._forgotten = 0  # counts revocations: a check that overlapped one is not remembered
        self._next_prune: datetime | None = None
        self._lock = threading.Lock()

    @property
    def max_ttl(self) -> timedelta:
        return self._ttl

    def login(self, name: str, password: str, address: str, ttl: timedelta | None = None) -> tuple[str, IssuedToken]:
        """A new signed token and its record; LoginRefused otherwise. `ttl` may shorten the
        configured lifetime (a script's short-lived token), never lengthen it."""
        key = name.strip().lower()[:64]
        regular = self._throttle.user_limited(key) and self._tokens.signed_in_from(
            key, address[:64], self._wall.now() - REGULAR_WITHIN)
        ticket = self._throttle.begin(key, address, regular)  # counted before the password is checked
        if isinstance(ticket, Throttled):
            known = self._users.get(key) if ticket.first else None
            raise LoginRefused("too many failed logins; try again later", known.name if known else None,
                               max(1.0, ticket.retry_after), ticket.first)
        user = self._users.get(key)
        if not self._verify(user.password_hash if user is not None else None, password) or user is None:
            raise LoginRefused("wrong user name or password", user.name if user is not None else None)
        self._throttle.succeeded(key, address, ticket)
        now = self._wall.now()
        life = self._ttl if ttl is None else max(MIN_TTL, min(ttl, self._ttl))
        record = IssuedToken(secrets.token_urlsafe(24), user.name, now, now + life, address[:64])
        self._tokens.add(record)
        if self._next_prune is None or now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY
            self._tokens.prune(now - PRUNE_AFTER)
        claims = {"sub": user.name, "jti": record.token_id, "iat": int(now.timestamp()),
                  "exp": int(record.expires_utc.timestamp())}
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), record

    def authenticate(self, token: str) -> Principal:
        """The user behind a bearer token; NotAuthenticated saying why not."""
        now = self._monotonic()
        with self._lock:
            cached, forgotten = self._checked.get(token), self._forgotten
        if cached is not None and now - cached[0] < RECHECK_SECS and cached[1].expires_utc > self._wall.now():
            return cached[1]
        who = self._check(token)
        with self._lock:
            if forgotten == self._forgotten:  # no revocation since the rows were read: safe to remember
                if len(self._checked) >= _CACHE_SIZE:
                    self._checked.clear()
                self._checked[token] = (now, who)
        return who

    def _check(self, token: str) -> Principal:
        try:
            # expiry is checked against the token's row with the injected clock, below
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM], options={
                "verify_exp": False, "require": ["sub", "jti", "exp"]})
        except jwt.PyJWTError:
            raise NotAuthenticated("invalid token") from None
        record = self._tokens.get(str(claims["jti"]))
        if record is None or record.user != claims["sub"]:
            raise NotAuthenticated("invalid token")
        if record.revoked_utc is not None:
            raise NotAuthenticated("token revoked")
        if record.expires_utc <= self._wall.now():
            raise NotAuthenticated("token expired")
        user = self._users.get(record.user)
        if user is None:
            raise NotAuthenticated("token revoked")  # the user was removed since
        return Principal(user.name, user.role, record.token_id, record.expires_utc)

    def revoke(self, token_id: str) -> bool:
        done = self._tokens.revoke(token_id, self._wall.now())  # the row first, then the memory of it
        self._forget(lambda who: who.token_id == token_id)
        return done

    def forget_user(self, name: str) -> None:
        """The user's tokens were revoked or the user changed: check its tokens again at once."""
        self._forget(lambda who: who.user == name)

    def _forget(self, match: Callable[[Principal], bool]) -> None:
        with self._lock:
            self._forgotten += 1
            self._checked = {t: c for t, c in self._checked.items() if not match(c[1])}
