"""Data quality: the share of the session's expected bars that are present."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import Interval
from mismarterad.core.market_data import Bar
from mismarterad.services.gap_detection import expected_starts

__all__ = ["Quality", "QualityTracker", "quality_from_counts", "score_quality"]


@dataclass(frozen=True, slots=True)
class Quality:
    expected: int
    present: int
    missing: int
    pct: float  # 0..100; 100 when nothing is expected yet


def quality_from_counts(expected: int, present: int) -> Quality:
    present = min(present, expected)
    pct = 100.0 if expected == 0 else 100.0 * present / expected
    return Quality(expected, present, expected - present, pct)


def score_quality(
    bars: Sequence[Bar], session: TradingSession, interval: Interval, until_utc: datetime | None = None
) -> Quality:
    """Quality of `bars` against the grid (starts before `until_utc` for a session in progress)."""
    grid = [t for t in expected_starts(session, interval) if until_utc is None or t < until_utc]
    on_grid = set(grid)
    present = len({b.start_utc for b in bars if b.start_utc in on_grid})
    return quality_from_counts(len(grid), present)


class QualityTracker:
    """Incremental `score_quality`: O(1) per bar, O(log n) per query."""

    __slots__ = ("_grid", "_on_grid", "_seen", "_latest")

    def __init__(self, session: TradingSession, interval: Interval) -> None:
        self._grid = expected_starts(session, interval)
        self._on_grid = set(self._grid)
        self._seen: set[datetime] = set()
        self._latest: datetime | None = None

    def add(self, bar: Bar) -> None:
        if bar.start_utc in self._on_grid:
            self._seen.add(bar.start_utc)
            if self._latest is None or bar.start_utc > self._latest:
                self._latest = bar.start_utc

    def quality(self, until_utc: datetime | None = None) -> Quality:
        if until_utc is None:
            return quality_from_counts(len(self._grid), len(self._seen))
        expected = bisect_left(self._grid, until_utc)
        # in normal use every seen start is before `until_utc`; count exactly otherwise
        if self._latest is None or self._latest < until_utc:
            present = len(self._seen)
        else:
            present = sum(1 for t in self._seen if t < until_utc)
        return quality_from_counts(expected, present)
