"""The design's `trailing_average`: mean of a field over the last N values (e.g. the
10-day average daily volume from daily bars)."""

from __future__ import annotations

from collections.abc import Sequence

from mismarterad.services.indicators.moving_averages import Sma, sma

__all__ = ["TrailingAverage", "trailing_average"]

TrailingAverage = Sma


def trailing_average(values: Sequence[float], period: int) -> list[float | None]:
    return sma(values, period)
