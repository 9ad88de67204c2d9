"""Simple and exponential moving averages, batch and incremental.

The SMA is the correctly rounded mean of its window (`math.fsum`), so it never drifts and
batch and incremental give identical values. EMA uses alpha = 2/(n+1), seeded with the SMA of the first n values (the common
"SMA-seeded" convention), and is None before that.

`update_many` feeds many values at once and returns what `update` would have returned for each
(None as NaN): kernels that carry their state, so blocks of any length continue each other
exactly. The recurrences run in `itertools.accumulate` with the very same float operations.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from mismarterad.services.indicators.feeding import feed_until

__all__ = ["Ema", "Sma", "ema", "sma"]


class Sma:
    """Mean of the last `period` values; exact (fsum of the window) on every update."""

    __slots__ = ("period", "_window")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._window: deque[float] = deque(maxlen=period)

    def update(self, value: float) -> float | None:
        self._window.append(value)
        if len(self._window) < self.period:
            return None
        return math.fsum(self._window) / self.period

    def update_many(self, values: Sequence[float]) -> np.ndarray:
        return np.array(feed_until(self.update, values, lambda: False)[0], dtype=np.float64)


def sma(values: Sequence[float], period: int) -> list[float | None]:
    ind = Sma(period)
    return [ind.update(v) for v in values]


class Ema:
    __slots__ = ("period", "alpha", "_seed", "_value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self.alpha = 2.0 / (period + 1)
        self._seed: list[float] = []
        self._value: float | None = None

    def update(self, value: float) -> float | None:
        if self._value is None:
            self._seed.append(value)
            if len(self._seed) < self.period:
                return None
            self._value = math.fsum(self._seed) / self.period
            self._seed = []
            return self._value
        self._value = self._value + self.alpha * (value - self._value)
        return self._value

    def update_many(self, values: Sequence[float]) -> np.ndarray:
        head, fed = feed_until(self.update, values, lambda: self._value is not None)
        if fed == len(values):
            return np.array(head, dtype=np.float64)
        alpha = self.alpha
        tail = list(accumulate(values[fed:], lambda v, x: v + alpha * (x - v), initial=self._value))
        self._value = tail[-1]
        head.extend(tail[1:])
        return np.array(head, dtype=np.float64)


def ema(values: Sequence[float], period: int) -> list[float | None]:
    ind = Ema(period)
    return [ind.update(v) for v in values]
