"""Alpaca API keys: where they come from, and that they never show.

`APCA_API_KEY_ID` + `APCA_API_SECRET_KEY` in the environment (alpaca-py reads neither: we do,
once); else the `credentials_file` the config names (mode 0600); else systemd's
`$CREDENTIALS_DIRECTORY/alpaca` (integrations/credential_files.py: the order, the file format,
the checks). Every error names the variables or the file (and line), never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mismarterad.integrations.credential_files import KeyPairSource, load_key_pair

__all__ = ["KEY_ID_VAR", "SECRET_VAR", "AlpacaCredentials", "load_alpaca_credentials"]

KEY_ID_VAR = "APCA_API_KEY_ID"
SECRET_VAR = "APCA_API_SECRET_KEY"
SYSTEMD_CREDENTIAL_NAME = "alpaca"
_SOURCE = KeyPairSource("Alpaca", "alpaca", (KEY_ID_VAR, SECRET_VAR), SYSTEMD_CREDENTIAL_NAME)


@dataclass(frozen=True, slots=True)
class AlpacaCredentials:
    """An API key pair. `repr`/`str` show the key id only: the secret never reaches a log line."""

    key_id: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"AlpacaCredentials(key_id={self.key_id!r}, secret=***)"

    __str__ = __repr__


def load_alpaca_credentials(environ: Mapping[str, str], credentials_file: Path | None) -> AlpacaCredentials:
    """The key pair from the environment, `credentials_file`, or systemd's credentials directory,
    in that order; ConfigError (the daemon exits 78) when none has a complete pair."""
    return AlpacaCredentials(*load_key_pair(_SOURCE, environ, credentials_file))
