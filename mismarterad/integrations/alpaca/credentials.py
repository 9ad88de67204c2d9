"""Alpaca API keys: where they come from, and that they never show.

Order: `APCA_API_KEY_ID` + `APCA_API_SECRET_KEY` in the environment (alpaca-py reads neither:
we do, once); else the `credentials_file` the config names, which must be private (mode 0600:
no group or other bits); else systemd's `$CREDENTIALS_DIRECTORY/alpaca` (LoadCredential=),
which systemd makes private itself, so its mode is not checked. A file holds
`APCA_API_KEY_ID=...` and `APCA_API_SECRET_KEY=...` lines (integrations/credential_files.py).
A key id or secret holding whitespace or a control character (a trailing `\r` or
space pasted with it) is refused, never stripped silently: requests would otherwise fail
with an error quoting the header value. Every error names the variables or the file (and
line), never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mismarterad.core.errors import ConfigError
from mismarterad.integrations.credential_files import is_clean, read_named_values, require_private

__all__ = ["KEY_ID_VAR", "SECRET_VAR", "AlpacaCredentials", "load_alpaca_credentials"]

KEY_ID_VAR = "APCA_API_KEY_ID"
SECRET_VAR = "APCA_API_SECRET_KEY"
SYSTEMD_CREDENTIAL_NAME = "alpaca"


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
    key_id, secret = environ.get(KEY_ID_VAR, ""), environ.get(SECRET_VAR, "")
    if key_id or secret:
        return _pair(key_id, secret, "the environment")
    if credentials_file is not None:
        require_private(credentials_file, "Alpaca")
        return _from_file(credentials_file)
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if directory:
        path = Path(directory) / SYSTEMD_CREDENTIAL_NAME
        if path.exists():
            return _from_file(path)
    raise ConfigError(f"no Alpaca credentials: set {KEY_ID_VAR} and {SECRET_VAR} in the environment, name a "
                      f"credentials_file (mode 0600) in [alpaca], or give the service a systemd credential "
                      f"'{SYSTEMD_CREDENTIAL_NAME}' (LoadCredential=)")


def _pair(key_id: str, secret: str, where: str, lines: Mapping[str, int] | None = None) -> AlpacaCredentials:
    missing = [name for name, value in ((KEY_ID_VAR, key_id), (SECRET_VAR, secret)) if not value]
    if missing:
        raise ConfigError(f"Alpaca credentials in {where}: {' and '.join(missing)} is missing or empty "
                          f"(both {KEY_ID_VAR} and {SECRET_VAR} are needed)")
    for name, value in ((KEY_ID_VAR, key_id), (SECRET_VAR, secret)):
        if not is_clean(value):
            at = f" line {lines[name]}" if lines and name in lines else ""
            raise ConfigError(f"Alpaca credentials in {where}{at}: {name} contains whitespace or a control "
                              f"character (a trailing newline, carriage return or space?): remove it")
    return AlpacaCredentials(key_id, secret)


def _from_file(path: Path) -> AlpacaCredentials:
    values, lines = read_named_values(path, (KEY_ID_VAR, SECRET_VAR), "Alpaca")
    return _pair(values.get(KEY_ID_VAR, ""), values.get(SECRET_VAR, ""), f"file {path}", lines)
