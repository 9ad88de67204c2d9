"""Bollinger bands: middle = SMA(n), bands = middle ± k·σ with the population σ (ddof=0),
as in Bollinger's definition."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Bands", "Bollinger", "bollinger"]


@dataclass(frozen=True, slots=True)
class Bands:
    lower: float
    middle: float
    upper: float


class Bollinger:
    __slots__ = ("period", "num_std", "_window")

    def __init__(self, period: int = 20, num_std: float = 2.0) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period, self.num_std = period, num_std
        self._window: deque[float] = deque(maxlen=period)

    def update(self, value: float) -> Bands | None:
        self._window.append(value)
        if len(self._window) < self.period:
            return None
        mean = math.fsum(self._window) / self.period
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in self._window) / self.period)
        return Bands(mean - self.num_std * std, mean, mean + self.num_std * std)

    def update_many(self, values: Sequence[float]) -> np.ndarray:
        """`update` for each value as rows (lower, middle, upper), NaN while undefined."""
        out = np.full((len(values), 3), np.nan)
        for i, value in enumerate(values):
            bands = self.update(value)
            if bands is not None:
                out[i] = (bands.lower, bands.middle, bands.upper)
        return out


def bollinger(values: Sequence[float], period: int = 20, num_std: float = 2.0) -> list[Bands | None]:
    ind = Bollinger(period, num_std)
    return [ind.update(v) for v in values]
