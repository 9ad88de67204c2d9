"""SchwabBarFeed: Schwab's CHART_EQUITY minute bars as a BarFeed, kept whole and in order.

Each subscription runs its own ChartStream (streams.py: schwab-py's StreamClient in its own
thread, reconnecting with backoff and resubscribing, every reconnect counted) and a delivery
thread (integrations/bar_delivery.py: time order, gap fills from the price history, stalls),
the same as Alpaca's feed. It delivers from the minute in progress when it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.bar_delivery import BarDelivery, FeedCounters, FeedStats, GapPolicy
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.schwab.source import SchwabSource
from mismarterad.integrations.schwab.streams import ChartStream
from mismarterad.integrations.schwab.tokens import AUTH_HINT
from mismarterad.integrations.stream_watch import StreamWatch

__all__ = ["SchwabBarFeed"]


class SchwabBarFeed:
    def __init__(self, session: SchwabSession, clock: Clock, source: SchwabSource, *, gap_max_retries: int = 3,
                 gap_retry_interval_secs: float = 5.0, stall_intervals: int = 3,
                 in_session: Callable[[datetime], bool] | None = None, max_hold_real_secs: float = 1.5) -> None:
        """`in_session(t)`: whether `t` is in the regular session (gaps and stalls are watched
        only then; None: at every hour). `max_hold_real_secs`: see bar_delivery.py."""
        self._session, self._clock, self._source = session, clock, source
        self._policy = GapPolicy(gap_max_retries, gap_retry_interval_secs, stall_intervals, max_hold_real_secs,
                                 in_session or (lambda _t: True))
        self._counters = FeedCounters()

    @property
    def name(self) -> str:
        return "schwab-chart-equity"

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> _Subscription:
        """Start a stream for `symbols`; returns once it is logged in (at most a few seconds:
        after that it keeps trying in the background, and a refusal ends it with `error`)."""
        return _Subscription(self, tuple(dict.fromkeys(symbols)), on_bar)

    def stats(self) -> FeedStats:
        return self._counters.stats()


class _Subscription:
    def __init__(self, feed: SchwabBarFeed, symbols: tuple[str, ...], on_bar: Callable[[Bar], None]) -> None:
        watch = StreamWatch("data")
        self._delivery = BarDelivery(symbols, on_bar, clock=feed._clock, source=feed._source, policy=feed._policy,
                                     counters=feed._counters, watch=watch, venue="Schwab", auth_hint=AUTH_HINT)
        stream = ChartStream(feed._session, symbols, self._delivery.put, watch)
        stream.start()
        self._delivery.start(stream)

    @property
    def active(self) -> bool:
        return self._delivery.active

    @property
    def error(self) -> str | None:
        return self._delivery.error

    def stop(self) -> None:
        """End the subscription (its delivery, then its stream)."""
        self._delivery.stop()
