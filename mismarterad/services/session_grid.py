"""A session's minute grid: bars placed on it as columns, and its quality and gaps from the present mask.

`session_block` places each symbol's stored 1-minute bars of one session's regular hours into
one `MinuteBlock` (rows: the distinct starts any symbol has, in time order; `searchsorted`, no
object per bar). The grid of expected starts is built once per session (`SessionGrid`); quality,
gaps and derived-bar counts come from the starts present on it, with exactly the figures of
`score_quality`, `detect_gaps` and `derived_bar_count` (services/quality_scoring.py,
gap_detection.py, bar_aggregation.py), which stay the reference the tests hold these to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from mismarterad.core.calendar import TradingSession
from mismarterad.services.bar_columns import US_PER_MINUTE, BarSeries, MinuteBlock, to_datetime, to_us
from mismarterad.services.gap_detection import Gap
from mismarterad.services.quality_scoring import Quality, quality_from_counts

__all__ = ["SessionGrid", "session_block"]


@dataclass(frozen=True, slots=True, eq=False)
class SessionGrid:
    """The regular session's expected 1-minute starts (early closes respected)."""

    open_us: int
    close_us: int
    minutes: int  # expected 1m starts: ceil((close - open) / 1 minute)

    @classmethod
    def of(cls, session: TradingSession) -> SessionGrid:
        if session.regular_open is None or session.regular_close is None:
            raise ValueError(f"{session.day} is not a trading day")
        open_us, close_us = to_us(session.regular_open), to_us(session.regular_close)
        return cls(open_us, close_us, -(-(close_us - open_us) // US_PER_MINUTE))

    def minute_of(self, start_us: np.ndarray) -> np.ndarray:
        """Each start's minute since the open (floor), as `(start - open) // 1 minute`."""
        return (start_us - self.open_us) // US_PER_MINUTE

    def on_grid(self, start_us: np.ndarray) -> np.ndarray:
        """Which starts are expected starts (aligned on the minute, inside the session)."""
        offset = start_us - self.open_us
        return (offset >= 0) & (start_us < self.open_us + self.minutes * US_PER_MINUTE) & (offset % US_PER_MINUTE == 0)

    def expected_until(self, until_us: int | None) -> int:
        """Expected starts before `until_us` (all of them for None)."""
        if until_us is None:
            return self.minutes
        return int(min(self.minutes, max(0, -(-(until_us - self.open_us) // US_PER_MINUTE))))

    def seen(self, start_us: np.ndarray, until_us: int | None = None) -> np.ndarray:
        """Boolean per expected start: a bar starts there (and before `until_us`)."""
        hit = np.zeros(self.minutes, dtype=bool)
        on = start_us[self.on_grid(start_us)]
        hit[(on - self.open_us) // US_PER_MINUTE] = True
        return hit[: self.expected_until(until_us)]

    def quality(self, start_us: np.ndarray, until_us: int | None = None) -> Quality:
        """`score_quality` of bars starting at `start_us` against this grid."""
        seen = self.seen(start_us, until_us)
        return quality_from_counts(len(seen), int(seen.sum()))

    def gaps(self, start_us: np.ndarray, until_us: int | None = None) -> list[Gap]:
        """`detect_gaps` of bars starting at `start_us`: runs of expected starts without a bar."""
        missing = ~self.seen(start_us, until_us)
        if not missing.any():
            return []
        edges = np.diff(np.concatenate(([False], missing, [False])).astype(np.int8))
        firsts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        minute = timedelta(minutes=1)
        close = to_datetime(self.close_us)
        out = []
        for first, end in zip(firsts.tolist(), ends.tolist(), strict=True):
            start = to_datetime(self.open_us + first * US_PER_MINUTE)
            last = to_datetime(self.open_us + (end - 1) * US_PER_MINUTE)
            out.append(Gap(start, min(last + minute, close), end - first))
        return out

    def window_count(self, start_us: np.ndarray, minutes: int) -> int:
        """`derived_bar_count`: windows of `minutes` (anchored at the open) holding a bar of the session."""
        inside = start_us[(start_us >= self.open_us) & (start_us < self.close_us)]
        if minutes == 0:  # the daily interval: one bar if the session has any
            return int(len(inside) > 0)
        return len(np.unique(self.minute_of(inside) // minutes))


def session_block(symbols: Sequence[str], series: Mapping[str, BarSeries], open_utc: datetime,
                  close_utc: datetime) -> MinuteBlock:
    """The session's 1m bars of `symbols` (sorted) as one block: each symbol's bars starting in
    [open, close), on the rows of the distinct starts that any of them has."""
    open_us, close_us = to_us(open_utc), to_us(close_utc)
    inside: list[BarSeries] = []
    for symbol in symbols:
        s = series.get(symbol) or BarSeries(symbol, "1m")
        lo, hi = np.searchsorted(s.start_us, [open_us, close_us], side="left")
        inside.append(s.take(slice(int(lo), int(hi))))
    starts = np.unique(np.concatenate([s.start_us for s in inside])) if inside else np.empty(0, np.int64)
    shape = (len(starts), len(symbols))
    columns = {name: np.full(shape, np.nan) for name in ("open", "high", "low", "close")}
    volume = np.zeros(shape, dtype=np.int64)
    present = np.zeros(shape, dtype=bool)
    for j, s in enumerate(inside):
        rows = np.searchsorted(starts, s.start_us)
        for name in ("open", "high", "low", "close"):
            columns[name][rows, j] = getattr(s, name)
        volume[rows, j] = s.volume
        present[rows, j] = True
    return MinuteBlock(tuple(symbols), starts.astype(np.int64), columns["open"], columns["high"], columns["low"],
                       columns["close"], volume, present)
