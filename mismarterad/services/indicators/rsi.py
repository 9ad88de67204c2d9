"""Wilder's RSI: seeded with the simple average of the first n gains and losses, then
smoothed with alpha = 1/n. Defined from the (n+1)-th value on; 100 when there are no losses."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from mismarterad.services.indicators.feeding import feed_until

__all__ = ["Rsi", "rsi"]


class Rsi:
    __slots__ = ("period", "_previous", "_gains", "_losses", "_avg_gain", "_avg_loss")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._previous: float | None = None
        self._gains: list[float] = []
        self._losses: list[float] = []
        self._avg_gain: float | None = None
        self._avg_loss = 0.0

    def update(self, value: float) -> float | None:
        previous, self._previous = self._previous, value
        if previous is None:
            return None
        change = value - previous
        gain, loss = max(change, 0.0), max(-change, 0.0)
        if self._avg_gain is None:
            self._gains.append(gain)
            self._losses.append(loss)
            if len(self._gains) < self.period:
                return None
            self._avg_gain = sum(self._gains) / self.period
            self._avg_loss = sum(self._losses) / self.period
        else:
            n = self.period
            self._avg_gain = (self._avg_gain * (n - 1) + gain) / n
            self._avg_loss = (self._avg_loss * (n - 1) + loss) / n
        if self._avg_loss == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + self._avg_gain / self._avg_loss)

    def update_many(self, values: Sequence[float]) -> np.ndarray:
        """`update` for each value (None as NaN), the smoothing as two accumulations."""
        head, fed = feed_until(self.update, values, lambda: self._avg_gain is not None)
        if fed == len(values):
            return np.array(head, dtype=np.float64)
        assert self._previous is not None and self._avg_gain is not None
        rest = np.array(values[fed:], dtype=np.float64)
        change = np.diff(rest, prepend=self._previous)
        n, m = self.period, self.period - 1
        gains = np.maximum(change, 0.0).tolist()
        losses = np.maximum(-change, 0.0).tolist()
        avg_gain = np.array(list(accumulate(gains, lambda a, g: (a * m + g) / n, initial=self._avg_gain))[1:])
        avg_loss = np.array(list(accumulate(losses, lambda a, g: (a * m + g) / n, initial=self._avg_loss))[1:])
        self._previous, self._avg_gain, self._avg_loss = float(rest[-1]), float(avg_gain[-1]), float(avg_loss[-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(avg_loss == 0, 100.0, 100.0 - 100.0 / (1.0 + avg_gain / avg_loss))
        return np.concatenate((np.array(head, dtype=np.float64), tail))


def rsi(values: Sequence[float], period: int = 14) -> list[float | None]:
    ind = Rsi(period)
    return [ind.update(v) for v in values]
