"""A strategy whose orders depend on every value it reads, for the golden report files.

Each read (bars of several intervals, every indicator kind, quality, position, cash, equity,
open orders, the clock, daily history, historical indicators) goes into a running CRC-32, and
every order's quantity is derived from it: a single value seen differently (one bar, one
indicator digit, one quality figure, one call made in another order) changes the next order's
quantity, so `orders.csv` changes. Its decisions use the indicators too, so they also change
which orders exist.
"""

from __future__ import annotations

import zlib

from pydantic import BaseModel, ConfigDict

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Fill, Order
from mismarterad.strategies import Strategy


class GoldenProbe(Strategy):
    intervals = ("1m", "5m")
    read_intervals = ("1d",)
    indicators = ("rsi(14)", "sma(5)", "atr(14)", "vwap", "ema(20)@5m", "bollinger_upper(20,2)@5m",
                  "bollinger_lower(20,2)@5m", "rsi(7)@5m")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        base_quantity: int = 10
        short: bool = False
        historical: str | None = None

    def on_start(self) -> None:
        self._crc = 0
        self._entered_at: dict[str, int] = {}
        self._see("start", self.cash, self.equity)

    def _see(self, *values: object) -> None:
        self._crc = zlib.crc32(repr(values).encode(), self._crc)

    def _quantity(self) -> int:
        return self.params.base_quantity + self._crc % 9

    def on_session_start(self) -> None:
        session = self.session()
        self._see("session", session.day, session.regular_open, session.regular_close)
        for symbol in self.symbols:
            self._see(symbol, self.bars(symbol, "1d", 3), self.bars(symbol, "5m", 4), self.bars(symbol, "1m", 2),
                      self.indicator(symbol, "rsi(14)"), self.indicator(symbol, "ema(20)@5m"))
            if self.params.historical is not None:
                self._see(self.historical_indicator(self.params.historical, symbol))

    def on_fill(self, fill: Fill) -> None:
        self._see("fill", fill.client_order_id, fill.symbol, fill.side.value, fill.quantity, fill.price,
                  fill.commission, fill.ts_utc, self.position(fill.symbol), self.cash, self.equity)

    def on_order_refused(self, order: Order, reason: str) -> None:
        self._see("refused", order.client_order_id, reason, order.detail)

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        self._see(symbol, interval, bar, self.now(), self.position(symbol), self.quality(symbol))
        if interval == "5m":
            self._on_five(symbol, bar)
            return
        rsi = self.indicator(symbol, "rsi(14)")
        sma = self.indicator(symbol, "sma(5)")
        atr = self.indicator(symbol, "atr(14)")
        vwap = self.indicator(symbol, "vwap")
        self._see(rsi, sma, atr, vwap, self.bars(symbol, "1m", 3))
        if rsi is None or sma is None or atr is None or self.is_last_bar(bar):
            return
        held = self.position(symbol)
        working = self.open_orders(symbol)
        self._see([(o.client_order_id, o.status.value) for o in working])
        if working:
            minutes = self._entered_at.get(symbol)
            if minutes is not None and bar.start_utc.minute % 7 == 0:
                for order in working:
                    self.cancel(order.client_order_id)
            return
        if held == 0 and rsi < 35 and vwap is not None and bar.close < vwap:
            self.buy(symbol, self._quantity())
            self._entered_at[symbol] = bar.start_utc.minute
        elif held == 0 and rsi > 70 and self.params.short:
            self.sell(symbol, self._quantity())
        elif held > 0 and (rsi > 65 or bar.close < sma - 2 * atr):
            self.sell(symbol, held)
        elif held < 0 and rsi < 40:
            self.buy(symbol, -held)

    def _on_five(self, symbol: str, bar: Bar) -> None:
        ema = self.indicator(symbol, "ema(20)@5m")
        upper = self.indicator(symbol, "bollinger_upper(20,2)@5m")
        lower = self.indicator(symbol, "bollinger_lower(20,2)@5m")
        rsi5 = self.indicator(symbol, "rsi(7)@5m")
        self._see(ema, upper, lower, rsi5, self.bars(symbol, "5m", 3), self.cash, self.equity)
        if ema is None or lower is None or upper is None or rsi5 is None or self.is_last_bar(bar):
            return
        held = self.position(symbol)
        if held == 0 and not self.open_orders(symbol) and bar.close < ema:
            # a limit below the market: fills only if the price comes down to it
            self.buy(symbol, self._quantity(), limit=round(max(lower, bar.low), 2))
        elif held > 0 and rsi5 > 60:
            # a protective stop under the lower band
            self.sell(symbol, held, stop=round(min(lower, bar.low) - 0.01, 2))
