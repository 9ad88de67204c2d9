"""Wilder's ATR: true range (high−low for the first bar), seeded with the mean of the first n
true ranges, then smoothed with alpha = 1/n."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from mismarterad.services.indicators.feeding import feed_until

__all__ = ["Atr", "atr"]


class Atr:
    __slots__ = ("period", "_previous_close", "_seed", "_value")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._previous_close: float | None = None
        self._seed: list[float] = []
        self._value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        if self._previous_close is None:
            true_range = high - low
        else:
            true_range = max(high - low, abs(high - self._previous_close), abs(low - self._previous_close))
        self._previous_close = close
        if self._value is None:
            self._seed.append(true_range)
            if len(self._seed) < self.period:
                return None
            self._value = sum(self._seed) / self.period
            return self._value
        self._value = (self._value * (self.period - 1) + true_range) / self.period
        return self._value

    def update_many(self, highs: Sequence[float], lows: Sequence[float], closes: Sequence[float]) -> np.ndarray:
        """`update` for each bar (None as NaN), the smoothing as one accumulation."""
        head, fed = feed_until(self.update, list(zip(highs, lows, closes, strict=True)),
                               lambda: self._value is not None)
        if fed == len(highs):
            return np.array(head, dtype=np.float64)
        assert self._previous_close is not None
        h, lo, c = (np.array(x[fed:], dtype=np.float64) for x in (highs, lows, closes))
        previous = np.concatenate(([self._previous_close], c[:-1]))
        true_range = np.maximum(np.maximum(h - lo, np.abs(h - previous)), np.abs(lo - previous)).tolist()
        n, m = self.period, self.period - 1
        tail = list(accumulate(true_range, lambda v, tr: (v * m + tr) / n, initial=self._value))[1:]
        self._value, self._previous_close = tail[-1], float(c[-1])
        head.extend(tail)
        return np.array(head, dtype=np.float64)


def atr(highs: Sequence[float], lows: Sequence[float], closes: Sequence[float], period: int = 14) -> list[float | None]:
    ind = Atr(period)
    return [ind.update(h, l, c) for h, l, c in zip(highs, lows, closes, strict=True)]
