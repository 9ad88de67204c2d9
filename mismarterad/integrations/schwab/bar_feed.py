"""SchwabBarFeed: Schwab's CHART_EQUITY minute bars as a BarFeed, kept whole and in order.

Each subscription runs its own ChartStream (streams.py: schwab-py's StreamClient in its own
thread, reconnecting with backoff and resubscribing, every reconnect counted) and a delivery
thread (integrations/bar_delivery.py: time order, gap fills from the price history, stalls),
the same as Alpaca's feed. It delivers from the minute in progress when it is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.bar_delivery import LiveBarFeed
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.schwab.source import SchwabSource
from mismarterad.integrations.schwab.streams import ChartStream
from mismarterad.integrations.schwab.tokens import AUTH_HINT
from mismarterad.integrations.stream_watch import StreamWatch

__all__ = ["SchwabBarFeed"]


class SchwabBarFeed(LiveBarFeed):
    """The gap and stall options are LiveBarFeed's (bar_delivery.py)."""

    venue, auth_hint = "Schwab", AUTH_HINT

    def __init__(self, session: SchwabSession, clock: Clock, source: SchwabSource, **gap_options: Any) -> None:
        super().__init__(clock, source, **gap_options)
        self._session = session

    @property
    def name(self) -> str:
        return "schwab-chart-equity"

    def _open_stream(self, symbols: tuple[str, ...], watch: StreamWatch, put: Callable[[Bar], None]) -> ChartStream:
        stream = ChartStream(self._session, symbols, put, watch)
        stream.start()
        return stream
