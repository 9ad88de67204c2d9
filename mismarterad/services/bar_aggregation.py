"""Aggregate 1-minute bars into N-minute and daily bars of the regular session.

Rules: only bars with regular_open <= start < regular_close count; windows are anchored at the
session's open, left-closed and labelled by their start; OHLC = first open, max high, min
low, last close; volume = sum; a window without 1-minute bars yields no bar; the last window
of an early-close day simply ends at the close. The session value bounds everything: no
market hours are written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import Interval
from mismarterad.core.market_data import Bar

__all__ = ["BarAggregator", "aggregate_daily", "aggregate_session", "derived_bar_count"]

_ONE_MINUTE = timedelta(minutes=1)


def _bounds(session: TradingSession) -> tuple[datetime, datetime]:
    if session.regular_open is None or session.regular_close is None:
        raise ValueError(f"{session.day} is not a trading day")
    return session.regular_open, session.regular_close


def _check_input(bars: Sequence[Bar]) -> None:
    for previous, current in zip(bars, bars[1:]):
        if current.start_utc <= previous.start_utc:
            raise ValueError(f"1m bars must be sorted and unique: {current.start_utc} after {previous.start_utc}")
        if current.symbol != previous.symbol:
            raise ValueError(f"one symbol per call: got {previous.symbol} and {current.symbol}")


def _merge(bars: Sequence[Bar], interval: str, start: datetime) -> Bar:
    return Bar(
        symbol=bars[0].symbol,
        interval=interval,
        start_utc=start,
        open=bars[0].open,
        high=max(b.high for b in bars),
        low=min(b.low for b in bars),
        close=bars[-1].close,
        volume=sum(b.volume for b in bars),
    )


def aggregate_session(bars_1m: Sequence[Bar], interval: Interval, session: TradingSession) -> list[Bar]:
    """N-minute bars of one session from its 1-minute bars (input sorted, one symbol)."""
    if interval.daily:
        raise ValueError("use aggregate_daily for 1d")
    _check_input(bars_1m)
    open_, close = _bounds(session)
    length = interval.length
    windows: dict[int, list[Bar]] = {}
    for bar in bars_1m:
        if open_ <= bar.start_utc < close:
            windows.setdefault((bar.start_utc - open_) // length, []).append(bar)
    return [
        _merge(group, interval.name, (open_ + index * length).astimezone(bars_1m[0].start_utc.tzinfo))
        for index, group in sorted(windows.items())
    ]


def aggregate_daily(bars_1m: Sequence[Bar], session: TradingSession) -> Bar | None:
    """The session's daily bar, labelled with the session date at 00:00 market time (stored as UTC)."""
    _check_input(bars_1m)
    open_, close = _bounds(session)
    regular = [b for b in bars_1m if open_ <= b.start_utc < close]
    if not regular:
        return None
    midnight = datetime.combine(session.day, time(0), tzinfo=open_.tzinfo)
    return _merge(regular, "1d", midnight.astimezone(regular[0].start_utc.tzinfo))


def derived_bar_count(bars_1m: Sequence[Bar], session: TradingSession, interval: Interval) -> int:
    """How many bars `aggregate_session` (or `aggregate_daily`) would make, without making them."""
    open_, close = _bounds(session)
    if interval.daily:
        return int(any(open_ <= b.start_utc < close for b in bars_1m))
    length = interval.length
    return len({(b.start_utc - open_) // length for b in bars_1m if open_ <= b.start_utc < close})


class BarAggregator:
    """Incremental form of `aggregate_session` for one symbol, interval and session.

    A window is emitted as soon as it is known to be complete: when its last minute's bar
    arrives (what a live pipeline wants: no waiting for the next window), or when a bar of a
    later window arrives first (the last minute was missing). `flush` emits the window still
    open at the session's end. Feeding all bars then flushing equals the batch result.
    """

    __slots__ = ("_interval", "_open", "_close", "_length", "_index", "_parts", "_window_end", "_last_minute")

    def __init__(self, interval: Interval, session: TradingSession) -> None:
        if interval.daily:
            raise ValueError("BarAggregator builds intraday intervals; daily bars come from aggregate_daily")
        self._interval = interval
        self._open, self._close = _bounds(session)
        self._length = interval.length
        self._index: int | None = None
        self._parts: list[Bar] = []
        self._window_end = self._open  # end of the open window (its bars start before it)
        self._last_minute = self._open  # start of the open window's last minute

    def add(self, bar: Bar) -> list[Bar]:
        """Add one 1-minute bar (in time order); return the bars it completed."""
        start = bar.start_utc
        if self._parts and self._last_minute > start >= self._parts[-1].start_utc:
            self._parts.append(bar)  # the common case: inside the open window, not its last minute
            return []
        if not (self._open <= start < self._close):
            return []
        index = (bar.start_utc - self._open) // self._length
        out = []
        if self._index is not None and index != self._index:
            if index < self._index:
                raise ValueError(f"bars must arrive in time order: {bar.start_utc}")
            out.append(self._emit())
        if self._index != index:
            self._index = index
            self._window_end = min(self._open + (index + 1) * self._length, self._close)
            self._last_minute = self._window_end - _ONE_MINUTE
        self._parts.append(bar)
        if start >= self._last_minute:
            out.append(self._emit())
        return out

    def flush(self) -> list[Bar]:
        """Emit the open window, if any (at the session's end)."""
        return [self._emit()] if self._parts else []

    def current(self) -> Bar | None:
        """The window in progress as a partial bar, or None."""
        if not self._parts or self._index is None:
            return None
        return _merge(self._parts, self._interval.name, self._window_start())

    def _window_start(self) -> datetime:
        assert self._index is not None
        return (self._open + self._index * self._length).astimezone(self._parts[0].start_utc.tzinfo)

    def _emit(self) -> Bar:
        bar = _merge(self._parts, self._interval.name, self._window_start())
        self._parts = []
        self._index = None
        return bar
