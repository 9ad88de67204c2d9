"""A test strategy that records what it can see at every bar and trades a fixed pattern.

It buys at :00 and sells at :30 of every hour, so fills, positions and the engine's flatten
are exercised; observations go to a JSON-lines file named in its params.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from mismarterad.strategies import Strategy
from mismarterad.strategies.base import IndicatorRequest


class Probe(Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        out: str

    intervals = ("1m", "5m")

    def indicator_requests(self) -> list[IndicatorRequest]:
        return [IndicatorRequest(kind="sma", interval="1m", period=3),
                IndicatorRequest(kind="ema", interval="5m", period=2)]

    def on_session_start(self) -> None:
        self._out = open(self.params.out, "a")  # noqa: SIM115 - closed at the session end

    def on_bar(self, symbol, interval, bar) -> None:  # type: ignore[no-untyped-def]
        last_1m = self.bars(symbol, "1m", 3)
        last_5m = self.bars(symbol, "5m", 1)
        self._out.write(json.dumps({
            "interval": interval,
            "start": bar.start_utc.isoformat(),
            "now": self.now().isoformat(),
            "last_1m": [b.start_utc.isoformat() for b in last_1m],
            "closes_1m": [b.close for b in last_1m],
            "last_5m": last_5m[-1].start_utc.isoformat() if last_5m else None,
            "sma3": self.indicator(symbol, "sma(3)", "1m"),
            "ema2_5m": self.indicator(symbol, "ema(2)", "5m"),
            "quality": self.quality(symbol),
            "position": self.position(symbol),
        }) + "\n")
        if interval != "1m" or self.is_last_bar(bar):
            return
        if bar.start_utc.minute == 0 and self.position(symbol) == 0:
            self.buy(symbol, 10)
        elif bar.start_utc.minute == 30 and self.position(symbol) > 0:
            self.sell(symbol, self.position(symbol))

    def on_session_end(self) -> None:
        self._out.close()
