"""Derived intervals (5m, 15m, 1h, ...) from 1-minute columns, by grouping rather than bar by bar.

The rules are those of `services/bar_aggregation.py`, which stays the reference: windows anchored
at the session's open, the last one cut at the close, OHLC = first open, max high, min low, last
close, volume = sum, no bar for a window without 1-minute bars. `DerivedAggregator` is the
incremental form for a session's blocks, with exactly `BarAggregator`'s timing: a window is
complete at the step of its last minute's bar, or at the step of the symbol's first bar of a
later window when that minute is missing; `flush` gives the windows still open at the session's
end. A window open at the end of one block is carried into the next, so a backtest's one block
per session and a live session's one block per minute make the same bars at the same steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mismarterad.core.intervals import Interval
from mismarterad.services.bar_columns import US_PER_MINUTE, BarSeries, MinuteBlock
from mismarterad.services.session_grid import SessionGrid

__all__ = ["DerivedAggregator", "DerivedBars", "aggregate_columns", "aggregate_day"]

_I = np.int64
_F = np.float64


@dataclass(frozen=True, slots=True, eq=False)
class DerivedBars:
    """Derived bars completed by a block, in the order strategies get them: by the step that
    completed them (`row` of the block; the last step for a flush), then symbol column, then
    interval (shortest first), then start. A flush orders them by symbol, then interval name."""

    intervals: tuple[str, ...]
    row: np.ndarray  # int64
    col: np.ndarray  # int64, the symbol's column in the block
    interval: np.ndarray  # int64, index into `intervals`
    start_us: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.row)

    def series(self, col: int, interval: int) -> BarSeries:
        """The bars of one symbol and interval, oldest first."""
        keep = np.flatnonzero((self.col == col) & (self.interval == interval))
        return BarSeries("", self.intervals[interval], self.start_us[keep], self.open[keep], self.high[keep],
                         self.low[keep], self.close[keep], self.volume[keep])


def _empty(intervals: tuple[str, ...]) -> DerivedBars:
    i, f = np.empty(0, _I), np.empty(0, _F)
    return DerivedBars(intervals, i, i, i, i, f, f, f, f, i)


@dataclass(slots=True)
class _Open:
    """The window still open per symbol column (w = -1: none) of one interval."""

    w: np.ndarray
    last_minute: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _groups(col: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-end index of each run of equal (col, w)."""
    n = len(col)
    if n == 0:
        return np.empty(0, _I), np.empty(0, _I)
    change = np.flatnonzero((col[1:] != col[:-1]) | (w[1:] != w[:-1])) + 1
    first = np.concatenate(([0], change)).astype(_I)
    return first, np.concatenate((change, [n])).astype(_I)


def aggregate_columns(series: BarSeries, grid: SessionGrid, interval: Interval) -> BarSeries:
    """`aggregate_session` of one symbol's 1m columns: the session's bars of `interval`."""
    inside = series.take((series.start_us >= grid.open_us) & (series.start_us < grid.close_us))
    w = grid.minute_of(inside.start_us) // interval.minutes
    first, end = _groups(np.zeros(len(w), _I), w)
    if len(first) == 0:
        return BarSeries(series.symbol, interval.name)
    return BarSeries(series.symbol, interval.name, grid.open_us + w[first] * (interval.minutes * US_PER_MINUTE),
                     inside.open[first], np.maximum.reduceat(inside.high, first),
                     np.minimum.reduceat(inside.low, first), inside.close[end - 1],
                     np.add.reduceat(inside.volume, first))


def aggregate_day(series: BarSeries, grid: SessionGrid, midnight_us: int) -> BarSeries:
    """`aggregate_daily` of one symbol's 1m columns: the session's daily bar (none without regular
    bars), labelled `midnight_us` (the session date at 00:00 market time)."""
    inside = series.take((series.start_us >= grid.open_us) & (series.start_us < grid.close_us))
    if len(inside) == 0:
        return BarSeries(series.symbol, "1d")
    return BarSeries(series.symbol, "1d", np.array([midnight_us], _I), inside.open[:1], inside.high.max(keepdims=True),
                     inside.low.min(keepdims=True), inside.close[-1:], inside.volume.sum(keepdims=True))


class DerivedAggregator:
    """The derived bars of one session, for every symbol column and derived interval, block by block."""

    def __init__(self, grid: SessionGrid, symbols: int, intervals: Sequence[Interval]) -> None:
        if any(i.daily for i in intervals):
            raise ValueError("DerivedAggregator builds intraday intervals; daily bars come from aggregate_daily")
        self._grid = grid
        self._intervals = tuple(intervals)
        self._names = tuple(i.name for i in intervals)
        self._open = [_Open(np.full(symbols, -1, _I), np.zeros(symbols, _I), *(np.zeros(symbols, _F) for _ in range(4)),
                            np.zeros(symbols, _I)) for _ in intervals]

    def add(self, block: MinuteBlock) -> DerivedBars:
        """The bars the block's steps completed."""
        if not self._intervals:
            return _empty(self._names)
        if block.steps == 1:
            return self._add_step(block)
        cols, rows = np.nonzero(block.present.T)  # by symbol, then time
        minute = self._grid.minute_of(block.start_us)[rows]
        prices = [block.open[rows, cols], block.high[rows, cols], block.low[rows, cols], block.close[rows, cols]]
        volume = block.volume[rows, cols]
        parts = [self._add_interval(k, cols.astype(_I), rows.astype(_I), minute, prices, volume)
                 for k in range(len(self._intervals))]
        return _ordered(self._names, parts, flush=False)

    def _add_step(self, block: MinuteBlock) -> DerivedBars:
        """`add` of a one-step block (live: one a minute) with Python scalars: the same bars in the
        same order, without numpy's per-call cost on one-row arrays, which would be most of a
        live step's time. Per symbol column, then interval: the carried window first (done when
        this bar starts a later window), then the bar's own window (done at its last minute)."""
        start = int(block.start_us[0])
        minute = (start - self._grid.open_us) // US_PER_MINUTE
        present = block.present[0].tolist()
        o_, h_, l_, c_, v_ = (a[0].tolist() for a in (block.open, block.high, block.low, block.close, block.volume))
        out: list[tuple[int, int, int, int, float, float, float, float, int]] = []
        for col, here in enumerate(present):
            if not here:
                continue
            for k, (interval, state) in enumerate(zip(self._intervals, self._open, strict=True)):
                length = interval.minutes
                w, carried = minute // length, int(state.w[col])
                bar = [o_[col], h_[col], l_[col], c_[col], v_[col]]
                if carried == w:  # the bar joins the carried window
                    bar = [float(state.open[col]), max(float(state.high[col]), bar[1]),
                           min(float(state.low[col]), bar[2]), bar[3], int(state.volume[col]) + bar[4]]
                elif carried >= 0:  # a later window's bar completes the carried one
                    out.append((0, col, k, self._grid.open_us + carried * length * US_PER_MINUTE,
                                float(state.open[col]), float(state.high[col]), float(state.low[col]),
                                float(state.close[col]), int(state.volume[col])))
                if minute == min((w + 1) * length, self._grid.minutes) - 1:
                    out.append((0, col, k, self._grid.open_us + w * length * US_PER_MINUTE, *bar))
                    state.w[col] = -1
                else:
                    state.w[col], state.last_minute[col] = w, minute
                    state.open[col], state.high[col], state.low[col], state.close[col], state.volume[col] = bar
        if not out:
            return _empty(self._names)
        out.sort(key=lambda bar: bar[1:4])  # by column, interval, start, as `_ordered` sorts
        columns = list(zip(*out, strict=True))
        return DerivedBars(self._names, *(np.array(values, dtype=_F if 4 <= i <= 7 else _I)
                                          for i, values in enumerate(columns)))

    def flush(self, last_row: int) -> DerivedBars:
        """The windows still open at the session's end, made visible at the block row `last_row`."""
        parts = []
        for k, (interval, state) in enumerate(zip(self._intervals, self._open, strict=True)):
            cols = np.flatnonzero(state.w >= 0)
            parts.append((np.full(len(cols), last_row, _I), cols.astype(_I), np.full(len(cols), k, _I),
                          self._grid.open_us + state.w[cols] * (interval.minutes * US_PER_MINUTE),
                          state.open[cols], state.high[cols], state.low[cols], state.close[cols], state.volume[cols]))
            state.w[cols] = -1
        return _ordered(self._names, parts, flush=True)

    def _add_interval(self, k: int, cols: np.ndarray, rows: np.ndarray, minute: np.ndarray,
                      prices: list[np.ndarray], volume: np.ndarray) -> tuple[np.ndarray, ...]:
        length = self._intervals[k].minutes
        state = self._open[k]
        carried = np.flatnonzero(state.w >= 0)
        # a window carried from an earlier block goes first in its column, as one element holding its parts so far
        col = np.concatenate((carried, cols))
        row = np.concatenate((np.full(len(carried), -1, _I), rows))
        last = np.concatenate((state.last_minute[carried], minute))
        w = np.concatenate((state.w[carried], minute // length))
        o, h, lo, c = (np.concatenate((getattr(state, name)[carried], p))
                       for name, p in zip(("open", "high", "low", "close"), prices, strict=True))
        v = np.concatenate((state.volume[carried], volume))
        if len(col) == 0:
            return tuple(np.empty(0, _F if i in (4, 5, 6, 7) else _I) for i in range(9))
        order = np.lexsort((np.concatenate((np.full(len(carried), -1, _I), np.arange(len(cols), dtype=_I))), col))
        col, row, last, w, o, h, lo, c, v = (a[order] for a in (col, row, last, w, o, h, lo, c, v))
        first, end = _groups(col, w)
        gcol, gw = col[first], w[first]
        high, low, vol = np.maximum.reduceat(h, first), np.minimum.reduceat(lo, first), np.add.reduceat(v, first)
        complete = last[end - 1] == np.minimum((gw + 1) * length, self._grid.minutes) - 1
        next_same = np.append(gcol[1:] == gcol[:-1], False)
        next_row = np.append(row[first[1:]], -1)
        emit = np.where(complete, row[end - 1], np.where(next_same, next_row, -1))
        done = emit >= 0
        still = ~done
        state.w[:] = -1
        sc = gcol[still]
        state.w[sc], state.last_minute[sc] = gw[still], last[end - 1][still]
        state.open[sc], state.high[sc], state.low[sc] = o[first][still], high[still], low[still]
        state.close[sc], state.volume[sc] = c[end - 1][still], vol[still]
        return (emit[done], gcol[done], np.full(int(done.sum()), k, _I),
                self._grid.open_us + gw[done] * (length * US_PER_MINUTE), o[first][done], high[done], low[done],
                c[end - 1][done], vol[done])


def _ordered(names: tuple[str, ...], parts: list[tuple[np.ndarray, ...]], *, flush: bool) -> DerivedBars:
    if not parts:
        return _empty(names)
    row, col, interval, start, o, h, lo, c, v = (np.concatenate([p[i] for p in parts]) for i in range(9))
    if flush:  # by symbol, then interval *name* (as text: "15m" before "5m"), one open window each
        rank = np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"), kind="stable")
        order = np.lexsort((start, rank[interval] if len(interval) else interval, col))
    else:
        order = np.lexsort((start, interval, col, row))
    return DerivedBars(names, *(a[order] for a in (row, col, interval, start, o, h, lo, c, v)))
