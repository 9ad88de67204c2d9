"""Logins and access tokens: who is asking, and may they.

A token is a JWT (HS256, signed with the key in the state directory) carrying the user
(`sub`), its id (`jti`) and its expiry. The signature proves the daemon issued it; the
`api_tokens` row by that id, read on every request, says whether it still stands (expired,
revoked, or its user removed), and the user's row gives the role as it is now, so a revoked
token or a changed role takes effect at the next request. Times are wall-clock UTC from the
injected clock: a token's life is real time, whatever clock the market runs on.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.passwords import verify_password
from mismarterad.core.access import IssuedToken, Role, TokenStore, UserStore
from mismarterad.core.clock import Clock

__all__ = ["AuthService", "LoginRefused", "NotAuthenticated", "Principal"]

_ALGORITHM = "HS256"
MIN_TTL = timedelta(seconds=1)
RECHECK_SECS = 1.0  # a token checked this recently is not looked up again: a revocation counts within it
_CACHE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    role: Role
    token_id: str
    expires_utc: datetime


class LoginRefused(Exception):
    """A login not granted: wrong name or password, or (`retry_after` seconds) too many failures."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotAuthenticated(Exception):
    """No usable token: the message says why (missing, invalid, expired, revoked)."""


class AuthService:
    def __init__(self, users: UserStore, tokens: TokenStore, key: bytes, wall: Clock, ttl: timedelta,
                 throttle: LoginThrottle, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._users, self._tokens, self._key = users, tokens, key
        self._wall, self._ttl, self._throttle = wall, ttl, throttle
        self._monotonic = monotonic
        self._checked: dict[str, tuple[float, Principal]] = {}  # token -> (monotonic when checked, who)
        self._lock = threading.Lock()

    @property
    def max_ttl(self) -> timedelta:
        return self._ttl

    def login(self, name: str, password: str, address: str, ttl: timedelta | None = None) -> tuple[str, IssuedToken]:
        """A new signed token and its record; LoginRefused otherwise. `ttl` may shorten the
        configured lifetime (a script's short-lived token), never lengthen it."""
        key = name.strip().lower()[:64]
        wait = self._throttle.retry_after(key, address)
        if wait is not None:
            raise LoginRefused("too many failed logins; try again later", retry_after=max(1.0, wait))
        user = self._users.get(key)
        if not verify_password(user.password_hash if user is not None else None, password) or user is None:
            self._throttle.failed(key, address)
            raise LoginRefused("wrong user name or password")
        self._throttle.succeeded(key)
        now = self._wall.now()
        life = self._ttl if ttl is None else max(MIN_TTL, min(ttl, self._ttl))
        record = IssuedToken(secrets.token_urlsafe(24), user.name, now, now + life, address[:64])
        self._tokens.add(record)
        claims = {"sub": user.name, "jti": record.token_id, "iat": int(now.timestamp()),
                  "exp": int(record.expires_utc.timestamp())}
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), record

    def authenticate(self, token: str) -> Principal:
        """The user behind a bearer token; NotAuthenticated saying why not."""
        now = self._monotonic()
        with self._lock:
            cached = self._checked.get(token)
        if cached is not None and now - cached[0] < RECHECK_SECS and cached[1].expires_utc > self._wall.now():
            return cached[1]
        who = self._check(token)
        with self._lock:
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
        with self._lock:  # this daemon forgets it at once; others' revocations count within RECHECK_SECS
            self._checked = {t: c for t, c in self._checked.items() if c[1].token_id != token_id}
        return self._tokens.revoke(token_id, self._wall.now())
