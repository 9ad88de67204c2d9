"""AlpacaBarFeed: Alpaca's minute bars (StockDataStream) as a BarFeed, kept whole and in order.

Threads. Each subscription runs the SDK's stream in its own thread (its asyncio loop; the
handler only converts Alpaca's bar to ours and hands it to the delivery) and a delivery thread
(integrations/bar_delivery.py: time order, gap fills from REST, stall detection). The
subscription delivers from the minute in progress when it is made.

Reconnects. alpaca-py reconnects, re-authenticates and re-subscribes by itself; the watched
stream (streams.py) counts every authorized connection after the first as a reconnect and uses
our backoff. A stall (see bar_delivery.py) closes the socket, so the SDK reconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog
from alpaca.data.models import Bar as AlpacaBar

from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.parse import parse_bar
from mismarterad.integrations.alpaca.rest import AUTH_HINT
from mismarterad.integrations.alpaca.source import AlpacaSource
from mismarterad.integrations.alpaca.streams import StreamRunner, WatchedDataStream
from mismarterad.integrations.bar_delivery import BarDelivery, FeedCounters, FeedStats, GapPolicy
from mismarterad.integrations.stream_watch import StreamWatch

__all__ = ["AlpacaBarFeed"]

log = structlog.get_logger(component="alpaca_bar_feed")


class AlpacaBarFeed:
    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock,
                 source: AlpacaSource, *, feed: str = "iex", gap_max_retries: int = 3,
                 gap_retry_interval_secs: float = 5.0, stall_intervals: int = 3,
                 in_session: Callable[[datetime], bool] | None = None, max_hold_real_secs: float = 1.5) -> None:
        """`in_session(t)` says whether `t` is in the regular session (TimeManager's answer): gaps
        and stalls are watched only then. None watches at every hour. `max_hold_real_secs`: the
        most real time later bars wait for a gap's fetches (see bar_delivery.py)."""
        self._credentials, self._endpoints, self._clock, self._source = credentials, endpoints, clock, source
        self._feed = feed
        self._policy = GapPolicy(gap_max_retries, gap_retry_interval_secs, stall_intervals, max_hold_real_secs,
                                 in_session or (lambda _t: True))
        self._counters = FeedCounters()

    @property
    def name(self) -> str:
        return f"alpaca-{self._feed}"

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> _Subscription:
        """Start a stream for `symbols`; returns once it is authorized (at most a few seconds:
        after that it keeps trying in the background, and a refusal ends it with `error`)."""
        return _Subscription(self, tuple(dict.fromkeys(symbols)), on_bar)

    def stats(self) -> FeedStats:
        return self._counters.stats()


class _Subscription:
    def __init__(self, feed: AlpacaBarFeed, symbols: tuple[str, ...], on_bar: Callable[[Bar], None]) -> None:
        watch = StreamWatch("data")
        self._delivery = BarDelivery(symbols, on_bar, clock=feed._clock, source=feed._source, policy=feed._policy,
                                     counters=feed._counters, watch=watch, venue="Alpaca", auth_hint=AUTH_HINT)
        creds = feed._credentials
        self._stream = WatchedDataStream(creds.key_id, creds.secret, feed._endpoints.data_stream, feed._feed, watch)
        self._stream.subscribe_bars(self._on_stream_bar, *symbols)
        self._runner = StreamRunner(self._stream, "alpaca-bars")
        self._runner.start()
        self._delivery.start(_RunningStream(self._runner, self._stream))

    @property
    def active(self) -> bool:
        return self._delivery.active

    @property
    def error(self) -> str | None:
        return self._delivery.error

    def stop(self) -> None:
        """End the subscription (its delivery, then its stream)."""
        self._delivery.stop()

    async def _on_stream_bar(self, bar: AlpacaBar) -> None:
        # on the stream's loop: convert and queue, nothing else
        try:
            self._delivery.put(parse_bar(bar))
        except (ValueError, TypeError) as exc:
            log.error("stream_bar_unreadable", error=str(exc))


class _RunningStream:
    """The SDK stream in its runner's thread, as the delivery sees it (a VenueStream)."""

    def __init__(self, runner: StreamRunner, stream: WatchedDataStream) -> None:
        self._runner, self._stream = runner, stream

    @property
    def alive(self) -> bool:
        return self._runner.alive

    def drop_connection(self) -> None:
        self._runner.call(self._stream.drop_connection)

    def stop(self) -> None:
        self._runner.stop()
