"""Buy and hold: what the run's starting cash would have made by simply holding its symbols.

The definition, also in docs/decisions.md ("Report figures"): the initial cash is split equally
among the symbols; each share buys the symbol at its first price of the run (fractional shares,
no commission or slippage) and holds it to the run's last step, nights included. Its value at
each step is its shares at the step's price (its cash until it has a price). P&L, max drawdown
(in currency and as a fraction of the high) and exposure (the share of steps holding shares)
are defined as for the run's own rows (services/breakdown.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mismarterad.services.breakdown import max_drawdown_usd
from mismarterad.services.curve_columns import price_array
from mismarterad.services.performance import drawdown_array

__all__ = ["Benchmark", "Holding", "buy_and_hold"]


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    cash: float  # its share of the starting cash
    shares: float
    entry_price: float | None  # None: the run never had a price for it (the cash stayed cash)
    exit_price: float | None
    pnl: float
    max_drawdown_usd: float
    exposure: float


@dataclass(frozen=True, slots=True)
class Benchmark:
    holdings: tuple[Holding, ...]
    curve: tuple[float, ...]  # the benchmark account's value at the end of each step
    pnl: float
    max_drawdown_usd: float
    max_drawdown: float  # fraction of the high
    exposure: float


def buy_and_hold(initial_cash: float, closes: Mapping[str, Sequence[float | None]], steps: int) -> Benchmark:
    """The benchmark over `steps` steps; `closes[symbol][i]` is the symbol's price at step i's end
    (None: no price yet)."""
    symbols = sorted(closes)
    share = initial_cash / len(symbols) if symbols else initial_cash
    holdings, first_held = [], steps
    total = np.zeros(steps) if symbols else np.full(steps, initial_cash)
    for symbol in symbols:
        prices = price_array(closes[symbol], steps)
        valid = prices > 0  # NaN (no price) and non-positive prices are no price
        bought = int(np.argmax(valid)) if valid.any() else steps  # steps: never
        entry = float(prices[bought]) if bought < steps else None
        shares = share / entry if entry is not None else 0.0
        known = np.where(valid, np.arange(steps), -1)
        np.maximum.accumulate(known, out=known)
        curve = np.where(np.arange(steps) < bought, share, shares * prices[np.clip(known, 0, None)])
        last = float(prices[known[-1]]) if bought < steps else entry
        total = total + curve  # 0.0 + the first symbol, then the others in order, as a sum would add them
        first_held = min(first_held, bought)
        holdings.append(Holding(symbol, share, shares, entry, last, (float(curve[-1]) if steps else share) - share,
                                max_drawdown_usd(share, curve), (steps - bought) / steps if steps else 0.0))
    return Benchmark(
        holdings=tuple(holdings),
        curve=tuple(total.tolist()),
        pnl=(float(total[-1]) if steps else initial_cash) - initial_cash,
        max_drawdown_usd=max_drawdown_usd(initial_cash, total),
        max_drawdown=float(drawdown_array(np.concatenate(([initial_cash], total))).max()),
        exposure=(steps - first_held) / steps if steps else 0.0,
    )
