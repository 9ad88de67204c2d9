"""The historical market-data source boundary (a broker's data API, a local archive)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from mismarterad.core.market_data import Bar

__all__ = ["MarketDataSource"]


class MarketDataSource(Protocol):
    """Fetches historical bars; adapters translate their venue's errors into ours."""

    @property
    def name(self) -> str: ...

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime) -> Sequence[Bar]:
        """Bars with start in [start_utc, end_utc), sorted by time."""
        ...
