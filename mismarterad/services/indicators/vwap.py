"""Session-anchored VWAP of the typical price (h+l+c)/3; call `reset` at each session start."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Vwap", "vwap"]


class Vwap:
    __slots__ = ("_pv", "_volume")

    def __init__(self) -> None:
        self._pv = 0.0
        self._volume = 0

    def reset(self) -> None:
        self._pv, self._volume = 0.0, 0

    def update(self, high: float, low: float, close: float, volume: int) -> float | None:
        self._pv += (high + low + close) / 3.0 * volume
        self._volume += volume
        return self._pv / self._volume if self._volume else None

    def update_many(self, highs: np.ndarray, lows: np.ndarray, closes: np.ndarray, volumes: np.ndarray) -> np.ndarray:
        """`update` for each bar (None as NaN): running sums, added one after the other as `update` does."""
        pv = np.cumsum(np.concatenate(([self._pv], (highs + lows + closes) / 3.0 * volumes)))[1:]
        volume = np.cumsum(np.concatenate(([self._volume], volumes)).astype(np.int64))[1:]
        if len(pv):
            self._pv, self._volume = float(pv[-1]), int(volume[-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(volume != 0, pv / volume, np.nan)


def vwap(highs: Sequence[float], lows: Sequence[float], closes: Sequence[float], volumes: Sequence[int]) -> list[float | None]:
    """VWAP over one session's bars."""
    ind = Vwap()
    return [ind.update(h, l, c, v) for h, l, c, v in zip(highs, lows, closes, volumes, strict=True)]
