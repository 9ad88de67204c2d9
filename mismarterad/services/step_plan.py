"""What a block of steps asks of the engine, computed over its columns.

`call_plan`: every (bar, strategy) call a block makes, in the order the engine makes them (by
step; at a step the 1-minute bars, then the derived ones, each in the block's order; for one
bar the strategies in config order). `carried`: each symbol's price at every step, carried
forward from its last bar (and from before the block where it has none yet). `mark_values`:
the account's positions value at every step from its holdings, which change only at the steps
given, summed in the holdings' order exactly as the broker sums them one step at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mismarterad.services.derived_bars import DerivedBars

__all__ = ["MINUTE", "CallPlan", "Subscription", "call_plan", "carried", "mark_values"]

MINUTE = -1  # the interval of a subscription to the 1-minute bars


@dataclass(frozen=True, slots=True)
class Subscription:
    """A strategy's calls for one symbol and interval: `interval` is the index into the derived
    bars' intervals (MINUTE: the 1-minute bars); `only`, if given, the positions (in the order
    of that series' bars in the block) at which it is called, else at every bar."""

    col: int
    interval: int
    strategy: int
    only: np.ndarray | None = None  # a strategy's signal path (strategies/column_signals.py) when given


@dataclass(frozen=True, slots=True, eq=False)
class CallPlan:
    """Calls sorted in engine order: step row, kind (0: 1m bar, 1: derived bar), the bar (its
    column for a 1m bar, its position in the derived bars otherwise), the strategy's index."""

    row: np.ndarray
    kind: np.ndarray
    bar: np.ndarray
    strategy: np.ndarray
    signal: np.ndarray  # bool: the call is the strategy's `on_signal` (it subscribed with `only`)

    def __len__(self) -> int:
        return len(self.row)


def call_plan(present: np.ndarray, derived: DerivedBars, subscriptions: Sequence[Subscription]) -> CallPlan:
    rows, kinds, bars, strategies, signals = [], [], [], [], []
    for sub in subscriptions:
        if sub.interval == MINUTE:
            at = np.flatnonzero(present[:, sub.col])
            row, bar = at, np.full(len(at), sub.col, np.int64)
        else:
            bar = np.flatnonzero((derived.col == sub.col) & (derived.interval == sub.interval))
            row = derived.row[bar]
        if sub.only is not None:
            row, bar = row[sub.only], bar[sub.only]
        rows.append(row)
        bars.append(bar)
        kinds.append(np.full(len(row), 0 if sub.interval == MINUTE else 1, np.int64))
        strategies.append(np.full(len(row), sub.strategy, np.int64))
        signals.append(np.full(len(row), sub.only is not None))
    if not rows:
        empty = np.empty(0, np.int64)
        return CallPlan(empty, empty, empty, empty, np.empty(0, bool))
    row, kind, bar, strategy = (np.concatenate(parts).astype(np.int64) for parts in (rows, kinds, bars, strategies))
    signal = np.concatenate(signals)
    order = np.lexsort((strategy, bar, kind, row))
    return CallPlan(row[order], kind[order], bar[order], strategy[order], signal[order])


def carried(values: np.ndarray, present: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(steps x symbols): each column's value at its latest present step so far, `before` (one
    per column, NaN: none) until its first."""
    steps, columns = values.shape
    latest = np.where(present, np.arange(steps)[:, None], -1)
    np.maximum.accumulate(latest, axis=0, out=latest)
    picked = values[np.clip(latest, 0, None), np.arange(columns)[None, :]]
    return np.where(latest >= 0, picked, before[None, :])


def mark_values(steps: int, change_rows: np.ndarray, quantities: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """The positions value at each step. `quantities[i, j]` is the shares of the j-th symbol (in
    the order the broker sums them) from step `change_rows[i]` on (the first row: -1, before the
    block); `prices[:, j]` its price at each step. Each step's value is 0.0 plus each non-zero
    holding's quantity times price, in that order, as the broker adds them."""
    current = np.searchsorted(change_rows, np.arange(steps), side="right") - 1
    held = quantities[current]
    value = np.zeros(steps)
    for j in range(quantities.shape[1]):
        q = held[:, j]
        if q.any():
            with np.errstate(invalid="ignore"):
                value = value + np.where(q != 0, q * prices[:, j], 0.0)
    return value
