"""`MemoryBarStore`: the real in-memory `BarStore`, for tests and backtests that need no disk."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime

from mismarterad.core.bar_store import (
    SeriesInfo,
    WriteResult,
    check_range,
    check_series_key,
    unique_bars,
)
from mismarterad.core.market_data import Bar

__all__ = ["MemoryBarStore"]


class _Series:
    """Bars of one series kept sorted by start, with a parallel key list for bisecting."""

    __slots__ = ("bars", "starts")

    def __init__(self) -> None:
        self.starts: list[datetime] = []
        self.bars: list[Bar] = []


class MemoryBarStore:
    """A dict of sorted lists. Bars are stored and returned by reference (they are immutable).

    Thread-safe: one lock guards every call, so readers never see a half-applied write.
    """

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()

    def write_bars(self, symbol: str, interval: str, bars: Sequence[Bar]) -> WriteResult:
        batch = unique_bars(symbol, interval, bars)
        replaced = unchanged = 0
        with self._lock:
            series = self._series.setdefault((symbol, interval), _Series())
            starts, stored = series.starts, series.bars
            new: list[Bar] = []
            for ts, bar in batch.items():
                i = bisect_left(starts, ts)
                if i == len(starts) or starts[i] != ts:
                    new.append(bar)
                elif stored[i] == bar:
                    unchanged += 1  # keep the stored object
                else:
                    stored[i] = bar
                    replaced += 1
            inserted = len(new)
            if new:
                new.sort(key=lambda b: b.start_utc)
                if not starts or new[0].start_utc > starts[-1]:
                    stored.extend(new)  # appending live or in-order imports stays cheap
                    starts.extend(b.start_utc for b in new)
                else:
                    stored[:] = sorted([*stored, *new], key=lambda b: b.start_utc)
                    starts[:] = [b.start_utc for b in stored]
        return WriteResult(inserted, replaced, unchanged)

    def read_bars(
        self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime
    ) -> list[Bar]:
        check_series_key(symbol, interval)
        check_range(start_utc, end_utc)
        with self._lock:
            series = self._series.get((symbol, interval))
            if series is None or start_utc >= end_utc:
                return []
            lo = bisect_left(series.starts, start_utc)
            hi = bisect_left(series.starts, end_utc)
            return series.bars[lo:hi]

    def series(self) -> list[SeriesInfo]:
        with self._lock:
            return [
                SeriesInfo(sym, iv, s.starts[0], s.starts[-1], len(s.starts))
                for (sym, iv), s in sorted(self._series.items())
                if s.starts
            ]

    def delete_series(self, symbol: str, interval: str) -> int:
        check_series_key(symbol, interval)
        with self._lock:
            series = self._series.pop((symbol, interval), None)
        return 0 if series is None else len(series.starts)
