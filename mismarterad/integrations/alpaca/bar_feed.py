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

from collections.abc import Callable
from typing import Any

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
from mismarterad.integrations.bar_delivery import LiveBarFeed
from mismarterad.integrations.stream_watch import StreamWatch

__all__ = ["AlpacaBarFeed"]

log = structlog.get_logger(component="alpaca_bar_feed")


class AlpacaBarFeed(LiveBarFeed):
    """The gap and stall options are LiveBarFeed's (bar_delivery.py)."""

    venue, auth_hint = "Alpaca", AUTH_HINT

    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock,
                 source: AlpacaSource, *, feed: str = "iex", **gap_options: Any) -> None:
        super().__init__(clock, source, **gap_options)
        self._credentials, self._endpoints, self._feed = credentials, endpoints, feed

    @property
    def name(self) -> str:
        return f"alpaca-{self._feed}"

    def _open_stream(self, symbols: tuple[str, ...], watch: StreamWatch, put: Callable[[Bar], None]) -> _RunningStream:
        async def on_stream_bar(bar: AlpacaBar) -> None:
            # on the stream's loop: convert and queue, nothing else
            try:
                put(parse_bar(bar))
            except (ValueError, TypeError) as exc:
                log.error("stream_bar_unreadable", error=str(exc))

        creds = self._credentials
        stream = WatchedDataStream(creds.key_id, creds.secret, self._endpoints.data_stream, self._feed, watch)
        stream.subscribe_bars(on_stream_bar, *symbols)
        runner = StreamRunner(stream, "alpaca-bars")
        runner.start()
        return _RunningStream(runner, stream)


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
