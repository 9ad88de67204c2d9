"""The public strategy API: subclass `Strategy`, request data up front, override the `on_*` hooks.

Requests: `intervals` (the bars `on_bar` receives), `read_intervals` (bars read with
`self.bars()` only, e.g. "1d" history) and `indicators` (names such as "rsi(14)" or
"ema(20)@5m"), as class attributes or set in `__init__` from params. An unknown name is a
configuration error before the run starts (exit 78); a read of anything not requested raises
StrategyError, which stops a backtest (exit 1, naming the strategy, hook and bar) and disables
the strategy in the daemon. `docs/strategies.md` is the guide.

Hooks, in order: `on_start` (once per run, before the first session), then per session
`on_session_start`, per 1-minute step `on_fill` for each of the strategy's fills booked at the
step (at the bar's open, so before `on_bar`) then `on_bar` for each subscribed bar, then
`on_session_end`, and last `on_fill` for the fills of the close's flatten. `on_order_refused`
follows the hook that sent the refused order.

Reads, all as of the bar being handled: `bars`, `indicator`, `historical_indicator`,
`quality`, `position`, `open_orders`, `cash`, `equity`, `now`, `session`. Acts: `buy`, `sell`,
`cancel`. Orders made while handling a bar fill at the open of the symbol's next 1-minute bar
of the same session at the earliest; open positions are flattened by the engine at the close of
the session's last bar (or by market orders at close − `flatten_minutes_before_close`), and
orders still open then are canceled. Every order passes the run's risk checks first; a refused
one is never sent, and `on_order_refused` says why. `self.log` writes structured log events.

Example::

    from pydantic import BaseModel
    from mismarterad.strategies import Strategy

    class BuyTheDip(Strategy):
        indicators = ("rsi(14)",)

        class Params(BaseModel, extra="forbid"):
            oversold: float = 30.0
            quantity: int = 10

        def on_bar(self, symbol, interval, bar):
            rsi = self.indicator(symbol, "rsi(14)")  # None while it warms up
            if rsi is not None and rsi < self.params.oversold and self.position(symbol) == 0:
                if not self.is_last_bar(bar):
                    self.buy(symbol, self.params.quantity)

        def on_fill(self, fill):
            self.log.info("filled", symbol=fill.symbol, side=fill.side.value, price=fill.price)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from mismarterad.core.calendar import TradingSession
from mismarterad.core.errors import StrategyError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Fill, Order
from mismarterad.core.strategy_context import StrategyContext
from mismarterad.strategies.data_requests import IndicatorRequest
from mismarterad.strategies.strategy_log import StrategyLog

__all__ = ["IndicatorRequest", "Strategy"]


class Strategy:
    """Base class of every strategy; one instance per configured entry, for all its symbols."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    #: Intervals whose bars `on_bar` receives (intraday); override or set from params in `__init__`.
    intervals: tuple[str, ...] = ("1m",)
    #: Further intervals `bars()` may read without `on_bar` receiving them ("1d": the daily
    #: history the session config loads).
    read_intervals: tuple[str, ...] = ()
    #: Real-time indicators by name: "sma(20)", "rsi(14)@5m", "bollinger_upper(20,2)", "vwap".
    indicators: tuple[str | IndicatorRequest, ...] = ()
    name: ClassVar[str] = ""

    def __init__(self, strategy_id: str, symbols: tuple[str, ...], params: BaseModel, context: StrategyContext) -> None:
        self.strategy_id = strategy_id
        self.symbols = symbols
        self.params: Any = params
        self._ctx = context
        self.log = StrategyLog.of(strategy_id, context.market_time)

    # -- requests --------------------------------------------------------------------------

    def indicator_requests(self) -> list[str | IndicatorRequest]:
        """Real-time indicators to compute before the session starts (default: `indicators`)."""
        return list(self.indicators)

    # -- hooks -----------------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once per run before the first session (a backtest: once; the daemon: at each
        day-run's start). Params, symbols, `cash`, `equity` and `log` are available; bars,
        indicators and the clock are not yet (they raise StrategyError)."""

    def on_session_start(self) -> None:
        """Called before the first bar of each session; history is already loaded."""

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        """Called for each bar of the subscribed intervals, in time order."""

    def on_fill(self, fill: Fill) -> None:
        """Called for each fill of this strategy's own orders, in fill order, once it is booked
        (`position` and `cash` include it): at the step whose bar filled it, before that step's
        `on_bar` calls; the close's flatten fills come after `on_session_end`."""

    def on_session_end(self) -> None:
        """Called after the session's last bar, before positions are flattened."""

    def on_order_refused(self, order: Order, reason: str) -> None:
        """Called after the hook that sent `order`, when a pre-trade check refused it (`reason`
        is the check's name, e.g. "max_shares_per_symbol"; `order.detail` says why) or it was
        rejected at once (`reason` is "rejected:<category>", e.g. "rejected:invalid_quantity").
        Orders sent from this hook are checked too, but their refusals are not told again."""

    # -- reads -----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The end of the 1-minute step being handled, in market time."""
        at = self._ctx.market_time()
        if at is None:
            raise StrategyError("now() has no value before the first session (in on_start)")
        return at

    def session(self) -> TradingSession:
        return self._ctx.session()

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]:
        """The last `n` bars of the series up to the bar being handled, oldest first (fewer
        when fewer exist). `interval` must be requested (`intervals`, `read_intervals` or an
        indicator's); `symbol` one of the session's."""
        return self._ctx.bars(symbol, interval, n)

    def indicator(self, symbol: str, name: str, interval: str | None = None) -> float | None:
        """The value of a requested indicator on the newest bar of its interval: `name` as
        requested ("rsi(14)", "ema(20)@5m"; or the interval as the third argument, default 1m).
        None only while it warms up (fewer bars than its period so far, history included);
        a name or interval not requested raises StrategyError."""
        return self._ctx.indicator(symbol, name, interval)

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        """A value computed before the session (e.g. the 10-day average volume), named as in
        the session config's `historical.indicators`; None when the history is too short."""
        return self._ctx.historical_indicator(name, symbol)

    def quality(self, symbol: str) -> float | None:
        """Data quality % of the symbol's session bars so far."""
        return self._ctx.quality(symbol)

    def position(self, symbol: str) -> int:
        """This strategy's own shares now (fills at this bar's open included); negative when short.
        Another strategy trading the same symbol has its own position."""
        return self._ctx.position(symbol)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """This strategy's orders still working at the broker (of `symbol`, or all)."""
        return self._ctx.open_orders(symbol)

    @property
    def cash(self) -> float:
        """The account's cash as of the bar being handled (shared by every strategy of the run).
        Not on a real account's catch-up after a restart: there it is the broker's cash now."""
        return self._ctx.cash()

    @property
    def equity(self) -> float:
        """The account's equity (cash plus positions at the step's closes) as of the bar being
        handled; on a real account's catch-up after a restart, the broker's cash and positions now."""
        return self._ctx.equity()

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
