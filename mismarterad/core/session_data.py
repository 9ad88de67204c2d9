"""SessionData: the unified store of everything a session's decisions may read.

Historical bars, session bars, derived bars, indicator values and historical indicators, per
symbol. Bar objects exist once and are shared by reference. Quality as of a bar is derived from
the session bars held here (`session_count_as_of`), never stored twice. Every item carries the instant it became
visible (`visible_from`: the start of the 1-minute step at which it was complete), so earlier
pipeline stages may run ahead while a reader asking "as of t" sees exactly the data up to t
and nothing later. Writers append whole batches under a lock; as-of readers only look at items
at or before a step the writers have finished, so they never see a half-appended batch.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime

from mismarterad.core.market_data import Bar

__all__ = ["SessionData"]


class _Series:
    """Append-only bars of one symbol and interval, with their visibility instants."""

    __slots__ = ("bars", "visible_from", "indicators")

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.visible_from: list[datetime] = []
        self.indicators: dict[str, list[float | None]] = {}

    def count_as_of(self, t: datetime) -> int:
        return bisect_right(self.visible_from, t)


class SessionData:
    """Per-session store shared by the four threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}
        self._historical_indicators: dict[str, dict[str, float | None]] = {}
        self._session_start_utc: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def mark_session_start(self, open_utc: datetime) -> None:
        """Bars starting at or after `open_utc` are session bars; earlier ones are history."""
        self._session_start_utc = open_utc

    # -- writers ---------------------------------------------------------------------------

    def append_bars(self, bars: Iterable[Bar], visible_from: datetime | None = None) -> None:
        """Append bars (each series in time order); visible from their own start unless given."""
        with self._lock:
            for bar in bars:
                series = self._series.get((bar.symbol, bar.interval)) or self._series_for(bar.symbol, bar.interval)
                series.bars.append(bar)
                series.visible_from.append(bar.start_utc if visible_from is None else visible_from)
                if series.indicators:
                    for values in series.indicators.values():
                        values.append(None)

    def set_indicator(self, symbol: str, interval: str, name: str, values: Sequence[float | None]) -> None:
        """Set an indicator's values, aligned one-to-one with the series' bars so far."""
        with self._lock:
            series = self._series_for(symbol, interval)
            if len(values) != len(series.bars):
                raise ValueError(f"{name}: {len(values)} values for {len(series.bars)} {symbol} {interval} bars")
            series.indicators[name] = list(values)

    def update_indicator_last(self, symbol: str, interval: str, name: str, value: float | None) -> None:
        """Set the indicator's value for the newest bar of the series."""
        series = self._series[(symbol, interval)]
        values = series.indicators.setdefault(name, [None] * len(series.bars))
        values[-1] = value

    def set_historical_indicator(self, name: str, symbol: str, value: float | None) -> None:
        with self._lock:
            self._historical_indicators.setdefault(name, {})[symbol] = value

    # -- as-of readers ---------------------------------------------------------------------

    def bars_as_of(self, symbol: str, interval: str, t: datetime, n: int | None = None) -> list[Bar]:
        """The last `n` (default all) bars of the series visible at `t`, oldest first."""
        series = self._series.get((symbol, interval))
        if series is None:
            return []
        end = series.count_as_of(t)
        start = 0 if n is None else max(0, end - n)
        return series.bars[start:end]

    def session_count_as_of(self, symbol: str, interval: str, t: datetime) -> int:
        """Session (not history) bars of the series visible at `t`."""
        series = self._series.get((symbol, interval))
        if series is None or self._session_start_utc is None:
            return 0
        history = bisect_left(series.bars, self._session_start_utc, key=_bar_start)
        return max(0, series.count_as_of(t) - history)

    def all_bars(self, symbol: str, interval: str) -> list[Bar]:
        """Every bar of the series stored so far (writers' view, e.g. to seed indicators)."""
        series = self._series.get((symbol, interval))
        return list(series.bars) if series is not None else []

    def indicator_as_of(self, symbol: str, interval: str, name: str, t: datetime) -> float | None:
        """The indicator's value on the newest bar visible at `t` (None if not defined yet)."""
        series = self._series.get((symbol, interval))
        if series is None or name not in series.indicators:
            return None
        end = series.count_as_of(t)
        return series.indicators[name][end - 1] if end else None

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        return self._historical_indicators.get(name, {}).get(symbol)

    def historical_indicator_names(self) -> frozenset[str]:
        """The historical indicators computed for this session (the config's, by name)."""
        return frozenset(self._historical_indicators)

    def _series_for(self, symbol: str, interval: str) -> _Series:
        key = (symbol, interval)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        return series


def _bar_start(bar: Bar) -> datetime:
    return bar.start_utc
