"""The `[schwab]` table of the daemon's TOML: which Schwab account a day-run trades on, and where
the adapter's token file is.

The app's key and secret are never config keys: they come from the environment, a mode-0600
file, or systemd's credentials directory (`integrations/schwab/credentials.py`). The OAuth
tokens live in `token_file` (written by `mismarterad auth schwab`, rewritten by every refresh),
by default in the state directory. Schwab has no paper account: trading through Schwab itself
is real money, so it needs `live_trading_confirmed = true`; only an `endpoint` on a loopback
host (where the shipped emulator listens) does not: any other host may be a proxy to the real
account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from mismarterad.core.hosts import is_loopback_url

__all__ = ["SchwabConfig"]

StrictBool = Annotated[bool, Strict()]


class SchwabConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_number: str = Field(pattern=r"^[0-9]{4,20}$",
                                description="the account to trade (digits, as Schwab shows it; its hash is looked up)")
    token_file: Path | None = Field(
        default=None, description="the OAuth token file (mode 0600); default: schwab-token.json in the state directory")
    # checked where it is used (integrations/schwab/transport.py; a bad one exits 78 at start)
    endpoint: str | None = Field(
        default=None, description="one base URL instead of Schwab's host, e.g. the emulator's http://127.0.0.1:8800")
    credentials_file: Path | None = Field(
        default=None, description="file with SCHWAB_APP_KEY=… and SCHWAB_APP_SECRET=… lines, mode 0600")
    live_trading_confirmed: StrictBool = Field(
        default=False, description="must be true unless the endpoint is a loopback host (the emulator): "
                                    "Schwab has no paper account, it is real money")

    @model_validator(mode="after")
    def _live_needs_confirmation(self) -> SchwabConfig:
        if not self.live_trading_confirmed and not (self.endpoint is not None and is_loopback_url(self.endpoint)):
            raise ValueError("Schwab has no paper account and trades real money: set live_trading_confirmed = true "
                             "(only an endpoint on a loopback host, the emulator's, runs without it)")
        return self
