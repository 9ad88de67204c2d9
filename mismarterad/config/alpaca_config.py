"""The `[alpaca]` table of the daemon's TOML: which Alpaca account and feed a day-run trades on.

Credentials are never config keys: they come from the environment, a mode-0600 file, or
systemd's credentials directory (`integrations/alpaca/credentials.py`), so a config file can be
shared, committed or shown by `mismarterad config show` without leaking anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

__all__ = ["AlpacaConfig"]

StrictBool = Annotated[bool, Strict()]


class AlpacaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paper: StrictBool = Field(default=True, description="true: the paper account; false: real money")
    feed: Literal["iex", "sip"] = Field(default="iex", description="market-data feed: iex (free) or sip (paid plan)")
    # checked where it is used (integrations/alpaca/endpoints.py; a bad one exits 78 at start)
    endpoint: str | None = Field(
        default=None, description="one base URL for REST and both streams, e.g. the emulator's http://127.0.0.1:8700")
    credentials_file: Path | None = Field(
        default=None, description="file with APCA_API_KEY_ID=… and APCA_API_SECRET_KEY=… lines, mode 0600")
    live_trading_confirmed: StrictBool = Field(
        default=False, description="must be true when paper = false: trading real money is never a default")

    @model_validator(mode="after")
    def _live_needs_confirmation(self) -> AlpacaConfig:
        if not self.paper and not self.live_trading_confirmed:
            raise ValueError("paper = false trades real money: also set live_trading_confirmed = true")
        return self
