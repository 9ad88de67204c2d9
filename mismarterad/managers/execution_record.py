"""ExecutionRecord: what a run executed, kept for the reports and the database.

The fills in the order they were booked; the equity curve, one point per step; and each
symbol's price at every point (the close it was marked at; None before its first). The curve
and the prices are columns (core/run_result.py): a step costs a few dozen bytes, not objects.
Points come one at a time (`mark`: a live step, a session's close, which replaces the point of
its step) or a block's at once (`extend`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mismarterad.core.orders import Fill
from mismarterad.core.run_result import EquityCurve, EquityPoint, PriceColumn
from mismarterad.services.bar_columns import to_us

__all__ = ["ExecutionRecord"]


@dataclass
class ExecutionRecord:
    """Everything executed so far, in the order it happened."""

    fills: list[Fill] = field(default_factory=list)
    equity: EquityCurve = field(default_factory=EquityCurve)
    # per symbol, the price each point of `equity` marked it at (None before its first price)
    closes: dict[str, PriceColumn] = field(default_factory=dict)

    def mark(self, point: EquityPoint, prices: Mapping[str, float]) -> EquityPoint:
        """Record the account at the end of a step, with every symbol's price then; a second
        mark of the same step replaces the first (its `exposed` kept if it was)."""
        equity = self.equity
        if len(equity) and equity.ts_us[-1] == to_us(point.ts_utc):
            last = equity[-1]
            point = EquityPoint(point.ts_utc, point.cash, point.positions_value, point.equity,
                                last.exposed or point.exposed)
            equity.set_last(point)
        else:
            equity.append(point)
        steps = len(equity)
        for symbol, price in prices.items():
            column = self.closes.setdefault(symbol, PriceColumn())
            column.fit(steps - 1)  # a second mark of the step replaces its price
            column.append(price)
        return point

    def extend(self, ends_us: np.ndarray, cash: np.ndarray, positions_value: np.ndarray, equity: np.ndarray,
               exposed: np.ndarray, prices: Mapping[str, np.ndarray]) -> None:
        """Record a block's steps at once; `prices[symbol]` per step, NaN before its first."""
        before = len(self.equity)
        self.equity.extend_columns(ends_us.astype(np.int64).tobytes(), cash.astype(np.float64).tobytes(),
                                   positions_value.astype(np.float64).tobytes(),
                                   equity.astype(np.float64).tobytes(), exposed.astype(np.int8).tobytes())
        for symbol, values in prices.items():
            column = self.closes.setdefault(symbol, PriceColumn())
            column.fit(before)
            column.extend_bytes(values.astype(np.float64).tobytes())
