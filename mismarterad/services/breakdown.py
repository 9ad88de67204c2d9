"""Figures per strategy and symbol (and for the whole account) from a run's fills, trades and prices.

A run is a sequence of 1-minute steps, named by their end instant (the equity curve's points),
and each symbol has a price at each step's end (the close positions were marked at). The
definitions, also in docs/decisions.md ("Report figures"):

- A fill counts in the step whose minute holds its instant: a fill at a bar's open (a step's
  start) in that step, a fill at a close (a step's end where no step starts) in the step it
  ends, any other instant in the first step ending after it.
- P&L: the cash the row's fills paid and received (commissions included) plus its position
  valued at the step's price. The row's curve is that at the end of every step; its P&L is the
  curve's last value, realized and unrealized alike.
- Max drawdown: the largest fall of the curve below its running high, in currency (the high
  starts at the starting value: 0 for a row, the initial equity for the account).
- Exposure: the share of steps in which the row held shares, i.e. whose position after the
  step's fills before its end (a fill at the close ends the holding with the step) is not 0.
- Win rate: the share of closed trades with a P&L above 0. Profit factor: the winning trades'
  P&L over the losing trades' loss; None without a losing trade.

Fills are few and taken one by one; the curves over every step are numpy columns computed
with the same float operations, step for step, as a loop over the steps would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from mismarterad.core.orders import Fill
from mismarterad.services.bar_columns import US_PER_MINUTE, to_us
from mismarterad.services.curve_columns import price_array
from mismarterad.services.trade_matching import Trade

__all__ = ["Figures", "Row", "account_figures", "fill_steps", "max_drawdown_usd", "strategy_symbol_rows"]

StepEnds = Sequence[datetime] | np.ndarray  # datetimes, or int64 UTC microseconds


@dataclass(frozen=True, slots=True)
class Figures:
    trades: int
    win_rate: float | None
    pnl: float
    gross_profit: float  # the winning trades' P&L
    gross_loss: float  # the losing trades' loss, as a positive amount
    profit_factor: float | None
    max_drawdown_usd: float
    exposure: float


@dataclass(frozen=True, slots=True)
class Row:
    strategy: str
    symbol: str
    figures: Figures


def _ends_us(step_ends: StepEnds) -> np.ndarray:
    if isinstance(step_ends, np.ndarray):
        return step_ends.astype(np.int64, copy=False)
    return np.array([to_us(t) for t in step_ends], dtype=np.int64)


def fill_steps(fills: Sequence[Fill], step_ends: StepEnds) -> list[int]:
    """The index of the step each fill counts in (the last step for a fill after every step)."""
    ends = _ends_us(step_ends)
    at = np.array([to_us(f.ts_utc) for f in fills], dtype=np.int64)
    last = len(ends) - 1
    i = np.searchsorted(ends, at, side="right")  # the first step ending after the fill
    inside = (i <= last) & (ends[np.clip(i, 0, max(last, 0))] - US_PER_MINUTE <= at) if last >= 0 else i < 0
    at_close = ~inside & (i > 0) & (ends[np.clip(i - 1, 0, max(last, 0))] == at) if last >= 0 else i < 0
    return np.minimum(np.where(at_close, i - 1, i), last).tolist()


def max_drawdown_usd(start: float, curve: Iterable[float] | np.ndarray) -> float:
    """The largest fall of `curve` below its running high (which starts at `start`)."""
    values = np.asarray(curve if isinstance(curve, np.ndarray) else list(curve), dtype=np.float64)
    if not len(values):
        return 0.0
    peak = np.maximum.accumulate(np.concatenate(([start], values)))[1:]
    return max(0.0, float((peak - values).max()))


def strategy_symbol_rows(fills: Sequence[Fill], trades: Sequence[Trade], step_ends: Sequence[datetime],
                         closes: Mapping[str, Sequence[float | None]],
                         also: Iterable[tuple[str, str]] = ()) -> list[Row]:
    """One row per (strategy, symbol) that has fills, or is in `also` (e.g. orders that never
    filled), sorted. `closes[symbol][i]` is the symbol's price at the end of step i; a missing
    symbol or price is valued at the row's last fill price."""
    ends = _ends_us(step_ends)
    steps = fill_steps(fills, ends)
    by_row: dict[tuple[str, str], list[tuple[int, Fill]]] = {key: [] for key in also}
    for step, fill in zip(steps, fills, strict=True):
        by_row.setdefault((fill.strategy, fill.symbol), []).append((step, fill))
    rows = []
    for strategy, symbol in sorted(by_row):
        own = [t for t in trades if t.strategy == strategy and t.symbol == symbol]
        # by step: a fill booked late (a live catch-up's) keeps its own minute
        own_fills = sorted(by_row[strategy, symbol], key=lambda pair: pair[0])
        pnl, drawdown, exposure = _curve_figures(own_fills, ends, price_array(closes.get(symbol, ()), len(ends)))
        rows.append(Row(strategy, symbol, _figures(own, pnl, drawdown, exposure)))
    return rows


def account_figures(initial_equity: float, equity: Sequence[float] | np.ndarray, exposed: Sequence[bool] | np.ndarray,
                    trades: Sequence[Trade]) -> Figures:
    """The whole account's row: P&L and drawdown from its equity curve, exposure from the steps
    with any position open, trade figures from every trade."""
    equity = np.asarray(equity, dtype=np.float64)
    pnl = float(equity[-1]) - initial_equity if len(equity) else 0.0
    exposure = int(np.count_nonzero(exposed)) / len(exposed) if len(exposed) else 0.0
    return _figures(trades, pnl, max_drawdown_usd(initial_equity, equity), exposure)


def _figures(trades: Sequence[Trade], pnl: float, drawdown: float, exposure: float) -> Figures:
    gross_profit = sum(t.pnl for t in trades if t.pnl > 0)
    gross_loss = -sum(t.pnl for t in trades if t.pnl < 0)
    wins = sum(1 for t in trades if t.pnl > 0)
    return Figures(
        trades=len(trades),
        win_rate=wins / len(trades) if trades else None,
        pnl=pnl,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        max_drawdown_usd=drawdown,
        exposure=exposure,
    )


def _curve_figures(fills: Sequence[tuple[int, Fill]], step_ends: np.ndarray,
                   closes: np.ndarray) -> tuple[float, float, float]:
    """P&L, max drawdown and exposure of one row's curve: the fills taken one by one, the steps
    as columns (position, cash and the price carried from step to step)."""
    steps = len(step_ends)
    position, cash, price = 0, 0.0, 0.0
    # per step with fills: its position, cash and last fill price after them, and the position
    # held through it (before a fill at its close; None: no such fill, the position after them)
    at: list[int] = []
    after: list[tuple[int, float, float, int | None]] = []
    for step, fill in fills:
        if step >= 0 and (not at or at[-1] != step):
            at.append(step)
            after.append((0, 0.0, 0.0, None))
        if step >= 0 and after[-1][3] is None and to_us(fill.ts_utc) >= int(step_ends[step]):
            after[-1] = (*after[-1][:3], position)  # a fill at the close: the shares were held until then
        position += fill.side.sign * fill.quantity
        cash -= fill.side.sign * fill.quantity * fill.price + fill.commission
        price = fill.price
        if step >= 0:
            after[-1] = (position, cash, price, after[-1][3])
    if steps == 0:  # only fills without any step
        return cash + position * price, 0.0, 0.0
    rows = np.array(at, dtype=np.int64)
    index = np.searchsorted(rows, np.arange(steps), side="right") - 1
    filled, pick = index >= 0, np.clip(index, 0, None)
    position_at = np.where(filled, np.array([a[0] for a in after] or [0], dtype=np.int64)[pick], 0)
    cash_at = np.where(filled, np.array([a[1] for a in after] or [0.0])[pick], 0.0)
    source = closes.copy()  # the price: the step's close, else its last fill's, else the one before
    no_close = np.isnan(source[rows])
    source[rows[no_close]] = np.array([a[2] for a in after])[no_close]
    known = np.where(np.isnan(source), -1, np.arange(steps))
    np.maximum.accumulate(known, out=known)
    price_at = np.where(known >= 0, source[np.clip(known, 0, None)], 0.0)
    value = cash_at + position_at * price_at
    peak = np.maximum.accumulate(np.concatenate(([0.0], value)))[1:]
    worst = max(0.0, float((peak - value).max()))
    through = position_at.copy()
    for row, (_, _, _, held_through) in zip(at, after, strict=True):
        if held_through is not None:
            through[row] = held_through
    return float(value[-1]), worst, int(np.count_nonzero(through)) / steps
