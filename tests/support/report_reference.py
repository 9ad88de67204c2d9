"""The report arithmetic as it was written step by step, before it ran over columns: the
reference the column kernels are held to, bit for bit (tests/unit/services/test_report_kernels.py)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from mismarterad.core.orders import Fill
from mismarterad.services.benchmark import Benchmark, Holding
from mismarterad.services.breakdown import Figures, Row, _figures
from mismarterad.services.trade_matching import Trade

STEP = timedelta(minutes=1)


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
    stepped = list(zip(fill_steps(fills, step_ends), fills, strict=True))
    rows = []
    for strategy, symbol in sorted({(f.strategy, f.symbol) for f in fills} | set(also)):
        own = [t for t in trades if (t.strategy, t.symbol) == (strategy, symbol)]
        mine = sorted((pair for pair in stepped if (pair[1].strategy, pair[1].symbol) == (strategy, symbol)),
                      key=lambda pair: pair[0])  # by step, stable
        rows.append(Row(strategy, symbol, _figures(own, *_curve_figures(mine, step_ends, closes.get(symbol, ())))))
    return rows


def account_figures(initial_equity: float, equity: Sequence[float], exposed: Sequence[bool],
                    trades: Sequence[Trade]) -> Figures:
    """The whole account's row: P&L and drawdown from its equity curve, exposure from the steps
    with any position open, trade figures from every trade."""
    pnl = equity[-1] - initial_equity if equity else 0.0
    exposure = sum(exposed) / len(exposed) if exposed else 0.0
    return _figures(trades, pnl, max_drawdown_usd(initial_equity, equity), exposure)


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


def drawdowns(equity: Sequence[float]) -> list[float]:
    """Fall from the running peak at each point, as a fraction of that peak (0 at a new high)."""
    out, peak = [], -math.inf
    for value in equity:
        peak = max(peak, value)
        out.append(0.0 if peak <= 0 else (peak - value) / peak)
    return out


def buy_and_hold(initial_cash: float, closes: Mapping[str, Sequence[float | None]], steps: int) -> Benchmark:
    """The benchmark over `steps` steps; `closes[symbol][i]` is the symbol's price at step i's end
    (None: no price yet)."""
    symbols = sorted(closes)
    share = initial_cash / len(symbols) if symbols else initial_cash
    holdings, curves, first_held = [], [], steps
    for symbol in symbols:
        prices = [p if p is not None and p > 0 else None for p in closes[symbol][:steps]]
        prices += [None] * (steps - len(prices))
        bought = next((i for i, p in enumerate(prices) if p is not None), steps)  # steps: never
        entry = prices[bought] if bought < steps else None
        shares = share / entry if entry is not None else 0.0
        curve, last = [share] * bought, entry
        for price in prices[bought:]:
            last = last if price is None else price
            curve.append(shares * last)
        curves.append(curve)
        first_held = min(first_held, bought)
        holdings.append(Holding(symbol, share, shares, entry, last, (curve[-1] if curve else share) - share,
                                max_drawdown_usd(share, curve), (steps - bought) / steps if steps else 0.0))
    total = [sum(values) for values in zip(*curves, strict=True)] if curves else [initial_cash] * steps
    return Benchmark(
        holdings=tuple(holdings),
        curve=tuple(total),
        pnl=(total[-1] if total else initial_cash) - initial_cash,
        max_drawdown_usd=max_drawdown_usd(initial_cash, total),
        max_drawdown=max(drawdowns([initial_cash, *total]), default=0.0),
        exposure=(steps - first_held) / steps if steps else 0.0,
    )


def decimate(ys: Sequence[float], buckets: int) -> list[int]:
    """The indexes of the points to keep, ascending; all of them when `ys` has at most
    4 × `buckets` points."""
    n = len(ys)
    if n <= 4 * buckets:
        return list(range(n))
    keep: list[int] = []
    for b in range(buckets):
        lo, hi = n * b // buckets, n * (b + 1) // buckets
        stretch = range(lo, hi)
        low = min(stretch, key=lambda i: (ys[i], i))
        high = max(stretch, key=lambda i: (ys[i], -i))
        keep.extend(sorted({lo, low, high, hi - 1}))
    return keep
