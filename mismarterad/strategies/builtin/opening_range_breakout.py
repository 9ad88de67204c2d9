"""`opening_range_breakout`: buy a break above the first minutes' range, protect with a stop.

During the first `minutes` of the session the strategy records the range's high and low.
Afterwards, the first 1-minute close above the range high while flat buys `quantity` at market
(one entry per symbol and day). Once the position is held, a stop sell is placed `stop` percent
below the range high. The engine flattens at the session's last close.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from mismarterad.core.market_data import Bar
from mismarterad.strategies.base import Strategy

__all__ = ["OpeningRangeBreakout"]


class OpeningRangeBreakout(Strategy):
    """Buy `quantity` on the first 1-minute close above the range of the session's first
    `minutes` (once per symbol and day), then protect it with a stop `stop` % below that range."""

    name = "opening_range_breakout"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        minutes: int = Field(default=15, ge=1, le=120, description="length of the opening range, 1 to 120 minutes")
        quantity: int = Field(default=100, ge=1, le=1_000_000_000, description="shares per entry, 1 to 10^9")
        stop: float = Field(default=0.5, gt=0, lt=50, allow_inf_nan=False, description="stop distance below the range high, percent")

    def on_session_start(self) -> None:
        self._high: dict[str, float] = {}
        self._low: dict[str, float] = {}
        self._entered: set[str] = set()
        self._stopped: set[str] = set()
        open_ = self.session().regular_open
        assert open_ is not None
        self._range_end = open_ + timedelta(minutes=self.params.minutes)

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        if bar.start_utc < self._range_end:
            self._high[symbol] = max(self._high.get(symbol, bar.high), bar.high)
            self._low[symbol] = min(self._low.get(symbol, bar.low), bar.low)
            return
        high = self._high.get(symbol)
        if high is None or self.is_last_bar(bar):
            return
        held = self.position(symbol)
        if held > 0 and symbol not in self._stopped:
            self.sell(symbol, held, stop=round(high * (1 - self.params.stop / 100), 4))
            self._stopped.add(symbol)
        elif held == 0 and symbol not in self._entered and bar.close > high:
            self.buy(symbol, self.params.quantity)
            self._entered.add(symbol)
