"""Build an incremental indicator that takes whole bars, from a strategy's request.

Each takes one bar (`update`) or a `BarSeries` of many (`update_series`, a kernel with the very
same results, None as NaN), and keeps its state between calls either way.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mismarterad.core.market_data import Bar
from mismarterad.services.bar_columns import BarSeries, to_us
from mismarterad.services.indicators.atr import Atr
from mismarterad.services.indicators.bollinger import Bollinger
from mismarterad.services.indicators.moving_averages import Ema, Sma
from mismarterad.services.indicators.rsi import Rsi
from mismarterad.services.indicators.vwap import Vwap

__all__ = ["KINDS", "IncrementalIndicator", "IndicatorSpec", "make_indicator"]

KINDS = ("sma", "ema", "rsi", "atr", "vwap", "bollinger_upper", "bollinger_middle", "bollinger_lower")
_US_PER_DAY = 86_400_000_000


class IndicatorSpec(Protocol):
    kind: str
    period: int
    num_std: float


class IncrementalIndicator(Protocol):
    def update(self, bar: Bar) -> float | None: ...

    def update_series(self, bars: BarSeries) -> np.ndarray:
        """`update` of each bar, oldest first, as float64 with NaN for None."""
        ...


class _OnClose:
    __slots__ = ("_ind",)

    def __init__(self, ind: Sma | Ema | Rsi) -> None:
        self._ind = ind

    def update(self, bar: Bar) -> float | None:
        return self._ind.update(bar.close)

    def update_series(self, bars: BarSeries) -> np.ndarray:
        return self._ind.update_many(bars.close.tolist())


class _OnRange:
    __slots__ = ("_ind",)

    def __init__(self, ind: Atr) -> None:
        self._ind = ind

    def update(self, bar: Bar) -> float | None:
        return self._ind.update(bar.high, bar.low, bar.close)

    def update_series(self, bars: BarSeries) -> np.ndarray:
        return self._ind.update_many(bars.high.tolist(), bars.low.tolist(), bars.close.tolist())


class _SessionVwap:
    """VWAP that restarts when a bar of a new session (a new date of its start) arrives."""

    __slots__ = ("_ind", "_day")

    def __init__(self) -> None:
        self._ind = Vwap()
        self._day: object = None

    def update(self, bar: Bar) -> float | None:
        day = to_us(bar.start_utc) // _US_PER_DAY  # the date of its start (UTC)
        if day != self._day:
            self._ind.reset()
            self._day = day
        return self._ind.update(bar.high, bar.low, bar.close, bar.volume)

    def update_series(self, bars: BarSeries) -> np.ndarray:
        days = bars.start_us // _US_PER_DAY
        cuts = np.flatnonzero(np.diff(days)) + 1
        out = []
        for part in np.split(np.arange(len(days)), cuts):
            if len(part) == 0:
                continue
            day = int(days[part[0]])
            if day != self._day:
                self._ind.reset()
                self._day = day
            out.append(self._ind.update_many(bars.high[part], bars.low[part], bars.close[part], bars.volume[part]))
        return np.concatenate(out) if out else np.empty(0)


class _Band:
    __slots__ = ("_ind", "_which")

    def __init__(self, ind: Bollinger, which: str) -> None:
        self._ind, self._which = ind, which

    def update(self, bar: Bar) -> float | None:
        bands = self._ind.update(bar.close)
        return None if bands is None else getattr(bands, self._which)

    def update_series(self, bars: BarSeries) -> np.ndarray:
        return self._ind.update_many(bars.close.tolist())[:, ("lower", "middle", "upper").index(self._which)]


def make_indicator(spec: IndicatorSpec) -> IncrementalIndicator:
    """An indicator fed with bars; raise ValueError naming the kinds known."""
    match spec.kind:
        case "sma":
            return _OnClose(Sma(spec.period))
        case "ema":
            return _OnClose(Ema(spec.period))
        case "rsi":
            return _OnClose(Rsi(spec.period))
        case "atr":
            return _OnRange(Atr(spec.period))
        case "vwap":
            return _SessionVwap()
        case "bollinger_upper" | "bollinger_middle" | "bollinger_lower":
            return _Band(Bollinger(spec.period, spec.num_std), spec.kind.removeprefix("bollinger_"))
        case _:
            raise ValueError(f"unknown indicator kind {spec.kind!r}: expected one of {', '.join(KINDS)}")
