"""The `[alpaca]` table of the daemon's TOML: which Alpaca account and feed a day-run trades on.

Credentials are never config keys: they come from the environment, a mode-0600 file, or
systemd's credentials directory (`integrations/alpaca/credentials.py`), so a config file can be
shared, committed or shown by `mismarterad config show` without leaking anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

__all__ = ["AlpacaConfig"]

StrictBool = Annotated[bool, Strict()]


class AlpacaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paper: StrictBool = Field(default=True, description="true: the paper account; false: real money")
    feed: Literal["iex", "sip"] = Field(default="iex", description="market-data feed: iex (free) or sip (paid plan)")
    endpoint: str | None = Field(
        default=None, description="one base URL for REST and both streams, e.g. the emulator's http://127.0.0.1:8700")
    credentials_file: Path | None = Field(
        default=None, description="file with APCA_API_KEY_ID=… and APCA_API_SECRET_KEY=… lines, mode 0600")
    live_trading_confirmed: StrictBool = Field(
        default=False, description="must be true when paper = false: trading real money is never a default")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
            raise ValueError(f"expected http(s)://HOST[:PORT] with no path, such as http://127.0.0.1:8700, got "
                             f"{value[:80]!r}")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"the port of {value[:80]!r} is not a number from 0 to 65535") from None
        return value.rstrip("/")

    @model_validator(mode="after")
    def _live_needs_confirmation(self) -> AlpacaConfig:
        if not self.paper and not self.live_trading_confirmed:
            raise ValueError("paper = false trades real money: also set live_trading_confirmed = true")
        return self
