"""The Schwab token file: schwab-py's format, private, and how old its refresh token is.

The file (`{"creation_timestamp": UNIX seconds, "token": {access_token, refresh_token,
expires_at, ...}}`, schwab-py 1.5.1's `TokenMetadata`) is written by `mismarterad auth schwab`
and rewritten by every refresh of the 30-minute access token (schwab-py keeps its
`creation_timestamp`). Only a person can renew the refresh token, through a browser login,
and Schwab refuses it about 7 days after that login: its age is read from `creation_timestamp`
on the machine's wall clock (a replayed day's clock never ages a real token), exported as
`mismarterad_schwab_token_age_seconds`, alerted on from day 5, and a session does not start on
a token that expires before the session's close (plus a margin): see `require_fresh`.

The file holds bearer credentials: it is written with mode 0600 (atomically, so a crash
mid-refresh never leaves half a token), a file others can read is refused, and no message
here ever carries its content.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from mismarterad.core.clock import Clock, SystemClock
from mismarterad.core.errors import ConfigError
from mismarterad.core.durable_files import replace_file
from mismarterad.integrations.broker_errors import BrokerAuthError

__all__ = ["AUTH_HINT", "REFRESH_TOKEN_SECS", "TOKEN_FILE_NAME", "TokenFile"]

log = structlog.get_logger(component="schwab_tokens")

AUTH_HINT = "run `mismarterad auth schwab` (a browser login renews the refresh token for 7 days)"
REFRESH_TOKEN_SECS = 7 * 86_400  # Schwab refuses the refresh token about this long after the login
TOKEN_FILE_NAME = "schwab-token.json"  # in the state directory unless [schwab] token_file says otherwise


@dataclass(frozen=True)
class TokenFile:
    """One token file; `wall` is the machine's real clock (never a replay clock)."""

    path: Path
    wall: Clock = SystemClock()

    def read(self) -> dict[str, Any]:
        """The wrapped token (schwab-py's format); ConfigError naming the file and what to run
        if it is missing, readable by others, or not a token file."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except FileNotFoundError:
            raise ConfigError(f"schwab.token_file {self.path}: no such file: {AUTH_HINT}") from None
        except OSError as exc:
            raise ConfigError(f"schwab.token_file {self.path}: cannot read it ({exc.strerror})") from None
        if mode & 0o077:
            raise ConfigError(f"schwab.token_file {self.path} has mode {mode:04o}, which lets other users read it: "
                              f"0600 is expected (chmod 600 {self.path})")
        try:
            wrapped = json.loads(self.path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"schwab.token_file {self.path}: cannot read it ({exc.strerror})") from None
        except ValueError:
            raise ConfigError(f"schwab.token_file {self.path}: not a token file (not JSON): {AUTH_HINT}") from None
        token = wrapped.get("token") if isinstance(wrapped, dict) else None
        created = wrapped.get("creation_timestamp") if isinstance(wrapped, dict) else None
        if not isinstance(token, dict) or not isinstance(created, int | float) or isinstance(created, bool) \
                or not all(isinstance(token.get(k), str) and token.get(k) for k in ("access_token", "refresh_token")):
            raise ConfigError(f"schwab.token_file {self.path}: not a schwab-py token file (creation_timestamp, "
                              f"token.access_token and token.refresh_token are expected): {AUTH_HINT}")
        return wrapped

    def write(self, wrapped: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        """Replace the file with `wrapped` (mode 0600). Run as root (`mismarterad auth schwab`
        under sudo), the file is given to the state directory's owner, the service user that
        rewrites it at each refresh. A refresh of an older login never overwrites a newer one:
        a session running while the operator renewed keeps its token in memory, and the next
        day-run reads the new file. schwab-py calls this with extra arguments it ignores."""
        if self._newer_on_disk(float(wrapped["creation_timestamp"])):
            log.info("schwab_token_kept", path=str(self.path), note="a newer login's token is in the file")
            return
        replace_file(self.path, json.dumps(wrapped).encode(), mode=0o600)
        if os.geteuid() == 0:
            owner = self.path.parent.stat()
            os.chown(self.path, owner.st_uid, owner.st_gid)

    def _newer_on_disk(self, created: float) -> bool:
        try:
            on_disk = json.loads(self.path.read_bytes()).get("creation_timestamp")
        except (OSError, ValueError, AttributeError):
            return False
        return isinstance(on_disk, int | float) and on_disk > created

    def age_secs(self, wrapped: dict[str, Any] | None = None) -> float:
        """Seconds since the browser login that made the refresh token (wall clock)."""
        created = float((wrapped or self.read())["creation_timestamp"])
        return self.wall.now().timestamp() - created

    def require_fresh(self, wrapped: dict[str, Any], *, lasting_secs: float = 0.0, needed_for: str = "") -> None:
        """BrokerAuthError saying what to run if the refresh token is 7 days old, or will be
        within `lasting_secs` (wall time) of now: a day-run is not started on a token that dies
        before the day-run is done with the account (`needed_for` says until when, for the
        message), since without it the daemon cannot even flatten."""
        created = float(wrapped["creation_timestamp"])
        now = self.wall.now().timestamp()
        age, expires = now - created, created + REFRESH_TOKEN_SECS
        if age >= REFRESH_TOKEN_SECS:
            made = datetime.fromtimestamp(created, tz=UTC)
            raise BrokerAuthError(f"the Schwab refresh token in {self.path} was made {age / 86_400:.1f} days ago "
                                  f"({made:%Y-%m-%d %H:%M} UTC) and Schwab refuses it after 7: {AUTH_HINT}")
        if now + lasting_secs > expires:
            ends = datetime.fromtimestamp(expires, tz=UTC)
            raise BrokerAuthError(f"the Schwab refresh token in {self.path} expires at {ends:%Y-%m-%d %H:%M} UTC, "
                                  f"in {(expires - now) / 3600:.1f} h, before {needed_for or 'it is needed'}: "
                                  f"the day-run is not started on it; {AUTH_HINT}")
