"""The emulator's OAuth: the tokens it issues, checks and refreshes, on the wall clock.

Tokens are signed, not stored: `<kind>.<issued at>.<HMAC of both under the app secret>`, so an
emulator restarted with the same app secret still takes the tokens it issued before (a daemon's
token file outlives an emulator process). An access token lasts 30 minutes and a refresh token
7 days from its login, as Schwab's; a refresh returns a new access token and the same refresh
token. `expire_all()` (the `expire_refresh_token` fault) ends every token issued so far, the
access token with it, so the next request shows it (401) and the refresh that follows fails as
Schwab's does (`invalid_client`). Authorization codes (the browser login's redirect) are kept
in memory for 10 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any

from mismarterad.core.clock import Clock, SystemClock

__all__ = ["ACCESS_SECS", "REFRESH_SECS", "TokenIssuer"]

ACCESS_SECS = 1800
REFRESH_SECS = 7 * 86_400
_CODE_SECS = 600


class TokenIssuer:
    """Issues and checks one app's tokens; thread-safe."""

    def __init__(self, app_key: str, app_secret: str, wall: Clock | None = None) -> None:
        self._app_key, self._app_secret = app_key, app_secret
        self._mac_key = hashlib.sha256(f"schwab-emulator/{app_secret}".encode()).digest()
        self._wall = wall or SystemClock()
        self._lock = threading.Lock()
        self._revoked_before = 0.0
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (redirect_uri, issued)

    def app_key_ok(self, app_key: str) -> bool:
        return hmac.compare_digest(app_key, self._app_key)

    def client_ok(self, app_key: str, app_secret: str) -> bool:
        return hmac.compare_digest(app_key, self._app_key) and hmac.compare_digest(app_secret, self._app_secret)

    def access_ok(self, token: str) -> bool:
        return self._valid(token, "a", ACCESS_SECS)

    def login(self) -> dict[str, Any]:
        """A fresh token pair, as a completed browser login gets."""
        now = self._now()
        return self._token(self._sign("r", now), now)

    def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        """A new access token for a valid refresh token (the same refresh token), else None."""
        if not self._valid(refresh_token, "r", REFRESH_SECS):
            return None
        return self._token(refresh_token, self._now())

    def code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (redirect_uri, self._now())
        return code

    def exchange(self, code: str, redirect_uri: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._codes.pop(code, None)
        if found is None or found[0] != redirect_uri or self._now() - found[1] > _CODE_SECS:
            return None
        return self.login()

    def expire_all(self) -> None:
        with self._lock:
            self._revoked_before = self._now() + 1e-6

    def wrapped(self) -> dict[str, Any]:
        """A token file's content (schwab-py's format) for a login now."""
        now = self._now()
        return {"creation_timestamp": int(now), "token": self._token(self._sign("r", now), now)}

    def _token(self, refresh_token: str, now: float) -> dict[str, Any]:
        return {"access_token": self._sign("a", now), "refresh_token": refresh_token, "token_type": "Bearer",
                "expires_in": ACCESS_SECS, "scope": "api", "id_token": self._sign("i", now),
                "expires_at": int(now) + ACCESS_SECS}

    def _sign(self, kind: str, issued: float) -> str:
        body = f"{kind}.{issued:.6f}"
        return f"{body}.{hmac.new(self._mac_key, body.encode(), hashlib.sha256).hexdigest()}"

    def _valid(self, token: str, kind: str, lifetime: float) -> bool:
        head, _, mac = token.rpartition(".")
        got_kind, _, issued_text = head.partition(".")
        try:
            issued = float(issued_text)
        except ValueError:
            return False
        expected = hmac.new(self._mac_key, head.encode(), hashlib.sha256).hexdigest()
        with self._lock:
            revoked_before = self._revoked_before
        return (got_kind == kind and hmac.compare_digest(mac, expected) and issued >= revoked_before
                and self._now() - issued < lifetime)

    def _now(self) -> float:
        return self._wall.now().timestamp()
