"""Build an incremental indicator that takes whole bars, from a strategy's request."""

from __future__ import annotations

from typing import Protocol

from mismarterad.core.market_data import Bar
from mismarterad.services.indicators.atr import Atr
from mismarterad.services.indicators.bollinger import Bollinger
from mismarterad.services.indicators.moving_averages import Ema, Sma
from mismarterad.services.indicators.rsi import Rsi
from mismarterad.services.indicators.vwap import Vwap

__all__ = ["KINDS", "IncrementalIndicator", "IndicatorSpec", "make_indicator"]

KINDS = ("sma", "ema", "rsi", "atr", "vwap", "bollinger_upper", "bollinger_middle", "bollinger_lower")


class IndicatorSpec(Protocol):
    kind: str
    period: int
    num_std: float


class IncrementalIndicator(Protocol):
    def update(self, bar: Bar) -> float | None: ...


class _OnClose:
    __slots__ = ("_ind",)

    def __init__(self, ind: Sma | Ema | Rsi) -> None:
        self._ind = ind

    def update(self, bar: Bar) -> float | None:
        return self._ind.update(bar.close)


class _OnRange:
    __slots__ = ("_ind",)

    def __init__(self, ind: Atr) -> None:
        self._ind = ind

    def update(self, bar: Bar) -> float | None:
        return self._ind.update(bar.high, bar.low, bar.close)


class _SessionVwap:
    """VWAP that restarts when a bar of a new session (a new date of its start) arrives."""

    __slots__ = ("_ind", "_day")

    def __init__(self) -> None:
        self._ind = Vwap()
        self._day: object = None

    def update(self, bar: Bar) -> float | None:
        day = bar.start_utc.date()
        if day != self._day:
            self._ind.reset()
            self._day = day
        return self._ind.update(bar.high, bar.low, bar.close, bar.volume)


class _Band:
    __slots__ = ("_ind", "_which")

    def __init__(self, ind: Bollinger, which: str) -> None:
        self._ind, self._which = ind, which

    def update(self, bar: Bar) -> float | None:
        bands = self._ind.update(bar.close)
        return None if bands is None else getattr(bands, self._which)


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
