"""A `MarketDataSource` over another bar store: the local, credential-free source.

Used to import from another machine's data directory or a shared archive; broker data APIs
(Alpaca, Schwab) implement the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mismarterad.core.bar_store import BarStore
from mismarterad.core.market_data import Bar

__all__ = ["StoreSource"]


class StoreSource:
    """Serves historical bars from a `BarStore`."""

    def __init__(self, store: BarStore, name: str = "local") -> None:
        self._store = store
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime) -> Sequence[Bar]:
        return self._store.read_bars(symbol, interval, start_utc, end_utc)
