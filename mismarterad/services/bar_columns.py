"""Bars as columns: what the session threads pass between them and keep, instead of one object per bar.

`BarSeries` is the bars of one symbol and interval, oldest first: start instants as int64 UTC
microseconds and one float64 array per price, int64 volume. `MinuteBlock` is the 1-minute bars
of consecutive steps of one session for all its symbols: row i is a step (a minute in which at
least one symbol has a bar), column j the j-th symbol (sorted); `present` says which cells hold
a bar (absent cells hold NaN prices and 0 volume). A backtest sends a whole session as one block,
a live session one minute (or whatever has arrived); everything downstream is the same code.

A `Bar` is made from a cell only where one is handed to user code or written to the edge
(`bar_at`, `BarSeries.bar`); its prices are plain Python floats, its start an aware UTC datetime,
exactly as the store's `read_bars` makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat

import numpy as np

from mismarterad.core.market_data import Bar

__all__ = ["EPOCH_UTC", "BarSeries", "MinuteBlock", "US_PER_MINUTE", "to_datetime", "to_us"]

EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_MINUTE = 60_000_000
_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)


def to_us(t: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    delta = t - EPOCH_UTC
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_datetime(us: int) -> datetime:
    """The aware UTC datetime of integer microseconds since the epoch (exact)."""
    return EPOCH_UTC + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """Bars of one symbol and interval, oldest first, as columns."""

    symbol: str
    interval: str
    start_us: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    open: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    high: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    low: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    close: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    volume: np.ndarray = field(default_factory=lambda: _EMPTY_I)

    def __len__(self) -> int:
        return len(self.start_us)

    @classmethod
    def from_bars(cls, symbol: str, interval: str, bars: Sequence[Bar]) -> BarSeries:
        """The columns of `bars` (one symbol and interval, oldest first)."""
        if not bars:
            return cls(symbol, interval)
        return cls(symbol, interval, np.array([to_us(b.start_utc) for b in bars], dtype=np.int64),
                   np.array([b.open for b in bars], dtype=np.float64),
                   np.array([b.high for b in bars], dtype=np.float64),
                   np.array([b.low for b in bars], dtype=np.float64),
                   np.array([b.close for b in bars], dtype=np.float64),
                   np.array([b.volume for b in bars], dtype=np.int64))

    @classmethod
    def concat(cls, symbol: str, interval: str, parts: Sequence[BarSeries]) -> BarSeries:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(symbol, interval)
        if len(parts) == 1:
            p = parts[0]
            return cls(symbol, interval, p.start_us, p.open, p.high, p.low, p.close, p.volume)
        return cls(symbol, interval, *(np.concatenate([getattr(p, name) for p in parts])
                                       for name in ("start_us", "open", "high", "low", "close", "volume")))

    def take(self, index: np.ndarray | slice) -> BarSeries:
        """The bars at `index` (a slice, a boolean mask or positions), in that order."""
        return BarSeries(self.symbol, self.interval, self.start_us[index], self.open[index], self.high[index],
                         self.low[index], self.close[index], self.volume[index])

    def bar(self, i: int) -> Bar:
        return Bar(self.symbol, self.interval, to_datetime(int(self.start_us[i])), self.open.item(i),
                   self.high.item(i), self.low.item(i), self.close.item(i), self.volume.item(i))

    def bars(self, start: int = 0, stop: int | None = None) -> list[Bar]:
        """`Bar` objects of positions [start, stop), made in one pass (an on_bar strategy is
        handed every bar: about a million a year of 10 symbols). Whole-second starts, which
        every bar has, are made by `datetime.fromtimestamp` of their integer seconds (exact, and
        about twice as fast as `to_datetime`)."""
        sl = slice(start, stop)
        starts_us = self.start_us[sl]
        if len(starts_us) and not np.any(starts_us % 1_000_000):
            starts = list(map(datetime.fromtimestamp, (starts_us // 1_000_000).tolist(), repeat(UTC)))
        else:
            starts = [to_datetime(us) for us in starts_us.tolist()]
        return list(map(Bar, repeat(self.symbol), repeat(self.interval), starts, self.open[sl].tolist(),
                        self.high[sl].tolist(), self.low[sl].tolist(), self.close[sl].tolist(),
                        self.volume[sl].tolist()))


@dataclass(frozen=True, slots=True, eq=False)
class MinuteBlock:
    """The 1-minute bars of consecutive steps of one session, every symbol, as (steps x symbols) columns."""

    symbols: tuple[str, ...]
    start_us: np.ndarray  # (steps,) int64: each step's start, increasing
    open: np.ndarray  # (steps, symbols) float64, NaN where absent
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # (steps, symbols) int64, 0 where absent
    present: np.ndarray  # (steps, symbols) bool
    catch_up: np.ndarray | None = None  # (steps,) bool, live: taken from the store, its minute already past
    released_monotonic: float = 0.0  # live: when the coordinator let it go (bar-to-decision latency)

    @property
    def steps(self) -> int:
        return len(self.start_us)

    @classmethod
    def from_steps(cls, symbols: Sequence[str], steps: Sequence[tuple[datetime, Sequence[Bar]]],
                   catch_up: Sequence[bool] | None = None, released_monotonic: float = 0.0) -> MinuteBlock:
        """A block of steps given as (start, that minute's bars); `symbols` sorted."""
        columns = {s: j for j, s in enumerate(symbols)}
        shape = (len(steps), len(symbols))
        prices = {name: np.full(shape, np.nan) for name in ("open", "high", "low", "close")}
        volume = np.zeros(shape, dtype=np.int64)
        present = np.zeros(shape, dtype=bool)
        for i, (_start, bars) in enumerate(steps):
            for bar in bars:
                j = columns[bar.symbol]
                prices["open"][i, j], prices["high"][i, j] = bar.open, bar.high
                prices["low"][i, j], prices["close"][i, j] = bar.low, bar.close
                volume[i, j], present[i, j] = bar.volume, True
        return cls(tuple(symbols), np.array([to_us(start) for start, _ in steps], dtype=np.int64), prices["open"],
                   prices["high"], prices["low"], prices["close"], volume, present,
                   None if catch_up is None else np.array(catch_up, dtype=bool), released_monotonic)

    def rows(self, start: int, stop: int) -> MinuteBlock:
        """The steps [start, stop) as a block of their own."""
        sl = slice(start, stop)
        return MinuteBlock(self.symbols, self.start_us[sl], self.open[sl], self.high[sl], self.low[sl], self.close[sl],
                           self.volume[sl], self.present[sl], None if self.catch_up is None else self.catch_up[sl],
                           self.released_monotonic)

    def bar_at(self, row: int, col: int, start: datetime | None = None) -> Bar:
        """The bar in cell (row, col), which must be present."""
        return Bar(self.symbols[col], "1m", start or to_datetime(int(self.start_us[row])), self.open.item(row, col),
                   self.high.item(row, col), self.low.item(row, col), self.close.item(row, col),
                   self.volume.item(row, col))

    def step_bars(self, row: int) -> tuple[Bar, ...]:
        """The bars of one step, sorted by symbol."""
        start = to_datetime(int(self.start_us[row]))
        return tuple(self.bar_at(row, int(j), start) for j in np.flatnonzero(self.present[row]))

    def series(self, col: int) -> BarSeries:
        """One symbol's bars of the block."""
        rows = np.flatnonzero(self.present[:, col])
        return BarSeries(self.symbols[col], "1m", self.start_us[rows], self.open[rows, col], self.high[rows, col],
                         self.low[rows, col], self.close[rows, col], self.volume[rows, col])

    def bars_by_symbol(self) -> dict[str, list[Bar]]:
        """Every bar of the block per symbol, oldest first."""
        return {s: self.series(j).bars() for j, s in enumerate(self.symbols)}
