"""SessionData: the one store of everything a session's decisions may read, as columns.

Historical bars, session bars, derived bars, indicator values and historical indicators, per
symbol and interval, each series a `BarSeries` with, per bar, the instant it became visible
(`visible_us`: a 1-minute bar at its own start, a derived bar at the start of the step that
completed it) and its indicator values (NaN: not defined yet). Earlier pipeline stages may run
ahead; a reader asking "as of t" gets the bars visible at t and nothing later: the count of
them is one `searchsorted`, a read a slice. `Bar` objects are made only for the bars a strategy
reads, once each (kept for later reads). Quality as of a bar is derived from the session bars
held here (`session_count_as_of`), never stored twice.

A writer replaces a series' view in one assignment (bars, visibility and indicators together),
so a reader never sees a half-appended block; readers only ask about instants whose blocks the
writers have finished. Only the engine thread reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from mismarterad.core.market_data import Bar
from mismarterad.services.bar_columns import BarSeries, to_us

__all__ = ["SessionData"]

_NO_VALUES = np.empty(0)


@dataclass(frozen=True, slots=True, eq=False)
class _View:
    """One series as of its latest append."""

    bars: BarSeries
    visible_us: np.ndarray
    indicators: Mapping[str, np.ndarray]
    visible: list[int] = field(default_factory=list)  # `visible_us` as a list, made on the first read

    def visible_list(self) -> list[int]:
        if len(self.visible) != len(self.visible_us):
            self.visible[:] = self.visible_us.tolist()
        return self.visible


class _Readings:
    """The engine's memo of one series: the as-of count of the instant last asked, and the `Bar`
    objects made so far for positions [lo, lo + len(objects))."""

    __slots__ = ("asked", "count", "lo", "objects")

    def __init__(self) -> None:
        self.asked: datetime | None = None
        self.count = 0
        self.lo = 0
        self.objects: list[Bar] = []


class SessionData:
    """Per-session store shared by the four threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[tuple[str, str], _View] = {}
        self._readings: dict[tuple[str, str], _Readings] = {}
        self._historical_indicators: dict[str, dict[str, float | None]] = {}
        self._session_start_us: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def mark_session_start(self, open_utc: datetime) -> None:
        """Bars starting at or after `open_utc` are session bars; earlier ones are history."""
        self._session_start_us = to_us(open_utc)

    # -- writers ---------------------------------------------------------------------------

    def append(self, bars: BarSeries, visible_us: np.ndarray | None = None,
               indicators: Mapping[str, np.ndarray] | None = None) -> None:
        """Append bars of one series (oldest first), visible from their own start unless given,
        with the values of the series' indicators for them (NaN for any not given)."""
        key = (bars.symbol, bars.interval)
        visible = bars.start_us if visible_us is None else np.asarray(visible_us, dtype=np.int64)
        with self._lock:
            old = self._views.get(key)
            if old is None:
                merged, seen = bars, visible
                values = {name: np.asarray(v, dtype=np.float64) for name, v in (indicators or {}).items()}
            else:
                merged = BarSeries.concat(bars.symbol, bars.interval, (old.bars, bars))
                seen = np.concatenate((old.visible_us, visible))
                values = {name: np.concatenate((v, _given(indicators, name, len(bars))))
                          for name, v in old.indicators.items()}
            self._views[key] = _View(merged, seen, values)

    def set_indicator(self, symbol: str, interval: str, name: str, values: np.ndarray) -> None:
        """Set an indicator's values, aligned one-to-one with the series' bars so far."""
        key = (symbol, interval)
        with self._lock:
            view = self._views.get(key) or _View(BarSeries(symbol, interval), np.empty(0, np.int64), {})
            if len(values) != len(view.bars):
                raise ValueError(f"{name}: {len(values)} values for {len(view.bars)} {symbol} {interval} bars")
            self._views[key] = _View(view.bars, view.visible_us,
                                     {**view.indicators, name: np.asarray(values, dtype=np.float64)})

    def set_historical_indicator(self, name: str, symbol: str, value: float | None) -> None:
        with self._lock:
            self._historical_indicators.setdefault(name, {})[symbol] = value

    # -- as-of readers ---------------------------------------------------------------------

    def series(self, symbol: str, interval: str) -> BarSeries:
        """Every bar of the series stored so far (writers' view, e.g. to seed indicators)."""
        view = self._views.get((symbol, interval))
        return view.bars if view is not None else BarSeries(symbol, interval)

    def _count(self, key: tuple[str, str], view: _View, t: datetime) -> tuple[_Readings, int]:
        readings = self._readings.get(key)
        if readings is None:
            readings = self._readings[key] = _Readings()
        if readings.asked is not t:  # the engine asks many times about one step: the same object
            readings.asked = t
            readings.count = bisect_right(view.visible_list(), to_us(t))
        return readings, readings.count

    def bars_as_of(self, symbol: str, interval: str, t: datetime, n: int | None = None) -> list[Bar]:
        """The last `n` (default all) bars of the series visible at `t`, oldest first."""
        key = (symbol, interval)
        view = self._views.get(key)
        if view is None:
            return []
        readings, end = self._count(key, view, t)
        start = 0 if n is None else max(0, end - n)
        if start >= end:
            return []
        lo, objects = readings.lo, readings.objects
        if not objects:
            readings.lo, readings.objects = start, view.bars.bars(start, end)
            return list(readings.objects)
        if start < lo:
            objects[:0] = view.bars.bars(start, lo)
            readings.lo = lo = start
        hi = lo + len(objects)
        if end > hi:
            objects.extend(view.bars.bars(hi, end))
        return objects[start - lo : end - lo]

    def session_count_as_of(self, symbol: str, interval: str, t: datetime) -> int:
        """Session (not history) bars of the series visible at `t`."""
        key = (symbol, interval)
        view = self._views.get(key)
        if view is None or self._session_start_us is None:
            return 0
        history = int(np.searchsorted(view.bars.start_us, self._session_start_us, side="left"))
        return max(0, self._count(key, view, t)[1] - history)

    def indicator_as_of(self, symbol: str, interval: str, name: str, t: datetime) -> float | None:
        """The indicator's value on the newest bar visible at `t` (None if not defined yet)."""
        key = (symbol, interval)
        view = self._views.get(key)
        if view is None:
            return None
        values = view.indicators.get(name)
        if values is None:
            return None
        end = self._count(key, view, t)[1]
        if not end or end > len(values):
            return None
        value = values.item(end - 1)
        return None if value != value else value  # NaN: not defined yet

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        return self._historical_indicators.get(name, {}).get(symbol)

    def historical_indicator_names(self) -> frozenset[str]:
        """The historical indicators computed for this session (the config's, by name)."""
        return frozenset(self._historical_indicators)


def _given(indicators: Mapping[str, np.ndarray] | None, name: str, count: int) -> np.ndarray:
    values = None if indicators is None else indicators.get(name)
    return np.full(count, np.nan) if values is None else np.asarray(values, dtype=np.float64)
