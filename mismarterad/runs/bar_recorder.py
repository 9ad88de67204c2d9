"""Live bars kept: a live day's feed bars are written to the store, so tomorrow's history (and a
restart's catch-up) exists without asking the venue again.

`RecordingFeed` wraps the day's feed; every bar it delivers is also buffered. `flush` writes the
buffer through the same checks as a file import (DataManager.import_from_api), so one bad bar
from a venue can never poison the store. The daemon flushes at most once a minute of real time
while the session runs, and once more when the day-run stops: a crash loses at most a minute of
bars, which the next start fetches back (SessionLoader.fetch_missing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime

import structlog

from mismarterad.core.bar_feed import BarFeed, FeedSubscription
from mismarterad.core.market_data import Bar
from mismarterad.managers.data_manager import DataManager

__all__ = ["FLUSH_EVERY_SECS", "RecordingFeed"]

log = structlog.get_logger(component="bar_recorder")

FLUSH_EVERY_SECS = 60.0


class _Buffered:
    """The buffered bars of one flush, as a `MarketDataSource` for the import's checks."""

    def __init__(self, name: str, bars: Sequence[Bar]) -> None:
        self._name, self._bars = name, bars

    @property
    def name(self) -> str:
        return self._name

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime) -> Sequence[Bar]:
        return [b for b in self._bars if b.symbol == symbol and b.interval == interval
                and start_utc <= b.start_utc < end_utc]


class RecordingFeed:
    """A `BarFeed` that delivers the wrapped feed's bars and keeps them for the store."""

    def __init__(self, feed: BarFeed, data_manager: DataManager, day: date) -> None:
        self._feed, self._dm, self._day = feed, data_manager, day
        self._lock = threading.Lock()
        self._buffer: list[Bar] = []
        self._flushed_monotonic = time.monotonic()

    @property
    def name(self) -> str:
        return self._feed.name

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> FeedSubscription:
        def deliver(bar: Bar) -> None:
            with self._lock:
                self._buffer.append(bar)
            on_bar(bar)
        return self._feed.subscribe(symbols, deliver)

    def flush(self, *, force: bool = False) -> int:
        """Write the buffered bars (when a minute has passed, or `force`); the bars written."""
        if not force and time.monotonic() - self._flushed_monotonic < FLUSH_EVERY_SECS:
            return 0
        with self._lock:
            bars, self._buffer = self._buffer, []
        self._flushed_monotonic = time.monotonic()
        if not bars:
            return 0
        source = _Buffered(f"{self._feed.name} live", bars)
        written = 0
        for report in self._dm.import_from_api(source, sorted({b.symbol for b in bars}), self._day, self._day,
                                               "1m", skip_bad_rows=True):
            written += report.written.inserted + report.written.replaced if report.written else 0
            if report.problems:
                log.warning("live_bars_rejected", symbol=report.symbol, bad=len(report.problems),
                            first=str(report.problems[0]))
        return written
