"""A test strategy that records every hook call and what the new reads return at that moment.

It buys 10 shares at :00 and sells them at :30 of every hour, and again at 15:50 (held into the
close's flatten), rests a buy limit far below the market at 10:00 (open until the close cancels it), and writes one JSON line per call to the file
named in its params: the hook, the bar or fill, cash, equity, its position, its open orders and
the RSI it requested.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from mismarterad.strategies import Strategy


class Recorder(Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        out: str

    indicators = ("rsi(14)",)

    def _write(self, hook: str, **fields: object) -> None:
        with open(self.params.out, "a") as out:
            out.write(json.dumps({"hook": hook, "strategy": self.strategy_id, **fields}) + "\n")

    def on_start(self) -> None:
        self._write("on_start", cash=self.cash, equity=self.equity)

    def on_session_start(self) -> None:
        self._write("on_session_start", day=self.session().day.isoformat())

    def on_bar(self, symbol, interval, bar) -> None:  # type: ignore[no-untyped-def]
        self._write("on_bar", start=bar.start_utc.isoformat(), now=self.now().isoformat(), cash=self.cash,
                    equity=self.equity, position=self.position(symbol), close=bar.close,
                    rsi=self.indicator(symbol, "rsi(14)"),
                    open_orders=[o.client_order_id for o in self.open_orders(symbol)])
        if self.is_last_bar(bar):
            return
        entry = bar.start_utc.minute == 0 or (bar.start_utc.hour, bar.start_utc.minute) == (20, 50)  # 15:50 NY
        if entry and self.position(symbol) == 0:
            self.buy(symbol, 10)
            self.log.info("entry_sent", symbol=symbol, close=bar.close)
        elif bar.start_utc.minute == 30 and self.position(symbol) > 0:
            self.sell(symbol, self.position(symbol))
        if bar.start_utc.hour == 15 and bar.start_utc.minute == 0:  # 10:00 New York in January
            self.buy(symbol, 1, limit=round(bar.close / 2, 2))

    def on_fill(self, fill) -> None:  # type: ignore[no-untyped-def]
        self._write("on_fill", id=fill.client_order_id, side=fill.side.value, quantity=fill.quantity,
                    price=fill.price, ts=fill.ts_utc.isoformat(), position=self.position(fill.symbol),
                    cash=self.cash)

    def on_session_end(self) -> None:
        self._write("on_session_end", day=self.session().day.isoformat())
