"""The public strategy API: subclass `Strategy`, override the `on_*` hooks.

A strategy reads only through `self.bars`, `self.indicator`, `self.historical_indicator`,
`self.quality` and `self.position`, all as of the bar being handled, and acts only through
`self.buy`, `self.sell` and `self.cancel`. Orders made while handling a bar fill at the open
of the symbol's next 1-minute bar of the same session at the earliest; open positions are
flattened by the engine at the close of the session's last bar (or by market orders at close −
`flatten_minutes_before_close`), and orders still open then are canceled. Every order passes
the run's risk checks first; a refused one is never sent, and `on_order_refused` says why.

Example::

    from pydantic import BaseModel
    from mismarterad.strategies import Strategy

    class BuyTheDip(Strategy):
        class Params(BaseModel, extra="forbid"):
            drop_pct: float = 1.0
            quantity: int = 10

        def on_bar(self, symbol, interval, bar):
            prev = self.bars(symbol, interval, 2)
            if len(prev) == 2 and bar.close < prev[0].close * (1 - self.params.drop_pct / 100):
                if self.position(symbol) == 0 and not self.is_last_bar(bar):
                    self.buy(symbol, self.params.quantity)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import parse_intraday_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order
from mismarterad.core.strategy_context import StrategyContext

__all__ = ["IndicatorRequest", "Strategy"]


class IndicatorRequest(BaseModel):
    """A real-time indicator the strategy wants the DataProcessor to compute.

    `kind` is one of sma, ema, rsi, atr, vwap, bollinger_upper, bollinger_middle,
    bollinger_lower; its value is read with `self.indicator(symbol, request.name, interval)`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sma", "ema", "rsi", "atr", "vwap", "bollinger_upper", "bollinger_middle", "bollinger_lower"]
    interval: str = "1m"
    period: int = Field(default=14, ge=1)
    num_std: float = Field(default=2.0, gt=0)

    @field_validator("interval")
    @classmethod
    def _intraday(cls, value: str) -> str:
        return parse_intraday_interval(value).name

    @property
    def name(self) -> str:
        if self.kind == "vwap":
            return "vwap"
        if self.kind.startswith("bollinger"):
            return f"{self.kind}({self.period},{self.num_std:g})"
        return f"{self.kind}({self.period})"


class Strategy:
    """Base class of every strategy; one instance per configured entry, for all its symbols."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    #: Intervals whose bars `on_bar` receives; override or set from params in `__init__`.
    intervals: tuple[str, ...] = ("1m",)
    name: ClassVar[str] = ""

    def __init__(self, strategy_id: str, symbols: tuple[str, ...], params: BaseModel, context: StrategyContext) -> None:
        self.strategy_id = strategy_id
        self.symbols = symbols
        self.params: Any = params
        self._ctx = context

    # -- hooks -----------------------------------------------------------------------------

    def indicator_requests(self) -> list[IndicatorRequest]:
        """Real-time indicators to compute before the session starts (default: none)."""
        return []

    def on_session_start(self) -> None:
        """Called before the first bar of each session; history is already loaded."""

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        """Called for each bar of the subscribed intervals, in time order."""

    def on_session_end(self) -> None:
        """Called after the session's last bar, before positions are flattened."""

    def on_order_refused(self, order: Order, reason: str) -> None:
        """Called after the hook that sent `order`, when a pre-trade check refused it (`reason`
        is the check's name, e.g. "max_shares_per_symbol"; `order.detail` says why) or it was
        rejected at once (`reason` is "rejected:<category>", e.g. "rejected:invalid_quantity").
        Orders sent from this hook are checked too, but their refusals are not told again."""

    # -- reads -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._ctx.now()

    def session(self) -> TradingSession:
        return self._ctx.session()

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]:
        """The last `n` bars of the series up to the bar being handled, oldest first."""
        return self._ctx.bars(symbol, interval, n)

    def indicator(self, symbol: str, name: str, interval: str = "1m") -> float | None:
        return self._ctx.indicator(symbol, name, interval)

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        """A value computed before the session (e.g. the 10-day average volume)."""
        return self._ctx.historical_indicator(name, symbol)

    def quality(self, symbol: str) -> float | None:
        """Data quality % of the symbol's session bars so far."""
        return self._ctx.quality(symbol)

    def position(self, symbol: str) -> int:
        """This strategy's own shares now (fills at this bar's open included); negative when short.
        Another strategy trading the same symbol has its own position."""
        return self._ctx.position(symbol)

    def is_last_bar(self, bar: Bar) -> bool:
        """True for the bar that ends at (or after) the session's close."""
        return bar.start_utc >= self._ctx.last_bar_start(bar.interval)

    # -- acts ------------------------------------------------------------------------------

    def buy(self, symbol: str, quantity: int, limit: float | None = None, stop: float | None = None) -> str:
        """Submit a buy order (market unless limit or stop is given); returns its client order id."""
        return self._ctx.submit(symbol, quantity, "buy", limit, stop)

    def sell(self, symbol: str, quantity: int, limit: float | None = None, stop: float | None = None) -> str:
        return self._ctx.submit(symbol, quantity, "sell", limit, stop)

    def cancel(self, client_order_id: str) -> None:
        self._ctx.cancel(client_order_id)
