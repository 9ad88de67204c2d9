"""The Schwab app's key and secret: where they come from, and that they never show.

`SCHWAB_APP_KEY` + `SCHWAB_APP_SECRET` in the environment; else the `credentials_file` the
`[schwab]` table names (mode 0600); else systemd's `$CREDENTIALS_DIRECTORY/schwab`
(integrations/credential_files.py: the order, the file format, the checks). Both are secrets
(the key identifies the app to Schwab): neither is shown in a repr, a log line or an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mismarterad.integrations.credential_files import KeyPairSource, load_key_pair

__all__ = ["APP_KEY_VAR", "APP_SECRET_VAR", "SchwabCredentials", "load_schwab_credentials"]

APP_KEY_VAR = "SCHWAB_APP_KEY"
APP_SECRET_VAR = "SCHWAB_APP_SECRET"
_SOURCE = KeyPairSource("Schwab", "schwab", (APP_KEY_VAR, APP_SECRET_VAR), "schwab")


@dataclass(frozen=True, slots=True)
class SchwabCredentials:
    """The app's key and secret (from the developer portal); `repr`/`str` show neither."""

    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return "SchwabCredentials(app_key=***, app_secret=***)"

    __str__ = __repr__

    @property
    def values(self) -> tuple[str, str]:
        """Both, for scrubbing messages."""
        return self.app_key, self.app_secret


def load_schwab_credentials(environ: Mapping[str, str], credentials_file: Path | None) -> SchwabCredentials:
    """The app key and secret from the environment, `credentials_file`, or systemd's credentials
    directory, in that order; ConfigError (the daemon exits 78) when none has a complete pair."""
    return SchwabCredentials(*load_key_pair(_SOURCE, environ, credentials_file))
