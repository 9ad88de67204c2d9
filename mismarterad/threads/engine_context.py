"""EngineContext: one strategy's read-only window on the session, and its order desk.

Every read is checked against what the strategy requested (`StrategyRequests`): an interval,
indicator name or symbol it did not ask for raises StrategyError naming the read and what it
did request (the engine adds the strategy, hook and bar), never answers None or []. A strategy that catches such an error
still fails: the first one is kept and the engine raises it after the hook (`raise_misuse`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mismarterad.core.calendar import TradingSession
from mismarterad.core.errors import StrategyError
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order, Side
from mismarterad.managers.session_data import SessionData
from mismarterad.strategies.data_requests import IndicatorRequest, StrategyRequests, interval_name

if TYPE_CHECKING:
    from mismarterad.threads.analysis_engine import AnalysisEngine

__all__ = ["EngineContext"]


class EngineContext:
    """Implements `core.strategy_context.StrategyContext` for one strategy of the engine."""

    def __init__(self, engine: AnalysisEngine, strategy_id: str, symbols: tuple[str, ...],
                 session_symbols: frozenset[str]) -> None:
        self._engine = engine
        self._id = strategy_id
        self._symbols = frozenset(symbols)
        self._session_symbols = session_symbols
        self.requests = StrategyRequests((), frozenset(), ())  # set once the strategy exists
        self._intervals: dict[str, str] = {}  # as asked -> canonical, once checked
        self._indicators: dict[tuple[str, str | None], tuple[str, str]] = {}  # as asked -> (name, interval)
        self._misuse: StrategyError | None = None

    # -- misuse ----------------------------------------------------------------------------

    def _refuse(self, message: str) -> StrategyError:
        error = StrategyError(message)  # the engine names the strategy, hook and bar
        if self._misuse is None:
            self._misuse = error
        return error

    def raise_misuse(self) -> None:
        """Raise the first read or act refused since the last check, if any: the hook that got
        the StrategyError may have caught it, but the strategy is broken all the same."""
        misuse, self._misuse = self._misuse, None
        if misuse is not None:
            raise misuse

    def forget_misuse(self) -> None:
        """The hook failed anyway: its refused read is part of that failure, not a new one."""
        self._misuse = None

    # -- reads -----------------------------------------------------------------------------

    def market_time(self) -> datetime | None:
        if self._engine.session is None:
            return None
        return self._engine.step_end.astimezone(self._engine.timezone)

    def session(self) -> TradingSession:
        if self._engine.session is None:
            raise self._refuse("session() has no value before the first session (in on_start)")
        return self._engine.session

    def last_bar_start(self, interval: str) -> datetime:
        self.session()
        return self._engine.last_bar_start(interval)

    def _data(self, what: str) -> SessionData:
        data = self._engine.data
        if data is None:
            raise self._refuse(f"{what} has no value before the first session (in on_start)")
        return data

    def _foreign(self, symbol: str, what: str) -> StrategyError:
        return self._refuse(f"{what}: {symbol!r} is not a symbol of this session "
                            f"(session_data_config.symbols: {', '.join(sorted(self._session_symbols))})")

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]:
        canonical = self._intervals.get(interval) or self._check_interval(interval)
        if symbol not in self._session_symbols:
            raise self._foreign(symbol, f"bars({symbol!r}, {interval!r})")
        return self._data("bars()").bars_as_of(symbol, canonical, self._engine.as_of, n)

    def _check_interval(self, interval: str) -> str:
        try:
            canonical = interval_name(interval)
        except (ValueError, TypeError):
            raise self._refuse(f"bars(): invalid interval {interval!r}: expected Nm, Nh or 1d "
                               "(e.g. 1m, 5m, 1h, 1d)") from None
        if canonical not in self.requests.readable:
            raise self._refuse(
                f"bars() of {canonical} was not requested (it may read {_listing(self.requests.readable)}); "
                f"add {canonical!r} to `intervals` (on_bar gets its bars) or `read_intervals`")
        self._intervals[interval] = canonical
        return canonical

    def indicator(self, symbol: str, name: str, interval: str | None) -> float | None:
        key = self._indicators.get((name, interval)) or self._check_indicator(name, interval)
        if symbol not in self._session_symbols:
            raise self._foreign(symbol, f"indicator({symbol!r}, {name!r})")
        return self._data("indicator()").indicator_as_of(symbol, key[1], key[0], self._engine.as_of)

    def _check_indicator(self, name: str, interval: str | None) -> tuple[str, str]:
        requested = ", ".join(r.label for r in self.requests.indicators) or "none"
        try:
            asked = IndicatorRequest.parse(name, interval)
        except ValueError as exc:
            raise self._refuse(f"indicator(): {exc}; it requested: {requested}") from None
        key = (asked.name, asked.interval)
        if all((r.name, r.interval) != key for r in self.requests.indicators):
            raise self._refuse(f"indicator {asked.label} was not requested (requested: {requested}); "
                               f"add {asked.label!r} to `indicators`")
        self._indicators[(name, interval)] = key
        return key

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        data = self._data("historical_indicator()")
        known = data.historical_indicator_names()
        if name not in known:
            raise self._refuse(f"historical indicator {name!r} is not configured (session_data_config.historical."
                               f"indicators: {', '.join(sorted(known)) or 'none'})")
        if symbol not in self._session_symbols:
            raise self._foreign(symbol, f"historical_indicator({name!r}, {symbol!r})")
        return data.historical_indicator(name, symbol)

    def quality(self, symbol: str) -> float | None:
        if symbol not in self._session_symbols:
            raise self._foreign(symbol, f"quality({symbol!r})")
        data = self._data("quality()")  # in on_start: refused like every read of the session
        expected = self._engine.expected_count_as_of()
        if expected == 0:
            return None
        present = data.session_count_as_of(symbol, "1m", self._engine.as_of)
        return 100.0 * min(present, expected) / expected

    def position(self, symbol: str) -> int:
        """This strategy's own position: another strategy's shares in the symbol are not its."""
        return self._engine.execution.position(self._id, symbol)

    def cash(self) -> float:
        return self._engine.account_as_of().cash

    def equity(self) -> float:
        return self._engine.account_as_of().equity

    def open_orders(self, symbol: str | None) -> list[Order]:
        execution = self._engine.execution
        return [o for o in execution.open_orders() if execution.strategy_of(o.client_order_id) == self._id
                and (symbol is None or o.request.symbol == symbol)]

    # -- acts ------------------------------------------------------------------------------

    def submit(self, symbol: str, quantity: int, side: str, limit: float | None, stop: float | None) -> str:
        if symbol not in self._symbols:
            raise self._refuse(f"ordered {symbol}, which is not among its symbols {sorted(self._symbols)}")
        if self._engine.session is None:
            raise self._refuse("no order can be sent before the first session (in on_start)")
        order = self._engine.execution.submit(self._id, symbol, Side(side), quantity, limit, stop,
                                              self._engine.step_end)
        return order.client_order_id

    def cancel(self, client_order_id: str) -> None:
        owner = self._engine.execution.strategy_of(client_order_id)
        if owner != self._id:
            raise self._refuse(f"tried to cancel {client_order_id}, which is "
                               f"{'not an order of this run' if owner is None else f'an order of {owner}'}")
        self._engine.execution.cancel(client_order_id)


def _listing(names: frozenset[str]) -> str:
    return ", ".join(sorted(names, key=lambda n: (n == "1d", parse_interval(n).minutes))) or "nothing"
