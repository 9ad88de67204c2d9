"""What a strategy may see and do; the AnalysisEngine implements it for each strategy.

Reads are "as of the bar being handled": a strategy never sees a later bar, indicator value
or quality figure. Acts go through the ExecutionManager.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mismarterad.core.calendar import TradingSession
from mismarterad.core.market_data import Bar

__all__ = ["StrategyContext"]


class StrategyContext(Protocol):
    def now(self) -> datetime:
        """The end of the 1-minute step being handled, in market time."""
        ...

    def session(self) -> TradingSession: ...

    def last_bar_start(self, interval: str) -> datetime:
        """Start of the session's last bar of `interval` (the bar that ends at the close)."""
        ...

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]: ...

    def indicator(self, symbol: str, name: str, interval: str) -> float | None: ...

    def historical_indicator(self, name: str, symbol: str) -> float | None: ...

    def quality(self, symbol: str) -> float | None: ...

    def position(self, symbol: str) -> int: ...

    def submit(self, symbol: str, quantity: int, side: str, limit: float | None, stop: float | None) -> str: ...

    def cancel(self, client_order_id: str) -> None: ...
