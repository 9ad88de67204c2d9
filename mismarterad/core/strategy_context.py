"""What a strategy may see and do; the AnalysisEngine implements it for each strategy.

Reads are "as of the bar being handled": a strategy never sees a later bar, indicator value,
quality figure or account value. A read outside what the strategy requested up front (an
interval, an indicator name, a symbol not in the session) raises StrategyError: it never
answers None or [] for a mistake. Acts go through the ExecutionManager.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mismarterad.core.calendar import TradingSession
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order

__all__ = ["StrategyContext"]


class StrategyContext(Protocol):
    def market_time(self) -> datetime | None:
        """The end of the 1-minute step being handled, in market time; None before the first
        session (in `on_start`)."""
        ...

    def session(self) -> TradingSession: ...

    def last_bar_start(self, interval: str) -> datetime:
        """Start of the session's last bar of `interval` (the bar that ends at the close)."""
        ...

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]: ...

    def indicator(self, symbol: str, name: str, interval: str | None) -> float | None:
        """The requested indicator's value on the newest bar; None only while it warms up."""
        ...

    def historical_indicator(self, name: str, symbol: str) -> float | None: ...

    def quality(self, symbol: str) -> float | None: ...

    def position(self, symbol: str) -> int: ...

    def cash(self) -> float: ...

    def equity(self) -> float: ...

    def open_orders(self, symbol: str | None) -> list[Order]: ...

    def submit(self, symbol: str, quantity: int, side: str, limit: float | None, stop: float | None) -> str: ...

    def cancel(self, client_order_id: str) -> None: ...
