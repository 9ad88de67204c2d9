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
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mismarterad.core.orders import Fill
from mismarterad.services.trade_matching import Trade

__all__ = ["Figures", "Row", "account_figures", "fill_steps", "max_drawdown_usd", "strategy_symbol_rows"]

STEP = timedelta(minutes=1)


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


def fill_steps(fills: Sequence[Fill], step_ends: Sequence[datetime]) -> list[int]:
    """The index of the step each fill counts in (the last step for a fill after every step)."""
    out = []
    last = len(step_ends) - 1
    for fill in fills:
        i = bisect_right(step_ends, fill.ts_utc)  # the first step ending after the fill
        inside = i <= last and step_ends[i] - STEP <= fill.ts_utc
        if not inside and i > 0 and step_ends[i - 1] == fill.ts_utc:
            i -= 1  # at a close, with no step starting there
        out.append(min(i, last))
    return out


def max_drawdown_usd(start: float, curve: Iterable[float]) -> float:
    """The largest fall of `curve` below its running high (which starts at `start`)."""
    peak, worst = start, 0.0
    for value in curve:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst


def strategy_symbol_rows(fills: Sequence[Fill], trades: Sequence[Trade], step_ends: Sequence[datetime],
                         closes: Mapping[str, Sequence[float | None]],
                         also: Iterable[tuple[str, str]] = ()) -> list[Row]:
    """One row per (strategy, symbol) that has fills, or is in `also` (e.g. orders that never
    filled), sorted. `closes[symbol][i]` is the symbol's price at the end of step i; a missing
    symbol or price is valued at the row's last fill price."""
    steps = fill_steps(fills, step_ends)
    by_row: dict[tuple[str, str], list[tuple[int, Fill]]] = {key: [] for key in also}
    for step, fill in zip(steps, fills, strict=True):
        by_row.setdefault((fill.strategy, fill.symbol), []).append((step, fill))
    rows = []
    for strategy, symbol in sorted(by_row):
        own = [t for t in trades if t.strategy == strategy and t.symbol == symbol]
        # by step: a fill booked late (a live catch-up's) keeps its own minute
        own_fills = sorted(by_row[strategy, symbol], key=lambda pair: pair[0])
        pnl, drawdown, exposure = _curve_figures(own_fills, step_ends, closes.get(symbol, ()))
        rows.append(Row(strategy, symbol, _figures(own, pnl, drawdown, exposure)))
    return rows


def account_figures(initial_equity: float, equity: Sequence[float], exposed: Sequence[bool],
                    trades: Sequence[Trade]) -> Figures:
    """The whole account's row: P&L and drawdown from its equity curve, exposure from the steps
    with any position open, trade figures from every trade."""
    pnl = equity[-1] - initial_equity if equity else 0.0
    exposure = sum(exposed) / len(exposed) if exposed else 0.0
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


def _curve_figures(fills: Sequence[tuple[int, Fill]], step_ends: Sequence[datetime],
                   closes: Sequence[float | None]) -> tuple[float, float, float]:
    """P&L, max drawdown and exposure of one row's curve."""
    position, cash, price = 0, 0.0, 0.0
    peak, worst, held = 0.0, 0.0, 0
    j = 0
    for i, end in enumerate(step_ends):
        holding: int | None = None  # the position held through the step
        while j < len(fills) and fills[j][0] == i:
            fill = fills[j][1]
            if holding is None and fill.ts_utc >= end:
                holding = position  # a fill at the close: the shares were held until then
            position += fill.side.sign * fill.quantity
            cash -= fill.side.sign * fill.quantity * fill.price + fill.commission
            price = fill.price
            j += 1
        held += (position if holding is None else holding) != 0
        close = closes[i] if i < len(closes) else None
        price = price if close is None else close
        value = cash + position * price
        peak = max(peak, value)
        worst = max(worst, peak - value)
    for _, fill in fills[j:]:  # only without any step
        position += fill.side.sign * fill.quantity
        cash -= fill.side.sign * fill.quantity * fill.price + fill.commission
        price = fill.price
    pnl = cash + position * price
    return pnl, worst, held / len(step_ends) if step_ends else 0.0
