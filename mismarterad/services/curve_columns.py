"""A run's per-step figures as numpy columns, for the reports' arithmetic over a whole run.

A run's equity curve is an `EquityCurve` (core/run_result.py: array.array columns, read here
without a copy); a report rebuilt or a test may hand any sequence of `EquityPoint`s, and a
symbol's prices any sequence of floats and None. Either way the columns are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mismarterad.core.run_result import EquityCurve, EquityPoint, PriceColumn
from mismarterad.services.bar_columns import to_us

__all__ = ["CurveColumns", "curve_columns", "price_array"]


@dataclass(frozen=True, slots=True, eq=False)
class CurveColumns:
    ts_us: np.ndarray  # int64: each step's end
    cash: np.ndarray
    positions_value: np.ndarray
    equity: np.ndarray
    exposed: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.ts_us)


def curve_columns(curve: Sequence[EquityPoint]) -> CurveColumns:
    if isinstance(curve, EquityCurve):
        n = len(curve)
        return CurveColumns(np.frombuffer(curve.ts_us, dtype=np.int64, count=n),
                            np.frombuffer(curve.cash, dtype=np.float64, count=n),
                            np.frombuffer(curve.positions_value, dtype=np.float64, count=n),
                            np.frombuffer(curve.equity, dtype=np.float64, count=n),
                            np.frombuffer(curve.exposed, dtype=np.int8, count=n).astype(bool))
    return CurveColumns(np.array([to_us(p.ts_utc) for p in curve], dtype=np.int64),
                        np.array([p.cash for p in curve], dtype=np.float64),
                        np.array([p.positions_value for p in curve], dtype=np.float64),
                        np.array([p.equity for p in curve], dtype=np.float64),
                        np.array([p.exposed for p in curve], dtype=bool))


def price_array(prices: Sequence[float | None], steps: int | None = None) -> np.ndarray:
    """float64 prices, NaN for None, cut or padded (NaN) to `steps`."""
    if isinstance(prices, PriceColumn):
        values = np.frombuffer(prices.values, dtype=np.float64, count=len(prices))
    else:
        values = np.array([np.nan if p is None else p for p in prices], dtype=np.float64)
    if steps is None or len(values) == steps:
        return values
    if len(values) > steps:
        return values[:steps]
    return np.concatenate((values, np.full(steps - len(values), np.nan)))
