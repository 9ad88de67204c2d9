"""Simple and exponential moving averages, batch and incremental.

The SMA is the correctly rounded mean of its window (`math.fsum`), so it never drifts and
batch and incremental give identical values. EMA uses alpha = 2/(n+1), seeded with the SMA of the first n values (the common
"SMA-seeded" convention), and is None before that.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

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


def ema(values: Sequence[float], period: int) -> list[float | None]:
    ind = Ema(period)
    return [ind.update(v) for v in values]
