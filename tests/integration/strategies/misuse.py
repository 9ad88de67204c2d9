"""A test strategy that makes one mistake, chosen by its `mistake` param, at 10:00 New York."""

from __future__ import annotations

import contextlib

from pydantic import BaseModel, ConfigDict

from mismarterad.core.errors import StrategyError
from mismarterad.strategies import Strategy


class Misuse(Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        mistake: str

    indicators = ("rsi(14)",)

    def on_start(self) -> None:
        if self.params.mistake == "quality_on_start":
            self.quality("SPY")  # no session yet: refused, not None

    def on_bar(self, symbol, interval, bar) -> None:  # type: ignore[no-untyped-def]
        if bar.start_utc.hour != 15 or bar.start_utc.minute != 0:
            return
        match self.params.mistake:
            case "bare_name":
                self.indicator(symbol, "rsi")
            case "other_period":
                self.indicator(symbol, "rsi(20)")
            case "other_interval":
                self.indicator(symbol, "rsi(14)", "5m")
            case "bars_interval":
                self.bars(symbol, "5m", 3)
            case "foreign_symbol":
                self.bars("QQQ", "1m", 3)
            case "historical_name":
                self.historical_indicator("avg_volume", symbol)
            case "caught":
                with contextlib.suppress(StrategyError):  # swallowed: the engine fails the strategy anyway
                    self.indicator(symbol, "sma(5)")
